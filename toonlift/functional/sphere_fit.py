"""Least-squares spheres (002's eyeballs: "a sphere fitted to the eye area, moved inward by Δ").

The algebraic fit: ``|p|^2 = 2 c.p + (r^2 - |c|^2)`` is linear in ``(c, r^2 - |c|^2)``, so one least-squares solve
gives the centre and radius of the sphere nearest (in this algebraic sense) to points ``[N, 3]``; exact for points
on a sphere.
"""

from __future__ import annotations

import numpy as np

from toonlift.errors import DataError


def fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre ``[3]`` and radius of the least-squares sphere of ``points`` ``[N, 3]`` (``N >= 4``, not coplanar)."""
    p = np.asarray(points, np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) < 4:
        raise DataError(f"fit_sphere needs at least 4 points [N, 3]; got shape {p.shape}.")
    A = np.concatenate([2 * p, np.ones((len(p), 1))], 1)  # [N, 4]
    b = (p**2).sum(1)
    sol, *_ = np.linalg.lstsq(A, b, rcond=None)
    centre = sol[:3]
    r2 = sol[3] + centre @ centre
    if not np.isfinite(r2) or r2 <= 0:
        raise DataError("fit_sphere: the points do not determine a sphere (coplanar or degenerate).")
    return centre, float(np.sqrt(r2))


def project_to_sphere(points: np.ndarray, old_centre: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
    """Points ``[N, 3]`` of a sphere about ``old_centre`` moved onto the sphere ``(centre, radius)`` along their
    directions from ``old_centre`` (a sphere's own parametrisation, so triangles keep their shape)."""
    d = np.asarray(points, np.float64) - old_centre
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    return centre + radius * d


__all__ = ["fit_sphere", "project_to_sphere"]
