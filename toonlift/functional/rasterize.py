"""Batched triangle rasterisation in pure PyTorch: a non-differentiable z-buffer, then differentiable interpolation.

This is the deferred design of modern differentiable rasterisers (nvdiffrast, PyTorch3D):

1. **Visibility** (no gradient): every triangle proposes the pixel centres inside its screen-space bounding box
   (``toonlift.functional.raster_boxes``). Per-triangle work is a structure of arrays (one ``[T]`` tensor per
   coordinate, gathered with 1-D ``index_select``), and one ``uint8`` sort groups the triangles by box size: boxes
   up to 4 x 4 pixels by exact size, up to 16 x 16 by size rounded up to powers of two, each group tested as a dense
   ``[triangles, kh * kw]`` block by broadcasting; larger boxes are enumerated exactly (``repeat_interleave`` over
   box sizes). Everything runs in chunks of at most ``max_candidates`` candidates, so memory is
   bounded for triangles of any size. A candidate inside the triangle gets its depth from per-triangle affine edge
   functions, and one ``scatter_reduce(amin)`` per chunk over the packed 64-bit key
   ``(float32 depth bits << 32) | face index`` is both the depth test and a deterministic tie break (lower face
   index). Cost is linear in covered pixels plus triangles; there is no ``pixels x triangles`` matrix.
2. **Interpolation** (differentiable): for the winning face of each pixel, barycentrics of the pixel centre are
   recomputed from the vertex positions with autograd on, made perspective-correct, and used to interpolate depth and
   any vertex attribute. Gradients reach vertex positions (through the barycentrics) and attributes; they do not
   flow through the discrete visibility decision (use ``toonlift.functional.silhouette`` for edge gradients).
   The depth alone (:func:`depth_at_pixels`, the depth-map renderer's path) is one autograd node with a closed-form
   backward (``toonlift.functional.raster_depth``): the same forward values, about half the backward work.

Conventions (see ``toonlift.functional.camera``): screen vertices are ``(x_pixel, y_pixel, depth)`` with pixel
centres on integer coordinates; a pixel centre on a shared edge is covered (ties go to the lower face index); both
faces of a triangle are rasterised (no back-face culling, like the reference's ``fill_back=True``); triangles with a
vertex at depth ``<= near`` are dropped (no near-plane clipping).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from toonlift.functional.raster_boxes import (
    CODE_LARGE,
    DEFAULT_MAX_CANDIDATES,
    box_extent_float,
    box_size_codes,
    bucket_ranges,
    code_block,
    iter_bbox_candidates,
)
from toonlift.functional.raster_depth import pixel_depth
from toonlift.functional.raster_setup import _block_offsets, _edge_setup, _pack_keys

__all__ = [
    "DEFAULT_MAX_CANDIDATES",
    "Fragments",
    "barycentrics_at_pixels",
    "corner_indices",
    "depth_at_pixels",
    "gather_corners",
    "interpolate",
    "rasterize",
    "rasterize_visibility",
]

_KEY_EMPTY = torch.iinfo(torch.int64).max  # z-buffer entry no candidate reached
_KEY_NONE = 0x7FFFFFFF << 32  # keys at or above it are no fragment (rejected candidates or empty entries)
# a NaN whose bits 0x7FFFFFFF give rejected candidates the high word of _KEY_NONE (no real depth passes ``> near``)
_EMPTY_DEPTH = torch.tensor(0x7FFFFFFF, dtype=torch.int32).view(torch.float32)


@dataclass
class Fragments:
    """Per-pixel rasterisation result.

    Attributes:
        face_id: ``[B, H, W]`` int64 index into ``faces`` of the visible triangle, ``-1`` for background.
        bary: ``[B, H, W, 3]`` perspective-correct barycentrics of the pixel centre in that triangle (0 on
            background); differentiable w.r.t. the vertex positions.
        depth: ``[B, H, W]`` interpolated depth (0 on background); differentiable.
        mask: ``[B, H, W]`` bool, ``True`` where a triangle covers the pixel centre.
    """

    face_id: Tensor
    bary: Tensor
    depth: Tensor
    mask: Tensor


def _hw(image_size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(image_size, int):
        return image_size, image_size
    return int(image_size[0]), int(image_size[1])


def _check_inputs(vertices: Tensor, faces: Tensor) -> None:
    if vertices.dim() != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices must be [B, V, 3] (x_pixel, y_pixel, depth); got {tuple(vertices.shape)}")
    if faces.dim() != 2 or faces.shape[-1] != 3 or faces.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"faces must be an integer [F, 3] tensor; got {tuple(faces.shape)} {faces.dtype}")


def corner_indices(faces: Tensor, batch: int, n_vertices: int) -> list[Tensor]:
    """Rows ``[B * F]`` of the flattened ``[B * V]`` vertices holding corner ``k`` of every triangle, ``k = 0, 1, 2``.

    Triangle ``t = b * F + f`` is face ``f`` of mesh ``b``. One-dimensional ``index_select`` with these rows is the
    fast gather on CPU (several times faster than advanced indexing or gathering rows of 3 floats).
    """
    offset = torch.arange(batch, device=faces.device)[:, None] * n_vertices  # [B, 1]
    return [(faces[:, k].long()[None, :] + offset).reshape(-1) for k in range(3)]


def gather_corners(vertices: Tensor, rows: list[Tensor]) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
    """``(x, y, z)``: three lists of the corners' coordinates ``[T]`` (structure of arrays), differentiable.

    Args:
        vertices: ``[B, V, 3]`` screen vertices.
        rows: the three ``[T]`` row indices of :func:`corner_indices`.
    """
    planes = [vertices[..., c].reshape(-1) for c in range(3)]  # [B * V] each
    x, y, z = ([plane.index_select(0, r) for r in rows] for plane in planes)
    return x, y, z


@torch.no_grad()
def rasterize_visibility(
    vertices_screen: Tensor,
    faces: Tensor,
    image_size: int | tuple[int, int],
    near: float = 1e-6,
    perspective_correct: bool = True,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    eps: float = 1e-4,
    corners: tuple[list[Tensor], list[Tensor], list[Tensor]] | None = None,
) -> Tensor:
    """Z-buffer visibility only: the visible face index per pixel ``[B, H, W]`` (``-1`` = background).

    Args: see :func:`rasterize`; and
        corners: the result of :func:`gather_corners` for these vertices and faces, when the caller can build it
            more cheaply (e.g. the grid mesh of a depth map, by slicing: ``toonlift.functional.depth_map``). The
            same values give the same face ids.
    """
    _check_inputs(vertices_screen, faces)
    H, W = _hw(image_size)
    B, V, _ = vertices_screen.shape
    n_faces = faces.shape[0]
    device = vertices_screen.device
    zbuf = torch.full((B * H * W,), _KEY_EMPTY, dtype=torch.int64, device=device)
    if n_faces == 0 or B == 0:
        return torch.full((B, H, W), -1, dtype=torch.int64, device=device)
    # 1. per triangle, structure of arrays over T = B * F: corners, boxes, rejection, grouping by box size
    if corners is None:
        corners = gather_corners(vertices_screen.detach().float(), corner_indices(faces, B, V))
    x, y, z = ([c.detach().float() for c in cs] for cs in corners)
    x_lo, y_lo, box_w, box_h, valid = box_extent_float(
        torch.minimum(torch.minimum(x[0], x[1]), x[2]),
        torch.maximum(torch.maximum(x[0], x[1]), x[2]),
        torch.minimum(torch.minimum(y[0], y[1]), y[2]),
        torch.maximum(torch.maximum(y[0], y[1]), y[2]),
        H,
        W,
        eps=eps,
    )
    area = (x[1] - x[0]) * (y[2] - y[0]) - (y[1] - y[0]) * (x[2] - x[0])
    z_min = torch.minimum(torch.minimum(z[0], z[1]), z[2])
    z_max = torch.maximum(torch.maximum(z[0], z[1]), z[2])
    valid &= (z_min > near) & (z_max < float("inf")) & (area.abs() > 1e-12)  # NaN depths fail ``z_min > near``
    buckets = bucket_ranges(box_size_codes(box_w, box_h, valid))
    if not buckets.ranges:
        return torch.full((B, H, W), -1, dtype=torch.int64, device=device)
    # 2. only the valid triangles, in bucket order (contiguous groups, so no further gathers per group)
    sel = buckets.order  # [T'] triangle indices
    x, y, z = ([c.index_select(0, sel) for c in corners] for corners in (x, y, z))
    dist, inv_depth = _edge_setup(x, y, z, perspective_correct, area.index_select(0, sel))
    coefs = dist + inv_depth  # 12 tensors [T']
    x_lo_f, y_lo_f = x_lo.index_select(0, sel), y_lo.index_select(0, sel)  # whole-number floats
    x_lo, y_lo = x_lo_f.long(), y_lo_f.long()
    face = (sel % n_faces).int()
    pix0 = (sel // n_faces) * (H * W) + y_lo * W + x_lo  # [T'] flat index of each box's first pixel

    empty_depth = _EMPTY_DEPTH.to(device)
    reject_bits = torch.tensor(0x7FFFFFFF, dtype=torch.int32, device=device)

    def depth_test(cs: list[Tensor], fx: Tensor, fy: Tensor, face: Tensor, pix: Tensor, inside: Tensor | None) -> None:
        """Scatter-min the keys of candidates at pixel centres ``(fx, fy)`` (coefficient shapes broadcast)."""

        def affine(i: int) -> Tensor:  # cs[i] fx + cs[i+1] fy + cs[i+2], summed in that order, in place (no_grad)
            t = cs[i] * fx
            t += cs[i + 1] * fy
            return t.add_(cs[i + 2])

        e0, e1, e2 = affine(0), affine(3), affine(6)  # signed pixel distances to the three edges
        depth = affine(9)
        if perspective_correct:
            depth.reciprocal_()
        ok = (torch.minimum(torch.minimum(e0, e1, out=e0), e2, out=e0) >= -eps).logical_and_(depth > near)
        if inside is not None:
            ok &= inside
        if near >= 0.0:
            # accepted depths are positive, so their bits are non-negative int32: raising rejected ones to
            # 0x7FFFFFFF by an integer max is a branch-free torch.where (several times faster on random masks)
            bits = torch.maximum(depth.view(torch.int32), ok.logical_not_().to(torch.int32).mul_(reject_bits))
            key = _pack_keys(bits.view(torch.float32), face)
        else:
            key = _pack_keys(torch.where(ok, depth, empty_depth), face)
        zbuf.scatter_reduce_(0, pix.reshape(-1), key.reshape(-1), reduce="amin")

    for code, start, stop in buckets.ranges:
        if code == CODE_LARGE:  # large boxes: enumerate their pixels exactly, in bounded chunks
            bw, bh = (b.index_select(0, sel[start:stop]).long() for b in (box_w, box_h))
            for t, px, py in iter_bbox_candidates(x_lo[start:stop], y_lo[start:stop], bw, bh, max_candidates):
                t = t + start
                cs = [c.index_select(0, t) for c in coefs]
                base = pix0.index_select(0, t) - y_lo.index_select(0, t) * W - x_lo.index_select(0, t)
                depth_test(cs, px.float(), py.float(), face.index_select(0, t), base + py * W + px, None)
            continue
        kw, kh, masked = code_block(code)
        ox, oy, oxf, oyf, offset = _block_offsets(kw, kh, W, str(device))
        step = max(1, max_candidates // (kw * kh))
        for i in range(start, stop, step):
            j = slice(i, min(i + step, stop))
            cs = [c[j, None] for c in coefs]  # [n, 1] each
            pix = pix0[j, None] + offset  # [n, kh * kw]
            inside = None
            if masked:  # the box may be smaller than the block: mask the rest, keep its pixel indices in range
                bw, bh = box_w.index_select(0, sel[j])[:, None], box_h.index_select(0, sel[j])[:, None]
                inside = (ox < bw) & (oy < bh)
                pix = pix.clamp_max(B * H * W - 1)
            depth_test(cs, x_lo_f[j, None] + oxf, y_lo_f[j, None] + oyf, face[j, None], pix, inside)
    face_id = torch.where(zbuf >= _KEY_NONE, torch.full_like(zbuf, -1), zbuf & 0xFFFFFFFF)
    return face_id.reshape(B, H, W)


def barycentrics_at_pixels(
    vertices_screen: Tensor, faces: Tensor, face_id: Tensor, perspective_correct: bool = True
) -> tuple[Tensor, Tensor]:
    """Differentiable barycentrics and depth of each pixel centre in its given face.

    Only covered pixels are computed (then scattered into full images), so sparse coverage is cheap.

    Args:
        vertices_screen: ``[B, V, 3]`` screen vertices ``(x_pixel, y_pixel, depth)``.
        faces: ``[F, 3]`` vertex indices.
        face_id: ``[B, H, W]`` face per pixel, ``-1`` for background.
        perspective_correct: interpolate in ``1/depth`` (perspective camera) instead of linearly.

    Returns:
        ``bary`` ``[B, H, W, 3]`` and ``depth`` ``[B, H, W]``, both 0 on background.
    """
    bary, depth = _pixel_barycentrics(vertices_screen, faces, face_id, perspective_correct, True)
    assert bary is not None
    return bary, depth


def depth_at_pixels(
    vertices_screen: Tensor, faces: Tensor, face_id: Tensor, perspective_correct: bool = True
) -> Tensor:
    """The depth ``[B, H, W]`` of :func:`barycentrics_at_pixels` alone (the same values; cheaper without bary)."""
    return _pixel_barycentrics(vertices_screen, faces, face_id, perspective_correct, False)[1]


def _pixel_centres(idx: Tensor, height: int, width: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Pixel centres ``(px, py)`` ``[N]`` of flat indices ``idx`` ``[N]`` into ``[B, height, width]`` images."""
    rem = idx % (height * width)
    return (rem % width).to(dtype), (rem // width).to(dtype)


def _pixel_barycentrics(
    vertices_screen: Tensor, faces: Tensor, face_id: Tensor, perspective_correct: bool, with_bary: bool
) -> tuple[Tensor | None, Tensor]:
    B, H, W = face_id.shape
    V = vertices_screen.shape[1]
    flat_fid = face_id.reshape(-1)
    idx = (flat_fid >= 0).nonzero().squeeze(1)  # [N] covered pixels of the whole batch
    fid = flat_fid.index_select(0, idx)
    batch_row = (idx // (H * W)) * V  # [N] first row of each pixel's mesh in the flattened vertices
    rows = [faces[:, k].long().index_select(0, fid) + batch_row for k in range(3)]
    if not with_bary:  # the depth alone: closed-form backward (``raster_depth``), the same forward values
        planes = tuple(vertices_screen[..., c].reshape(-1) for c in range(3))  # [B * V] each
        px, py = _pixel_centres(idx, H, W, vertices_screen.dtype)
        depth = pixel_depth(planes, rows, px, py, perspective_correct)
        return None, depth.new_zeros(B * H * W).index_copy(0, idx, depth).reshape(B, H, W)
    x, y, z = gather_corners(vertices_screen, rows)  # [N] each, differentiable
    px, py = _pixel_centres(idx, H, W, vertices_screen.dtype)
    # edge function of the edge opposite each corner (same operations as the [N, 3] form, so identical values)
    w = []
    for i in range(3):
        a, b = (i + 1) % 3, (i + 2) % 3
        w.append((x[b] - x[a]) * (py - y[a]) - (y[b] - y[a]) * (px - x[a]))
    area = w[0] + w[1] + w[2]
    # degenerate entries get harmless values so no NaN reaches the gradients through torch.where
    ok = area.abs() > 0
    area = torch.where(ok, area, torch.ones_like(area))
    bary = [wi / area for wi in w]
    if perspective_correct:
        q = [bi / zi for bi, zi in zip(bary, z)]
        s = q[0] + q[1] + q[2]
        ok = ok & (s.abs() > 0)
        s = torch.where(ok, s, torch.ones_like(s))
        bary = [qi / s for qi in q] if with_bary else []
        depth = s.reciprocal()
    else:
        depth = bary[0] * z[0] + bary[1] * z[1] + bary[2] * z[2]
    depth = torch.where(ok, depth, 0.0)
    depth_full = depth.new_zeros(B * H * W).index_copy(0, idx, depth).reshape(B, H, W)
    if not with_bary:
        return None, depth_full
    bary3 = torch.where(ok[:, None], torch.stack(bary, dim=1), 0.0)  # [N, 3]
    bary_full = bary3.new_zeros(B * H * W, 3).index_copy(0, idx, bary3).reshape(B, H, W, 3)
    return bary_full, depth_full


def rasterize(
    vertices_screen: Tensor,
    faces: Tensor,
    image_size: int | tuple[int, int],
    near: float = 1e-6,
    perspective_correct: bool = True,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    eps: float = 1e-4,
) -> Fragments:
    """Rasterise a batch of triangle meshes sharing one topology.

    Args:
        vertices_screen: ``[B, V, 3]`` vertices in screen space: ``(x_pixel, y_pixel, depth)`` (see
            ``toonlift.functional.camera.project``). Any float dtype; gradients flow into it via the fragments.
        faces: ``[F, 3]`` int64 vertex indices, shared by the batch.
        image_size: ``S`` or ``(H, W)``.
        near: triangles with a vertex at depth ``<= near`` are dropped.
        perspective_correct: interpolate in ``1/depth`` (perspective camera); ``False`` for orthographic screens.
        max_candidates: bound on the candidate pixels processed at once (memory vs. speed).
        eps: tolerance in pixels so pixel centres on an edge or vertex are covered despite rounding.

    Returns:
        :class:`Fragments` with ``face_id``, ``bary``, ``depth`` and ``mask`` of shape ``[B, H, W(, 3)]``.
    """
    face_id = rasterize_visibility(vertices_screen, faces, image_size, near, perspective_correct, max_candidates, eps)
    bary, depth = barycentrics_at_pixels(vertices_screen, faces, face_id, perspective_correct)
    return Fragments(face_id=face_id, bary=bary, depth=depth, mask=face_id >= 0)


def interpolate(attributes: Tensor, faces: Tensor, fragments: Fragments) -> Tensor:
    """Interpolate per-vertex attributes at every pixel with the fragments' barycentrics (differentiable).

    Args:
        attributes: ``[B, V, C]`` (or ``[1, V, C]``, shared by the batch) per-vertex values.
        faces: ``[F, 3]`` vertex indices of the attributes; usually the rasterised faces, but may be a second index
            buffer of the same length (e.g. UV faces whose vertices are split along texture seams).
        fragments: output of :func:`rasterize`.

    Returns:
        ``[B, H, W, C]``, zero on background.
    """
    B, H, W = fragments.face_id.shape
    if attributes.dim() != 3 or attributes.shape[0] not in (1, B):
        raise ValueError(f"attributes must be [B, V, C] or [1, V, C] with B={B}; got {tuple(attributes.shape)}")
    V, C = attributes.shape[1:]
    flat_fid = fragments.face_id.reshape(-1)
    idx = (flat_fid >= 0).nonzero().squeeze(1)  # [N] covered pixels
    fid = flat_fid.index_select(0, idx)
    offset = (idx // (H * W)) * V if attributes.shape[0] == B and B > 1 else None
    table = attributes.reshape(-1, C)
    bary = fragments.bary.reshape(-1, 3).index_select(0, idx).to(table.dtype)  # [N, 3]
    out = None
    for k in range(3):
        rows = faces[:, k].long().index_select(0, fid)  # [N] (index_select: the fast gather on CPU)
        if offset is not None:
            rows = rows + offset
        term = bary[:, k : k + 1] * table.index_select(0, rows)  # [N, C]
        out = term if out is None else out + term
    return out.new_zeros(B * H * W, C).index_copy(0, idx, out).reshape(B, H, W, C)
