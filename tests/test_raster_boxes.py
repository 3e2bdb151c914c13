"""Rasteriser culling helpers: pixel boxes, size groups, candidate enumeration, key packing, and the fast path."""

from __future__ import annotations

import math

import torch

from toonlift.functional.camera import pixel_grid
from toonlift.functional.depth_map import grid_faces
from toonlift.functional.raster_boxes import (
    CODE_INVALID,
    CODE_LARGE,
    box_extent_float,
    box_from_extent,
    box_size_codes,
    bucket_ranges,
    code_block,
    iter_bbox_candidates,
    triangle_bboxes,
)
from toonlift.functional.rasterize import _pack_keys, rasterize_visibility


def test_boxes_hold_exactly_the_pixel_centres_of_the_extent():
    g = torch.Generator().manual_seed(0)
    H, W, eps = 9, 13, 1e-4
    lo = torch.rand(400, 2, generator=g) * 20 - 4
    hi = lo + torch.rand(400, 2, generator=g) * 6
    x_lo, y_lo, bw, bh, valid = box_from_extent(lo[:, 0], hi[:, 0], lo[:, 1], hi[:, 1], H, W, eps=eps)
    for t in range(400):
        xs = [x for x in range(W) if lo[t, 0] - eps <= x <= hi[t, 0] + eps]
        ys = [y for y in range(H) if lo[t, 1] - eps <= y <= hi[t, 1] + eps]
        assert bool(valid[t]) == bool(xs and ys)
        if xs and ys:
            assert (int(x_lo[t]), int(bw[t]), int(y_lo[t]), int(bh[t])) == (xs[0], len(xs), ys[0], len(ys))


def test_float_and_int_boxes_agree_and_non_finite_corners_are_invalid():
    tri = torch.tensor(
        [
            [[1.2, 1.5], [4.0, 2.0], [2.0, 6.9]],
            [[math.inf, 1.0], [2.0, 2.0], [1.0, 3.0]],
            [[math.nan, 1.0], [2.0, 2.0], [1.0, 3.0]],
            [[-1e30, -1e30], [1e30, -1e30], [0.0, 1e30]],  # huge but finite: covers the image
        ]
    )
    x_lo, y_lo, bw, bh, valid = triangle_bboxes(tri, 8, 8)
    assert valid.tolist() == [True, False, False, True]
    assert (int(x_lo[0]), int(y_lo[0]), int(bw[0]), int(bh[0])) == (2, 2, 3, 5)
    assert (int(bw[3]), int(bh[3])) == (8, 8)
    x, y = tri[..., 0], tri[..., 1]
    f = box_extent_float(x.amin(1), x.amax(1), y.amin(1), y.amax(1), 8, 8)
    for a, b in zip(f[:4], (x_lo, y_lo, bw, bh)):
        assert torch.equal(a[valid].long(), b[valid])
    assert torch.equal(f[4], valid)


def test_size_codes_give_blocks_that_cover_each_box():
    w = torch.arange(1, 40).repeat_interleave(39)
    h = torch.arange(1, 40).repeat(39)
    valid = torch.ones_like(w, dtype=torch.bool)
    valid[::7] = False
    code = box_size_codes(w, h, valid)
    assert code.dtype == torch.uint8
    for wi, hi, ok, c in zip(w.tolist(), h.tolist(), valid.tolist(), code.tolist()):
        if not ok:
            assert c == CODE_INVALID
        elif max(wi, hi) > 16:
            assert c == CODE_LARGE
        else:
            kw, kh, masked = code_block(c)
            assert kw >= wi and kh >= hi and kw < 2 * wi and kh < 2 * hi  # at most 4x wasted candidates
            assert masked == (max(wi, hi) > 4)
            if not masked:
                assert (kw, kh) == (wi, hi)  # small boxes: no wasted candidate
    # float widths (the rasteriser's path) give the same codes
    assert torch.equal(box_size_codes(w.float(), h.float(), valid), code)


def test_buckets_partition_the_valid_triangles_by_code():
    g = torch.Generator().manual_seed(1)
    code = torch.randint(0, 40, (1000,), generator=g).to(torch.uint8)
    code[torch.rand(1000, generator=g) < 0.2] = CODE_INVALID
    code[:5] = CODE_LARGE
    buckets = bucket_ranges(code)
    assert sorted(buckets.order.tolist()) == (code != CODE_INVALID).nonzero().squeeze(1).tolist()
    for c, start, stop in buckets.ranges:
        assert stop > start
        assert (code[buckets.order[start:stop]] == c).all()
    assert buckets.ranges[-1][0] == CODE_LARGE


