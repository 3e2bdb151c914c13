"""Deformation transfer between meshes of one topology (Sumner & Popovic 2004; seed 002, Eq. 14-16).

Each triangle ``(v1, v2, v3)`` gets a fourth vertex off its plane (Eq. 14)::

    v4 = v1 + (v2 - v1) x (v3 - v1) / sqrt(|(v2 - v1) x (v3 - v1)|)

and the frame ``V = [v2 - v1, v3 - v1, v4 - v1]``. A source deformation (neutral ``S0`` to a template ``S1``) has
per-triangle gradients ``Q_j = V~_j V_j^-1`` (Eq. 15). The target's deformed vertices ``x`` (and one free ``v4``
per triangle) minimise ``sum_j || X_j(x) W_j - Q_j ||_F^2`` (Eq. 16), where ``W_j`` is the inverse frame of the
target's neutral triangle: the target triangles deform as the source's did, in their own shape. ``X_j(x) W_j`` is
linear in ``x``, with the same matrix ``A`` ``[3F, V + F]`` for x, y and z, so ``A^T A`` (plus soft pins and a tiny
pull toward the naive offsets, which fixes translation of pin-free components) is factored once per target and every
template is three back-substitutions: "factored once, after which transferring a new deformation ... requires only a
backsubstitution step" (Sumner & Popovic).

numpy float64 and ``scipy.sparse``; inputs may be tensors or arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from toonlift.errors import ConfigError


def _np(x, dtype=np.float64) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def triangle_frames(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Frames ``[F, 3, 3]`` with columns ``v2 - v1, v3 - v1, v4 - v1`` (Eq. 14)."""
    v1, v2, v3 = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    e1, e2 = v2 - v1, v3 - v1
    n = np.cross(e1, e2)
    e3 = n / np.sqrt(np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300))
    return np.stack([e1, e2, e3], axis=2)


def deformation_gradients(neutral: np.ndarray, deformed: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Per-triangle source gradients ``Q_j = V~_j V_j^-1`` ``[F, 3, 3]`` (Eq. 15)."""
    return triangle_frames(deformed, faces) @ np.linalg.inv(triangle_frames(neutral, faces))


class DeformationTransfer:
    """Transfer deformations of ``source_neutral`` onto ``target_neutral`` (same topology); factor once.

    Args:
        source_neutral: ``[V, 3]`` the source's rest shape (e.g. the template head).
        target_neutral: ``[V, 3]`` the target's rest shape (e.g. a reconstructed face).
        faces: ``[F, 3]`` triangles shared by both.
        pinned: vertex indices held (softly) at ``target_neutral + (source offset)``: the vertices no template
            moves (eyeballs, neck, the back of the head). ``None`` pins nothing.
        pin_weight: weight of the pins relative to the gradient terms.
        stiffness: weight of the pull of every vertex toward its naive offset position (fixes the translation of
            components without pins; tiny, so it does not bias the result).
    """

    def __init__(
        self,
        source_neutral,
        target_neutral,
        faces,
        pinned=None,
        pin_weight: float = 1e3,
        stiffness: float = 1e-6,
    ) -> None:
        self.source = _np(source_neutral)
        self.target = _np(target_neutral)
        self.faces = _np(faces, np.int64)
        if self.source.shape != self.target.shape or self.source.ndim != 2 or self.source.shape[1] != 3:
            raise ConfigError(
                f"DeformationTransfer needs source and target vertices of one shape [V, 3]; got "
                f"{self.source.shape} and {self.target.shape}. Both meshes must share the topology."
            )
        nv, nf = len(self.target), len(self.faces)
        self.pinned = np.zeros(0, np.int64) if pinned is None else _np(pinned, np.int64)
        self.pin_weight, self.stiffness = float(pin_weight), float(stiffness)
        frames = triangle_frames(self.target, self.faces)
        if (np.abs(np.linalg.det(frames)) < 1e-18).any():
            raise ConfigError("DeformationTransfer: the target has degenerate (zero-area) triangles; remove them.")
        self._source_inv = np.linalg.inv(triangle_frames(self.source, self.faces))  # [F, 3, 3]
        w = np.linalg.inv(frames)  # [F, 3, 3]
        # row (j, k): sum_m (x_{m+1} - x_1) W[m, k]; unknowns 0..V-1 vertices, V + j the fourth vertex of face j
        cols = np.stack([self.faces[:, 1], self.faces[:, 2], nv + np.arange(nf)], 1)  # [F, 3]
        rows, cc, vals = [], [], []
        for k in range(3):
            r = 3 * np.arange(nf) + k
            for m in range(3):
                rows.append(r), cc.append(cols[:, m]), vals.append(w[:, m, k])
            rows.append(r), cc.append(self.faces[:, 0]), vals.append(-w[:, :, k].sum(1))
        self.A = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cc))), shape=(3 * nf, nv + nf)
        )
        pin = sp.csr_matrix(
            (np.ones(len(self.pinned)), (np.arange(len(self.pinned)), self.pinned)), shape=(len(self.pinned), nv + nf)
        )
        self._pin = pin
        system = self.A.T @ self.A + self.pin_weight * (pin.T @ pin) + self.stiffness * sp.identity(nv + nf)
        self._solve = spla.factorized(system.tocsc())

    def transfer(self, source_deformed) -> np.ndarray:
        """The target's vertices ``[V, 3]`` deformed as ``source_deformed`` ``[V, 3]`` deforms the source."""
        s1 = _np(source_deformed)
        if s1.shape != self.source.shape:
            raise ConfigError(f"source_deformed must be {self.source.shape}, got {s1.shape}.")
        q = triangle_frames(s1, self.faces) @ self._source_inv  # [F, 3(c), 3(k)]
        naive = self.target + (s1 - self.source)
        naive_v4 = naive[self.faces[:, 0]] + triangle_frames(naive, self.faces)[:, :, 2]
        guess = np.concatenate([naive, naive_v4])  # [V + F, 3]
        out = np.empty_like(guess)
        for c in range(3):
            rhs = self.A.T @ q[:, c, :].reshape(-1)  # rows ordered (j, k)
            rhs += self.pin_weight * (self._pin.T @ naive[self.pinned, c]) + self.stiffness * guess[:, c]
            out[:, c] = self._solve(rhs)
        return out[: len(self.target)]
