"""Per-triangle set-up of the rasteriser's visibility pass (``toonlift.functional.rasterize``).

* :func:`_edge_setup`: the affine functions of the pixel centre that the depth test evaluates (signed distances to
  the three edges and the interpolated ``1/depth``), from the corners of every triangle (structure of arrays);
* :func:`_block_offsets`: the pixel offsets of a dense ``kw x kh`` candidate block, cached;
* :func:`_pack_keys`: the z-buffer's 64-bit keys (depth bits above the face index).
"""

from __future__ import annotations

import functools
import sys

import torch
from torch import Tensor

__all__ = ["_block_offsets", "_edge_setup", "_pack_keys"]


def _edge_setup(
    x: list[Tensor], y: list[Tensor], z: list[Tensor], perspective_correct: bool, area: Tensor | None = None
) -> tuple[list[Tensor], list[Tensor]]:
    """Per-triangle affine functions of the pixel ``(px, py)``: ``c[0] px + c[1] py + c[2]``.

    Returns the nine coefficients of the three signed pixel distances to the edges (edge ``i`` is opposite corner
    ``i``; positive inside) and the three of the interpolated ``1/depth`` (``depth`` when orthographic), each a
    ``[T]`` tensor. Triangles must have a non-zero area. The operations and their order are those of the original
    array-of-structures version, so results are bit-identical to it (``a - b`` is exactly ``-(b - a)``, so the
    negated slope is one subtraction; the first ``1/depth`` term starts the sums instead of a zero). ``area``: the
    signed doubled area when the caller has it (the same expression).
    """
    if area is None:
        area = (x[1] - x[0]) * (y[2] - y[0]) - (y[1] - y[0]) * (x[2] - x[0])  # signed doubled area
    abs_area = area.abs()
    dist: list[Tensor] = []
    depth: list[Tensor] = []
    for i in range(3):
        a, b = (i + 1) % 3, (i + 2) % 3  # the edge (v_a, v_b) opposite corner i
        dx, dy = x[b] - x[a], y[b] - y[a]
        # barycentric i = edge function of (v_a, v_b) over the area: (-dy) px + dx py + (dy xa - dx ya)
        coef = ((y[a] - y[b]) / area, dx / area, (dy * x[a] - dx * y[a]) / area)
        scale = abs_area / torch.hypot(dx, dy).clamp_min(1e-12)  # barycentric -> signed pixel distance
        dist.extend(c * scale for c in coef)
        terms = [c / z[i] if perspective_correct else c * z[i] for c in coef]
        depth = terms if i == 0 else [d + t for d, t in zip(depth, terms)]
    return dist, depth


@functools.lru_cache(maxsize=64)
def _block_offsets(kw: int, kh: int, width: int, device: str) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Offsets ``[1, kh * kw]`` of the pixels of a ``kw x kh`` block: ``(ox, oy)`` int64, the same as float32, and
    the flat offset ``oy * width + ox`` (cached: the same few blocks recur in every call)."""
    oy, ox = torch.meshgrid(torch.arange(kh, device=device), torch.arange(kw, device=device), indexing="ij")
    ox, oy = ox.reshape(1, -1), oy.reshape(1, -1)
    return ox, oy, ox.float(), oy.float(), oy * width + ox


def _pack_keys(depth: Tensor, face: Tensor) -> Tensor:
    """int64 keys ``(float32 bits of depth) << 32 | face`` (``face`` int32, broadcast to ``depth``'s shape).

    For positive depths the keys sort like the depths, then by face index, so one ``amin`` is the depth test with
    a deterministic tie break. On little-endian machines the two 32-bit halves are written side by side and
    reinterpreted, one pass instead of three 64-bit operations.
    """
    bits = depth.contiguous().view(torch.int32)
    if sys.byteorder == "little":
        return torch.stack([face.expand_as(bits), bits], dim=-1).view(torch.int64).squeeze(-1)
    return (bits.long() << 32) | face.long()
