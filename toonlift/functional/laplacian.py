"""Mesh Laplacians and Laplacian deformation with landmark anchors (seed 002, Eq. 9-11).

Eq. 9, the umbrella operator: ``L(v_i) = v_i - (1 / |N_i|) sum_{j in N_i} v_j``; the cotangent operator weights each
neighbour by ``(cot a_ij + cot b_ij) / 2`` instead. Eq. 10, the fine reconstruction:

    min_v  sum_i || L(v)_i - L(v0)_i ||^2  +  lam * sum_{k in M} || v_k - p_k ||^2  (+ eps * || v - v0 ||^2)

keeps the coarse mesh's differential coordinates ``L(v0)`` while the anchor vertices ``M`` move to the targets
``p``. The last term (``eps`` tiny) only fixes the translation of components without anchors (a head mesh has
separate eyeballs, hair shell and neck). The normal equations ``(L^T L + lam S^T S + eps I) v = ...`` have a matrix
that depends on the mesh and the anchor set only, so :class:`LaplacianDeformer` factors it once (``scipy.sparse``
LU) and each solve is a back-substitution for the three coordinates at once. Eq. 11 lifts 2D landmark targets to
3D with the depth of the initial landmark vertex: :func:`lift_landmarks`.

Everything is numpy float64 on the CPU (sparse factorisation); inputs may be tensors or arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from toonlift.errors import ConfigError

KINDS = ("uniform", "cotangent")


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def mesh_edges(faces) -> np.ndarray:
    """Unique undirected edges ``[E, 2]`` (``i < j``) of triangles ``faces`` ``[F, 3]``."""
    f = np.asarray(faces.detach().cpu().numpy() if hasattr(faces, "detach") else faces, dtype=np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    return np.unique(np.sort(e, axis=1), axis=0)


def uniform_laplacian(faces, num_vertices: int) -> sp.csr_matrix:
    """Umbrella Laplacian ``[V, V]`` (Eq. 9): ``I - D^-1 A``; rows of isolated vertices are zero."""
    e = mesh_edges(faces)
    rows = np.concatenate([e[:, 0], e[:, 1]])
    cols = np.concatenate([e[:, 1], e[:, 0]])
    adj = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(num_vertices, num_vertices))
    deg = np.asarray(adj.sum(1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    return (sp.diags((deg > 0).astype(np.float64)) - sp.diags(inv) @ adj).tocsr()


def cotangent_laplacian(vertices, faces) -> sp.csr_matrix:
    """Cotangent Laplacian ``[V, V]`` ``D - W`` with ``W_ij = (cot a_ij + cot b_ij) / 2``, rows normalised by the
    weight sum (so it is the umbrella operator with cotangent weights, same scale as :func:`uniform_laplacian`)."""
    v = _np(vertices)
    f = np.asarray(faces.detach().cpu().numpy() if hasattr(faces, "detach") else faces, dtype=np.int64)
    n = len(v)
    rows, cols, vals = [], [], []
    for k in range(3):
        i, j, o = f[:, k], f[:, (k + 1) % 3], f[:, (k + 2) % 3]  # the angle at o faces edge (i, j)
        a, b = v[i] - v[o], v[j] - v[o]
        cot = (a * b).sum(1) / np.maximum(np.linalg.norm(np.cross(a, b), axis=1), 1e-12)
        rows += [i, j]
        cols += [j, i]
        vals += [0.5 * cot, 0.5 * cot]
    w = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    w.data = np.maximum(w.data, 1e-8)  # obtuse pairs can go negative; keep the operator a positive smoother
    deg = np.asarray(w.sum(1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    return (sp.diags((deg > 0).astype(np.float64)) - sp.diags(inv) @ w).tocsr()


def laplacian(vertices, faces, kind: str = "uniform") -> sp.csr_matrix:
    """The ``kind`` (``"uniform"`` or ``"cotangent"``) Laplacian of a mesh with ``len(vertices)`` vertices."""
    if kind == "uniform":
        return uniform_laplacian(faces, len(vertices))
    if kind == "cotangent":
        return cotangent_laplacian(vertices, faces)
    raise ConfigError(f"Unknown Laplacian kind '{kind}'; choose one of {', '.join(KINDS)}.")


def lift_landmarks(targets_xy, initial_vertices, anchor_indices) -> np.ndarray:
    """Eq. 11: 3D anchor targets ``[K, 3]`` from 2D targets ``[K, 2]`` (object ``x, y``) and the depth ``z`` of the
    initial anchor vertices ``initial_vertices[anchor_indices]``."""
    xy = _np(targets_xy)
    z = _np(initial_vertices)[np.asarray(anchor_indices), 2:3]
    return np.concatenate([xy, z], 1)


class LaplacianDeformer:
    """Eq. 10 for one mesh and one anchor set: factor once, then :meth:`solve` for any anchor targets.

    Args:
        vertices: ``[V, 3]`` rest (coarse) vertices; their differential coordinates are kept.
        faces: ``[F, 3]`` triangles.
        anchor_indices: ``[K]`` vertex indices of the anchors (e.g. the 68 landmark vertices).
        weight: ``lam``, the anchor weight (the paper does not give it; 10 reaches landmarks to ~1e-3 of their
            offset on the head model).
        kind: ``"uniform"`` (the paper's umbrella operator) or ``"cotangent"``.
        stiffness: ``eps``, the pull toward the rest position that pins anchor-free components.
    """

    def __init__(
        self, vertices, faces, anchor_indices, weight: float = 10.0, kind: str = "uniform", stiffness: float = 1e-6
    ) -> None:
        self.rest = _np(vertices)
        if self.rest.ndim != 2 or self.rest.shape[1] != 3:
            raise ConfigError(f"LaplacianDeformer takes vertices [V, 3], got {self.rest.shape}.")
        self.anchors = np.asarray(
            anchor_indices.detach().cpu().numpy() if hasattr(anchor_indices, "detach") else anchor_indices,
            dtype=np.int64,
        )
        if weight <= 0 or stiffness < 0:
            raise ConfigError(f"LaplacianDeformer needs weight > 0 and stiffness >= 0, got {weight}, {stiffness}.")
        n = len(self.rest)
        self.weight, self.stiffness = float(weight), float(stiffness)
        self.L = laplacian(self.rest, faces, kind)
        self.delta = self.L @ self.rest  # [V, 3] differential coordinates of the rest mesh
        sel = sp.csr_matrix(
            (np.ones(len(self.anchors)), (np.arange(len(self.anchors)), self.anchors)), (len(self.anchors), n)
        )
        self.S = sel
        system = (self.L.T @ self.L + self.weight * (sel.T @ sel) + self.stiffness * sp.identity(n)).tocsc()
        self._solve = spla.factorized(system)
        self._base_rhs = self.L.T @ self.delta + self.stiffness * self.rest

    def solve(self, anchor_targets) -> np.ndarray:
        """Deformed vertices ``[V, 3]`` whose anchors approach ``anchor_targets`` ``[K, 3]``."""
        p = _np(anchor_targets)
        if p.shape != (len(self.anchors), 3):
            raise ConfigError(f"anchor_targets must be [{len(self.anchors)}, 3], got {p.shape}.")
        rhs = self._base_rhs + self.weight * (self.S.T @ p)
        return np.stack([self._solve(rhs[:, c]) for c in range(3)], 1)
