"""The rig at run time: ``S = S0 + B beta`` (seed 002, Eq. 13) with the blendshapes stored sparse.

Each template moves only its region, so after pruning offsets below ``prune`` (the GLB's threshold, 1e-4 head units
= 0.01 px at 256 px) the ``[3V, T]`` matrix ``B`` holds a few percent of its entries; a compressed-row product
reads that much memory per frame instead of all ``T x 3V`` floats (the dense product is bound by memory bandwidth).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from toonlift.errors import ConfigError


class SparseRig:
    """``S0 + B beta`` for one frame at a time (float32).

    Args:
        neutral: ``[V, 3]`` the rest shape ``S0``.
        offsets: ``[T, V, 3]`` per-target offsets.
        prune: offsets with every coordinate below this magnitude are dropped.
    """

    def __init__(self, neutral: np.ndarray, offsets: np.ndarray, prune: float = 1e-4) -> None:
        neutral, offsets = np.asarray(neutral, np.float32), np.asarray(offsets, np.float32)
        if neutral.ndim != 2 or neutral.shape[1] != 3 or offsets.shape[1:] != neutral.shape:
            raise ConfigError(
                f"SparseRig needs neutral [V, 3] and offsets [T, V, 3]; got {neutral.shape} and {offsets.shape}."
            )
        keep = np.abs(offsets).max(axis=2, keepdims=True) >= prune  # [T, V, 1] whole vertices, as the GLB prunes
        dense = (offsets * keep).reshape(len(offsets), -1).T  # [3V, T]
        self.matrix = sp.csr_matrix(dense)
        self.neutral = neutral.reshape(-1)
        self.shape = neutral.shape

    @property
    def num_targets(self) -> int:
        return int(self.matrix.shape[1])

    def deform(self, beta: np.ndarray) -> np.ndarray:
        """Vertices ``[V, 3]`` for weights ``beta`` ``[T]``."""
        b = np.asarray(beta, np.float32).reshape(-1)
        if b.shape[0] != self.num_targets:
            raise ConfigError(f"beta must have {self.num_targets} weights, got {b.shape[0]}.")
        return (self.neutral + self.matrix @ b).reshape(self.shape)
