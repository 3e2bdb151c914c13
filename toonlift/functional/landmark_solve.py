"""Blendshape weights from 2-D landmarks: a weak-perspective pose, then bounded least squares for ``beta``.

Camera model: **weak perspective** (scaled orthographic). A rig point ``X`` (``[3]``, head units) lands at pixel
``u = M X + t`` with ``M = s * R[:2]`` (``[2, 3]``: a scale times the first two rows of a rotation, signs of the
image axes folded in) and ``t`` ``[2]``. The landmarks of the rig with weights ``beta`` ``[K]`` are
``N + sum_k beta_k D_k`` (neutral ``N`` ``[L, 3]``, per-template offsets ``D`` ``[K, L, 3]``).

The solve alternates two linear steps, each exact for its unknowns:

1. pose given shape: the affine camera ``[M | t]`` by least squares, then ``M`` projected onto the nearest scaled
   row-orthonormal matrix (SVD ``M = U S V^T`` -> ``mean(S) U V^T``; the Procrustes step of POS-style fits);
2. weights given pose: ``min ||A beta - b||^2`` subject to ``0 <= beta <= 1`` with ``scipy.optimize.lsq_linear``,
   ``A[:, k] = vec(M D_k)`` and ``b = vec(u - M N - t)``.

On noiseless landmarks of an identifiable rig the fixed point is the true ``(M, t, beta)`` (tested to 1e-4).
Targets whose landmark motion is (nearly) a combination of earlier ones cannot be told apart from landmarks;
:func:`identifiable_targets` finds them so callers solve over a subset that is.

numpy float64 throughout.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import lsq_linear

from toonlift.errors import ConfigError


def project_weak_perspective(points: np.ndarray, m: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``[..., L, 3]`` points -> ``[..., L, 2]`` pixels ``points @ m.T + t`` (``m`` ``[2, 3]``, ``t`` ``[2]``)."""
    return points @ m.T + t


def fit_weak_perspective(shape: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The weak-perspective camera ``(m [2, 3], t [2])`` that best maps ``shape`` ``[L, 3]`` onto ``observed``
    ``[L, 2]``: the least-squares affine camera projected onto scaled row-orthonormal matrices."""
    centred = shape - shape.mean(0)
    target = observed - observed.mean(0)
    affine, *_ = np.linalg.lstsq(centred, target, rcond=None)  # [3, 2]: target ~ centred @ affine
    u, s, vt = np.linalg.svd(affine.T, full_matrices=False)  # [2, 2], [2], [2, 3]
    m = s.mean() * (u @ vt)
    t = observed.mean(0) - shape.mean(0) @ m.T
    return m, t


def solve_weights(
    observed: np.ndarray,
    neutral: np.ndarray,
    offsets: np.ndarray,
    iterations: int = 20,
    tol: float = 1e-8,
    init: np.ndarray | None = None,
    ridge: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights ``beta`` ``[K]`` in ``[0, 1]`` and the camera ``(m, t)`` that explain 2-D landmarks.

    Args:
        observed: ``[L, 2]`` landmark pixels.
        neutral: ``[L, 3]`` the rig's landmark vertices at rest.
        offsets: ``[K, L, 3]`` per-template landmark offsets.
        iterations: most pose/weights alternations.
        tol: stop when no weight moves by more than this.
        init: ``[K]`` starting weights (e.g. the previous frame's); default zeros.
        ridge: Tikhonov weight ``lambda`` (pixels squared): adds ``lambda ||beta||^2``, which keeps weakly observed
            targets near 0 under landmark noise (0: plain bounded least squares).

    Returns:
        ``(beta [K], m [2, 3], t [2])``.
    """
    observed, neutral, offsets = (np.asarray(a, np.float64) for a in (observed, neutral, offsets))
    if observed.shape != (neutral.shape[0], 2) or offsets.shape[1:] != neutral.shape:
        raise ConfigError(
            f"Landmark shapes disagree: observed {observed.shape}, neutral {neutral.shape}, offsets {offsets.shape}; "
            "pass observed [L, 2], neutral [L, 3] and offsets [K, L, 3] for the same L landmarks."
        )
    k = offsets.shape[0]
    beta = np.zeros(k) if init is None else np.clip(np.asarray(init, np.float64), 0.0, 1.0)
    m = t = None
    for _ in range(max(1, iterations)):
        shape = neutral + np.tensordot(beta, offsets, axes=1)  # [L, 3]
        m, t = fit_weak_perspective(shape, observed)
        a = (offsets @ m.T).reshape(k, -1).T  # [2L, K]
        b = (observed - project_weak_perspective(neutral, m, t)).reshape(-1)  # [2L]
        if ridge > 0:
            a, b = np.vstack([a, np.sqrt(ridge) * np.eye(k)]), np.concatenate([b, np.zeros(k)])
        # bvls can return -1e-17: clip so the bounds hold exactly
        new = np.clip(lsq_linear(a, b, bounds=(0.0, 1.0), method="bvls").x, 0.0, 1.0) if k else beta
        done = np.abs(new - beta).max(initial=0.0) <= tol
        beta = new
        if done:
            break
    return beta, m, t


def smooth_exponential(weights: np.ndarray, alpha: float) -> np.ndarray:
    """Causal exponential smoothing of a ``[T, K]`` sequence: ``y_t = alpha x_t + (1 - alpha) y_{t-1}``, ``y_0 =
    x_0``; ``alpha = 1`` returns the input. Convex combinations keep ``[0, 1]`` bounds."""
    if not 0.0 < alpha <= 1.0:
        raise ConfigError(f"The smoothing factor alpha must be in (0, 1]; got {alpha}. 1 means no smoothing.")
    x = np.asarray(weights, np.float64)
    out = np.empty_like(x)
    if len(x):
        out[0] = x[0]
    for i in range(1, len(x)):
        out[i] = alpha * x[i] + (1.0 - alpha) * out[i - 1]
    return out


def jitter(weights: np.ndarray) -> float:
    """Root-mean-square second difference of a ``[T, K]`` sequence (frame-to-frame acceleration; 0 if ``T < 3``)."""
    x = np.asarray(weights, np.float64)
    if len(x) < 3:
        return 0.0
    return float(np.sqrt(np.mean(np.diff(x, n=2, axis=0) ** 2)))


def identifiable_targets(offsets: np.ndarray, tol: float = 0.1, min_share: float = 0.02) -> list[int]:
    """Indices of targets whose frontal 2-D landmark motion is not (nearly) a combination of earlier kept ones.

    ``offsets`` ``[K, L, 3]``; a target is kept when the part of its ``(x, y)`` motion outside the span of the
    kept ones is more than ``tol`` of its norm, and its norm is more than ``min_share`` of the largest target's
    (smaller motions drown in pixel noise). Depth-only motions, eyeball turns and halves of a target already kept
    whole are dropped.
    """
    cols = np.asarray(offsets, np.float64)[..., :2].reshape(len(offsets), -1)  # [K, 2L]
    scale = np.linalg.norm(cols, axis=1).max(initial=0.0)
    kept: list[int] = []
    basis = np.zeros((0, cols.shape[1]))
    for i, c in enumerate(cols):
        norm = np.linalg.norm(c)
        if norm <= min_share * scale or norm == 0.0:
            continue
        residual = c - basis.T @ (basis @ c)
        if np.linalg.norm(residual) > tol * norm:
            kept.append(i)
            basis = np.vstack([basis, residual / np.linalg.norm(residual)])
    return kept
