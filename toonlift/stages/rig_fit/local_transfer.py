"""Deformation transfer of a rig's templates on the part of the mesh they move (a faster ``rig_offsets``).

``avatar_viewer.rig_offsets`` solves Sumner & Popović's system (002 Eq. 14-16) on the whole head: 12,714 vertices
plus one extra vertex per triangle (38k unknowns), with the vertices no template moves softly pinned. Most of that
system is those pinned vertices (eyeballs' backs, neck, the back of the head). Here the same solver
(:class:`~toonlift.functional.deformation_transfer.DeformationTransfer`, same pins and weights) runs on the
triangles of the moved vertices grown by ``rings`` rings of pinned ones: 7k vertices and 14k triangles on the high
head, about twice as fast, and equal to the whole-mesh solve within 1e-3 head units (0.1 px at 256 px; the pins are
soft, so the whole-mesh solve lets pinned vertices drift by that much). Vertices outside the region get 0.
"""

from __future__ import annotations

import numpy as np

from toonlift.functional.deformation_transfer import DeformationTransfer
from toonlift.functional.eyeballs import rigid_eyeball_offsets


def moved_region(basis: np.ndarray, faces: np.ndarray, rings: int = 3, tol: float = 1e-9) -> tuple[np.ndarray, ...]:
    """``(vertices, faces_local, pinned_local)``: the vertices some template of ``basis`` ``[E, V, 3]`` moves grown by
    ``rings`` rings, the triangles among them (re-indexed) and the local indices of the ones no template moves."""
    moved = np.abs(basis).max(axis=(0, 2)) >= tol
    keep = moved.copy()
    for _ in range(rings):
        keep[faces[keep[faces].any(1)].ravel()] = True
    sel = keep[faces].all(1)
    vertices = np.nonzero(keep)[0]
    remap = np.full(len(keep), -1, np.int64)
    remap[vertices] = np.arange(len(vertices))
    return vertices, remap[faces[sel]], np.nonzero(~moved[vertices])[0]


def local_rig_offsets(
    template: np.ndarray,
    basis: np.ndarray,
    neutral: np.ndarray,
    faces: np.ndarray,
    rings: int = 3,
    eyeballs: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Offsets ``[E, V, 3]`` float32 of ``neutral`` ``[V, 3]`` for the template offsets ``basis`` ``[E, V, 3]`` on the
    template head ``template`` ``[V, 3]`` (deformation transfer on the moved region, see the module docstring).

    ``eyeballs``: vertex indices of each eyeball; each template's eyeball motion is then made rigid about this face's
    own eyeball centre, as ``rig_offsets`` does (:func:`~toonlift.functional.eyeballs.rigid_eyeball_offsets`)."""
    vertices, local_faces, pins = moved_region(basis, faces, rings)
    t, n = template[vertices], neutral[vertices]
    dt = DeformationTransfer(t, n, local_faces, pinned=pins)
    out = np.zeros(basis.shape, np.float64)
    if hasattr(dt, "transfer_many"):  # one back-substitution for every template's three coordinates
        out[:, vertices] = dt.transfer_many(t[None] + basis[:, vertices]) - n
    else:
        for k, b in enumerate(basis):
            out[k, vertices] = dt.transfer(t + b[vertices]) - n
    if eyeballs is not None:
        out = rigid_eyeball_offsets(template, basis, neutral, out, eyeballs)
    return out.astype(np.float32)


__all__ = ["local_rig_offsets", "moved_region"]
