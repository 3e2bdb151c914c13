"""Pixel bounding boxes of screen triangles and their candidate pixels: the culling half of the rasteriser.

A triangle can only cover pixel centres inside its integer bounding box, so the rasteriser tests those candidates
only. Three pieces, all vectorised over triangles:

* :func:`box_from_extent` / :func:`triangle_bboxes`: the box of each triangle, clipped to the image (``valid`` is
  ``False`` when it holds no pixel centre).
* :func:`box_size_codes` and :func:`bucket_ranges`: triangles grouped by box size, so that every group is tested as
  one dense ``[triangles, kh * kw]`` block. Boxes up to ``exact x exact`` pixels (nearly all triangles of a dense
  mesh) get a group per exact size, so no candidate is wasted; boxes up to ``2**dense_log2`` get a group per size
  rounded up to powers of two (at most 4x wasted candidates, masked out); larger boxes are enumerated pixel by pixel.
* :func:`iter_bbox_candidates`: that exact enumeration, in chunks of bounded size.

Why codes and one sort: a ``uint8`` sort of the codes puts each group in a contiguous range, replacing one boolean
mask plus ``nonzero`` per group (each a full pass over all triangles) by a single pass.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

DEFAULT_MAX_CANDIDATES = 1 << 22
EXACT_SIDE = 4  # boxes up to 4 x 4 pixels: one group per exact size
DENSE_LOG2 = 4  # boxes up to 16 x 16 pixels: groups by power-of-two size
CODE_LARGE = 254  # enumerated pixel by pixel
CODE_INVALID = 255  # box outside the image or triangle rejected


def box_extent_float(
    x_min: Tensor,
    x_max: Tensor,
    y_min: Tensor,
    y_max: Tensor,
    height: int,
    width: int,
    pad: float = 0.0,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Pixel boxes ``[T]`` from the float extent of each triangle, clipped to the image, as whole-number floats.

    Every quantity stays float32 (the rasteriser converts only the triangles it keeps), and the clipping is folded
    into the widths: a box that misses the image, or holds no pixel centre, gets a width or height ``<= 0``.

    Args:
        x_min: ``[T]`` smallest x of each triangle (likewise ``x_max``, ``y_min``, ``y_max``).
        x_max: ``[T]``.
        y_min: ``[T]``.
        y_max: ``[T]``.
        height: image height in pixels.
        width: image width in pixels.
        pad: grow each box by this many pixels (for soft silhouettes).
        eps: tolerance so a vertex exactly on a pixel centre includes it.

    Returns:
        ``(x_lo, y_lo, box_w, box_h, valid)``: float ``[T]`` each and a bool ``[T]`` (the box holds a pixel centre
        of the image and the extent is finite). Only valid entries are meaningful (others may be negative or NaN).
    """
    if pad == 0.0:  # x - 0.0 - eps == x - eps bit for bit: one pass fewer per side
        x_lo, x_hi = (x_min - eps).ceil(), (x_max + eps).floor()
        y_lo, y_hi = (y_min - eps).ceil(), (y_max + eps).floor()
    else:
        x_lo, x_hi = (x_min - pad - eps).ceil(), (x_max + pad + eps).floor()
        y_lo, y_hi = (y_min - pad - eps).ceil(), (y_max + pad + eps).floor()
    x_lo, y_lo = x_lo.clamp_min(0.0), y_lo.clamp_min(0.0)
    box_w = x_hi.clamp_max(width - 1) - x_lo + 1  # <= 0 when the box misses the image's columns
    box_h = y_hi.clamp_max(height - 1) - y_lo + 1
    # one finiteness test for the four extents: any inf gives -inf, any NaN gives NaN (|coordinates| < 1e38)
    finite = (x_min - x_max) + (y_min - y_max) > float("-inf")
    valid = (box_w > 0) & (box_h > 0) & finite
    return x_lo, y_lo, box_w, box_h, valid