def test_candidates_enumerate_every_box_pixel_once_in_any_chunking():
    x_lo, y_lo = torch.tensor([0, 3, 5]), torch.tensor([1, 0, 2])
    bw, bh = torch.tensor([2, 1, 3]), torch.tensor([3, 4, 1])
    expected = sorted(
        (t, x_lo[t].item() + i, y_lo[t].item() + j) for t in range(3) for i in range(bw[t]) for j in range(bh[t])
    )
    for cap in (1, 4, 7, 100):
        got = [
            (t, x, y)
            for chunk in iter_bbox_candidates(x_lo, y_lo, bw, bh, cap)
            for t, x, y in zip(*(c.tolist() for c in chunk))
        ]
        assert sorted(got) == expected


def test_packed_keys_order_by_depth_then_face():
    depth = torch.tensor([1.5, 1.5, 0.25, 3.0e-7, 2.0])
    face = torch.tensor([7, 3, 9, 2**31 - 1, 0], dtype=torch.int32)
    key = _pack_keys(depth, face)
    ref = (depth.view(torch.int32).long() << 32) | face.long()
    assert torch.equal(key, ref)
    assert torch.argsort(key).tolist() == [3, 2, 1, 0, 4]


def _dense_visibility(v: torch.Tensor, faces: torch.Tensor, size: int, eps: float = 1e-4) -> torch.Tensor:
    """Every pixel against every triangle in float64 (tolerance ``eps`` pixels); nearest wins, lower id on ties."""
    p = pixel_grid(size, size, dtype=torch.float64).reshape(-1, 1, 2)  # [P, 1, 2]
    t = v[0].double()[faces]  # [F, 3, 3]
    x, y, z = t[..., 0], t[..., 1], t[..., 2]
    area = (x[:, 1] - x[:, 0]) * (y[:, 2] - y[:, 0]) - (y[:, 1] - y[:, 0]) * (x[:, 2] - x[:, 0])
    dists, inv_z = [], 0
    for i in range(3):
        a, b = (i + 1) % 3, (i + 2) % 3
        e = (x[:, b] - x[:, a]) * (p[..., 1] - y[:, a]) - (y[:, b] - y[:, a]) * (p[..., 0] - x[:, a])  # [P, F]
        dists.append(e / area * area.abs() / torch.hypot(x[:, b] - x[:, a], y[:, b] - y[:, a]))
        inv_z = inv_z + e / area / z[:, i]
    inside = (torch.stack(dists).amin(0) >= -eps) & (area.abs() > 1e-12)
    depth = torch.where(inside, 1.0 / inv_z, torch.inf)
    best = depth.amin(1, keepdim=True)
    hit = inside & (depth == best)
    face = torch.where(hit, torch.arange(faces.shape[0]), faces.shape[0]).amin(1)
    return torch.where(best[:, 0].isfinite(), face, -1).reshape(1, size, size)


def test_fast_path_matches_dense_test_on_jittered_meshes():
    """Sub-pixel to ~20 px triangles (exact-size, power-of-two and enumerated groups) against a dense float64 test."""
    g = torch.Generator().manual_seed(2)
    for S, n, jitter in ((20, 31, 0.25), (40, 9, 1.5), (40, 3, 3.0)):  # box sides ~1-2, ~5-8 and ~20 px
        xy = pixel_grid(n, n).reshape(1, -1, 2) * (S / (n - 1)) + torch.randn(1, n * n, 2, generator=g) * jitter
        z = 1.0 + 0.3 * torch.rand(1, n * n, 1, generator=g)
        v = torch.cat([xy - 1.0, z], -1)
        faces = grid_faces(n, n)
        face_id = rasterize_visibility(v, faces, S, max_candidates=50)  # small chunks too
        ref = _dense_visibility(v, faces, S)
        # float32 vs float64 may only disagree where a pixel centre is within rounding of an edge or a depth tie
        assert (face_id != ref).float().mean() < 0.003
        assert (face_id >= 0).sum() > 0.5 * S * S
