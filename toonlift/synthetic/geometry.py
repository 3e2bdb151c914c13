"""Small pure geometry helpers for building the procedural head: compact bumps, warped grids, closed primitives.

Everything here is numpy float64 and runs once when the head model is built (milliseconds).
"""

from __future__ import annotations

import numpy as np


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step: 0 below ``edge0``, 1 above ``edge1`` (``edge0 > edge1`` gives the mirrored step)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def bump(points: np.ndarray, center: tuple[float, ...], radii: tuple[float, ...]) -> np.ndarray:
    """Compactly supported smooth bump ``(1 - d^2)^3`` of the scaled distance ``d`` (exactly 0 for ``d >= 1``).

    Args:
        points: ``[N, D]`` coordinates.
        center: bump centre (D values).
        radii: per-axis radii (D values); the support is the ellipsoid they span.

    Returns:
        ``[N]`` weights in ``[0, 1]``, 1 at the centre. Compact support is what makes expression blendshapes local.
    """
    d2 = (((points - np.asarray(center)) / np.asarray(radii)) ** 2).sum(-1)
    return np.clip(1.0 - d2, 0.0, None) ** 3


def warped_samples(n: int, lo: float, hi: float, center: float, width: float, gain: float) -> np.ndarray:
    """``n`` samples in ``[lo, hi]`` (both ends included), denser by ``1 + gain`` around ``center``.

    The density ``1 + gain * exp(-(t - center)^2 / (2 width^2))`` is integrated and inverted numerically, so the
    face gets more vertices than the back of the head while the grid stays regular (same topology).
    """
    t = np.linspace(lo, hi, 4097)
    dens = 1.0 + gain * np.exp(-0.5 * ((t - center) / width) ** 2)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(t))])
    cdf /= cdf[-1]
    return np.interp(np.linspace(0.0, 1.0, n), cdf, t)


def sphere_grid(n_lat: int, n_lon: int, lat: np.ndarray | None = None, lon: np.ndarray | None = None):
    """A closed latitude/longitude sphere: unit directions ``[V, 3]`` and triangles ``[F, 3]`` (outward winding).

    Poles are on the ``y`` axis; longitude 0 faces ``+z`` (the face). ``lat`` (``n_lat`` interior elevations in
    ``(-pi/2, pi/2)``, bottom to top) and ``lon`` (``n_lon`` azimuths in ``[-pi, pi)``) may be warped.

    Returns:
        ``(dirs [2 + n_lat * n_lon, 3], faces [F, 3] int64)``; vertex 0 is the south pole, vertex 1 the north pole.
    """
    if lat is None:
        lat = np.linspace(-np.pi / 2, np.pi / 2, n_lat + 2)[1:-1]
    if lon is None:
        lon = np.linspace(-np.pi, np.pi, n_lon, endpoint=False)
    el, az = np.meshgrid(lat, lon, indexing="ij")  # [n_lat, n_lon]
    ring = np.stack([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)], -1).reshape(-1, 3)
    dirs = np.concatenate([[[0.0, -1.0, 0.0], [0.0, 1.0, 0.0]], ring])
    idx = 2 + np.arange(n_lat * n_lon).reshape(n_lat, n_lon)
    nxt = np.roll(idx, -1, axis=1)
    a, b, c, d = idx[:-1], nxt[:-1], idx[1:], nxt[1:]  # quad corners between rings i and i+1
    # Azimuth grows toward +x seen from +z and elevation toward +y, so (a, b, c) winds counter-clockwise outside.
    quads = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([b, d, c], -1).reshape(-1, 3)])
    south = np.stack([np.zeros(n_lon, np.int64), nxt[0], idx[0]], -1)
    north = np.stack([np.ones(n_lon, np.int64), idx[-1], nxt[-1]], -1)
    faces = np.concatenate([quads, south, north]).astype(np.int64)
    return dirs, faces


def face_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unnormalised face normals ``[F, 3]`` (cross product; length = twice the area)."""
    v0, v1, v2 = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return np.cross(v1 - v0, v2 - v0)


def signed_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    """Signed enclosed volume of a closed triangle mesh (positive for outward winding)."""
    v0, v1, v2 = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(np.einsum("ij,ij->i", v0, np.cross(v1, v2)).sum() / 6.0)


def is_closed(faces: np.ndarray) -> bool:
    """True when every undirected edge is shared by exactly two triangles (a watertight surface)."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = np.sort(e, axis=1)
    _, counts = np.unique(e, axis=0, return_counts=True)
    return bool((counts == 2).all())