def box_from_extent(
    x_min: Tensor,
    x_max: Tensor,
    y_min: Tensor,
    y_max: Tensor,
    height: int,
    width: int,
    pad: float = 0.0,
    eps: float = 1e-5,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Integer pixel boxes: :func:`box_extent_float` as int64 ``[T]`` (0 where the box is not valid)."""
    x_lo, y_lo, box_w, box_h, valid = box_extent_float(x_min, x_max, y_min, y_max, height, width, pad, eps)
    zero = torch.zeros((), dtype=x_lo.dtype, device=x_lo.device)
    return (*(torch.where(valid, v, zero).long() for v in (x_lo, y_lo, box_w, box_h)), valid)


def triangle_bboxes(
    tri: Tensor, height: int, width: int, pad: float = 0.0, eps: float = 1e-5
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Integer pixel bounding boxes of screen triangles ``tri`` ``[T, 3, >=2]`` (x, y first); see
    :func:`box_from_extent` for the arguments and the result."""
    x, y = tri[..., 0], tri[..., 1]
    return box_from_extent(x.amin(1), x.amax(1), y.amin(1), y.amax(1), height, width, pad, eps)


@functools.lru_cache(maxsize=16)
def _code_table(exact: int, dense_log2: int, device: str) -> Tensor:
    """``uint8`` codes of boxes ``w x h`` at ``w * (cap + 1) + h`` for ``0 <= w, h <= cap = 2**dense_log2 + 1``."""
    cap = 2**dense_log2 + 1
    w = torch.arange(cap + 1).repeat_interleave(cap + 1)
    h = torch.arange(cap + 1).repeat(cap + 1)
    side = torch.maximum(w, h)
    log_w = torch.ceil(torch.log2(w.clamp_min(1).double())).long()
    log_h = torch.ceil(torch.log2(h.clamp_min(1).double())).long()
    code = torch.where(side <= exact, (w - 1) * exact + h - 1, exact**2 + log_w * (dense_log2 + 1) + log_h)
    code = torch.where(side < cap, code, CODE_LARGE)
    code = torch.where(torch.minimum(w, h) > 0, code, CODE_INVALID)
    return code.to(torch.uint8).to(device)


def box_size_codes(
    box_w: Tensor, box_h: Tensor, valid: Tensor, exact: int = EXACT_SIDE, dense_log2: int = DENSE_LOG2
) -> Tensor:
    """``uint8`` group code ``[T]`` of each box: its dense block shape, or :data:`CODE_LARGE` / :data:`CODE_INVALID`.

    Codes ``0 .. exact**2 - 1`` are exact sizes ``((w - 1) * exact + h - 1)``; the next ``(dense_log2 + 1)**2``
    codes are power-of-two sizes; see :func:`code_block` for the block shape of a code. ``box_w`` and ``box_h``
    may be integer or whole-number float tensors (any value where ``valid`` is ``False``). The codes come from a
    small table indexed by the clamped sizes: a few cheap passes instead of several ``torch.where``.
    """
    if exact**2 + (dense_log2 + 1) ** 2 > CODE_LARGE:
        raise ValueError(f"too many groups for uint8 codes: exact={exact}, dense_log2={dense_log2}")
    cap = 2**dense_log2 + 1
    table = _code_table(exact, dense_log2, str(box_w.device))
    # float -> int32 first, then clamp: NaN or huge sizes of invalid boxes still give an in-range index
    w = box_w.to(torch.int32).clamp_(0, cap)
    h = box_h.to(torch.int32).clamp_(0, cap)
    code = table.index_select(0, w.mul_(cap + 1).add_(h))
    return code.bitwise_or_((~valid).view(torch.uint8).mul(CODE_INVALID))


def code_block(code: int, exact: int = EXACT_SIDE, dense_log2: int = DENSE_LOG2) -> tuple[int, int, bool]:
    """``(kw, kh, masked)``: the dense block of a group code (``masked``: boxes may be smaller than the block)."""
    if code < exact**2:
        return code // exact + 1, code % exact + 1, False
    c = code - exact**2
    return 1 << (c // (dense_log2 + 1)), 1 << (c % (dense_log2 + 1)), True


@dataclass(frozen=True)
class Buckets:
    """Triangles sorted by group code.

    Attributes:
        order: ``[T']`` int64 triangle indices of the valid triangles, grouped by code (``T'`` = number valid).
        ranges: ``(code, start, stop)`` of each non-empty group, as ranges of ``order``.
    """

    order: Tensor
    ranges: list[tuple[int, int, int]]


def bucket_ranges(code: Tensor) -> Buckets:
    """Group triangles by their ``uint8`` code (see :func:`box_size_codes`); invalid ones are left out."""
    sorted_code, order = torch.sort(code, stable=True)
    counts = torch.bincount(sorted_code.int(), minlength=256).tolist()  # one host sync for the plan
    ranges, start = [], 0
    for c in range(CODE_INVALID):
        if counts[c]:
            ranges.append((c, start, start + counts[c]))
            start += counts[c]
    return Buckets(order[:start], ranges)


def iter_bbox_candidates(
    x_lo: Tensor, y_lo: Tensor, box_w: Tensor, box_h: Tensor, max_candidates: int = DEFAULT_MAX_CANDIDATES
) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    """Yield ``(triangle index, pixel x, pixel y)`` int64 triplets for every pixel of every box, in bounded chunks.

    A chunk holds whole triangles whose boxes total at most ``max_candidates`` pixels (one oversized triangle forms
    a chunk of its own), so memory is bounded whatever the triangle sizes. Only the chunk loop is in Python.

    Args:
        x_lo: ``[T]`` first column of each box.
        y_lo: ``[T]`` first row of each box.
        box_w: ``[T]`` box widths (>= 1).
        box_h: ``[T]`` box heights (>= 1).
        max_candidates: soft cap on candidates per chunk.
    """
    counts = box_w * box_h  # [T]
    n_tri = counts.numel()
    if n_tri == 0:
        return
    ends = torch.cumsum(counts, 0)
    ends_list = ends.tolist()  # one host sync for the chunk plan
    start, done = 0, 0
    while start < n_tri:
        # the last triangle whose cumulative count stays within the budget (at least one triangle)
        stop = bisect.bisect_right(ends_list, done + max_candidates)
        stop = max(stop, start + 1)
        total = int(ends_list[stop - 1] - done)
        c = counts[start:stop]
        local = torch.repeat_interleave(torch.arange(stop - start, device=counts.device), c, output_size=total)
        first = ends[start:stop] - c - done  # [t] offset of each triangle's first candidate in this chunk
        k = torch.arange(total, device=counts.device) - first[local]
        tri = local + start
        bw = box_w[tri]
        yield tri, x_lo[tri] + k % bw, y_lo[tri] + k // bw
        done = int(ends_list[stop - 1])
        start = stop
