"""Filling unseen texels by diffusion (seed 002, Eq. 12 and the "background diffusion" after it).

002 textures its mesh by projecting every vertex into the portrait (``tex_coord(v) = Norm(Π(Rv + t))``, Eq. 12)
and fills what the photo does not show (background, the hidden side) by diffusing the known colours outwards: "each
background pixel = mean of visited neighbours", a breadth-first pass. The fixed point of that averaging is the
discrete Laplace equation with the known texels as boundary values, which :func:`diffuse_fill` solves exactly with
one sparse factorisation (``scipy.sparse.linalg``) instead of a hand loop: every unknown texel ends as the mean of its
four neighbours, so the fill is smooth and has no seams where the known region ends.

A direct factorisation of a 512 x 512 grid takes seconds (fill-in), and conjugate gradients converge slowly on a
grid Laplacian. Above ``direct_max`` unknowns the fill is therefore two-level: the whole grid is filled at half
resolution (recursively), and the exact Laplace solve is repeated at full resolution on the band of unknown pixels
within ``band`` pixels of the known ones, with the upsampled coarse fill as its outer boundary. Far from the known
pixels the harmonic fill is smooth, so the coarse values are close there (tested against the direct solve).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.sparse.linalg import factorized

from toonlift.errors import DataError


def grid_laplacian_system(known: np.ndarray, eps: float = 1e-6) -> tuple[sp.csc_matrix, sp.csr_matrix, np.ndarray]:
    """The linear system of the Laplace fill of the unknown pixels of a ``[H, W]`` grid.

    Returns:
        ``(A, B, unknown)``: ``A`` ``[U, U]`` = degree (4-neighbours inside the grid) on the diagonal, ``-1`` per
        unknown neighbour, plus ``eps`` (keeps regions that touch no known pixel solvable; they settle at the known
        mean); ``B`` ``[U, K]`` adds the known neighbours' values to the right-hand side; ``unknown`` the ``U`` flat
        indices. For known values ``k`` ``[K, C]`` the fill is ``A x = B k + eps * mean(k)``.
    """
    h, w = known.shape
    flat_known = np.asarray(known, bool).reshape(-1)
    unknown = np.nonzero(~flat_known)[0]
    known_idx = np.nonzero(flat_known)[0]
    row_of = np.full(h * w, -1, np.int64)
    row_of[unknown] = np.arange(len(unknown))
    col_of = np.full(h * w, -1, np.int64)
    col_of[known_idx] = np.arange(len(known_idx))
    yy, xx = np.divmod(unknown, w)
    degree = np.zeros(len(unknown))
    a_rows, a_cols, b_rows, b_cols = [], [], [], []
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        ny, nx = yy + dy, xx + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        degree += inside
        rows = np.nonzero(inside)[0]
        nb = ny[inside] * w + nx[inside]
        is_unknown = row_of[nb] >= 0
        a_rows.append(rows[is_unknown])
        a_cols.append(row_of[nb[is_unknown]])
        b_rows.append(rows[~is_unknown])
        b_cols.append(col_of[nb[~is_unknown]])
    u = len(unknown)
    ar, ac = np.concatenate(a_rows), np.concatenate(a_cols)
    A = sp.coo_matrix((-np.ones(len(ar)), (ar, ac)), shape=(u, u)) + sp.diags(degree + eps)
    br, bc = np.concatenate(b_rows), np.concatenate(b_cols)
    B = sp.coo_matrix((np.ones(len(br)), (br, bc)), shape=(u, len(known_idx)))
    return A.tocsc(), B.tocsr(), unknown


def _half(values: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2 x 2 pooling: a coarse pixel is known when any of its fine pixels is, with their mean value."""
    h, w, c = values.shape
    ph, pw = h % 2, w % 2
    v = np.pad(values * known[..., None], ((0, ph), (0, pw), (0, 0)))
    k = np.pad(known, ((0, ph), (0, pw))).astype(np.float64)
    vs = v.reshape(v.shape[0] // 2, 2, v.shape[1] // 2, 2, c).sum((1, 3))
    ks = k.reshape(k.shape[0] // 2, 2, k.shape[1] // 2, 2).sum((1, 3))
    return vs / np.maximum(ks, 1)[..., None], ks > 0


def diffuse_fill(
    values: np.ndarray, known: np.ndarray, eps: float = 1e-6, direct_max: int = 80_000, band: int = 12
) -> np.ndarray:
    """Fill the pixels of ``values`` ``[H, W, C]`` outside ``known`` ``[H, W]`` by harmonic (Laplace) interpolation.

    Known pixels keep their values; every other pixel becomes the average of its 4-neighbours (the fixed point of
    002's breadth-first averaging): one sparse LU factorisation for all ``C`` channels when at most ``direct_max``
    pixels are unknown, else the two-level scheme of the module docstring (exact within ``band`` pixels).

    Raises:
        DataError: no pixel is known, or the shapes disagree.
    """
    vals = np.asarray(values, np.float64)
    if vals.ndim == 2:
        vals = vals[..., None]
    known = np.asarray(known, bool)
    if vals.shape[:2] != known.shape:
        raise DataError(f"diffuse_fill: values {vals.shape[:2]} and known mask {known.shape} differ in size.")
    if not known.any():
        raise DataError("diffuse_fill: no pixel is known, so there is nothing to diffuse.")
    if known.all():
        return vals.copy()
    if (~known).sum() > direct_max and min(known.shape) >= 8:
        h, w = known.shape
        coarse = diffuse_fill(*_half(vals, known), eps=eps, direct_max=direct_max, band=band)
        up = ndimage.zoom(coarse, (2, 2, 1), order=1, mode="nearest", grid_mode=True)[:h, :w]  # bilinear
        # the unknown pixels farther than `band` from every known one keep the coarse fill and become boundary values
        near = ndimage.binary_dilation(known, iterations=band)
        vals = np.where(known[..., None], vals, up)
        known = known | ~near
    out = vals.copy().reshape(-1, vals.shape[2])
    A, B, unknown = grid_laplacian_system(known, eps)
    k = out[known.reshape(-1)]  # [K, C]
    rhs = B @ k + eps * k.mean(0, keepdims=True)  # [U, C]
    solve = factorized(A)
    out[unknown] = np.stack([solve(rhs[:, c]) for c in range(rhs.shape[1])], 1)
    return out.reshape(vals.shape)


__all__ = ["diffuse_fill", "grid_laplacian_system"]
