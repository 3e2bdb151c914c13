"""Rasteriser: coverage, depth, occlusion, perspective-correct interpolation, chunking, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from toonlift.functional.camera import fov_to_intrinsics, pixel_grid, project
from toonlift.functional.depth_map import grid_faces
from toonlift.functional.rasterize import interpolate, rasterize, rasterize_visibility


def _brute_force(vertices: torch.Tensor, faces: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense O(pixels x triangles) reference z-buffer (float64) for small problems."""
    B = vertices.shape[0]
    p = pixel_grid(size, size, dtype=torch.float64).reshape(-1, 2)  # [P, 2]
    face_id = torch.full((B, size * size), -1, dtype=torch.long)
    zbuf = torch.full((B, size * size), math.inf, dtype=torch.float64)
    for b in range(B):
        for f, (i0, i1, i2) in enumerate(faces.tolist()):
            (x0, y0, z0), (x1, y1, z1), (x2, y2, z2) = vertices[b, [i0, i1, i2]].double().tolist()
            area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
            if abs(area) < 1e-12 or min(z0, z1, z2) <= 1e-6:
                continue
            w0 = ((x2 - x1) * (p[:, 1] - y1) - (y2 - y1) * (p[:, 0] - x1)) / area
            w1 = ((x0 - x2) * (p[:, 1] - y2) - (y0 - y2) * (p[:, 0] - x2)) / area
            w2 = 1 - w0 - w1
            inside = (w0 >= -1e-5) & (w1 >= -1e-5) & (w2 >= -1e-5)
            z = 1.0 / (w0 / z0 + w1 / z1 + w2 / z2)
            better = inside & (z < zbuf[b])
            zbuf[b] = torch.where(better, z, zbuf[b])
            face_id[b] = torch.where(better, torch.full_like(face_id[b], f), face_id[b])
    return face_id.reshape(B, size, size), zbuf.reshape(B, size, size)


def test_fronto_parallel_quad_depth_and_coverage():
    v = torch.tensor([[[2.0, 3.0, 1.5], [9.0, 3.0, 1.5], [2.0, 8.0, 1.5], [9.0, 8.0, 1.5]]])
    faces = torch.tensor([[0, 2, 1], [1, 2, 3]])
    frags = rasterize(v, faces, 12)
    expected = torch.zeros(12, 12, dtype=torch.bool)
    expected[3:9, 2:10] = True  # pixel centres on the border are covered
    assert torch.equal(frags.mask[0], expected)
    assert torch.allclose(frags.depth[0][expected], torch.tensor(1.5), atol=1e-6)
    assert (frags.depth[0][~expected] == 0).all()
    assert (frags.face_id[0][~expected] == -1).all()
    assert torch.allclose(frags.bary.sum(-1)[0][expected], torch.tensor(1.0), atol=1e-6)


def test_occlusion_nearer_triangle_wins_in_any_order():
    near = [[1.0, 1.0, 1.0], [14.0, 1.0, 1.0], [1.0, 14.0, 1.0]]
    far = [[0.0, 0.0, 3.0], [15.0, 0.0, 3.0], [0.0, 15.0, 3.0]]
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    for verts, near_face in ((near + far, 0), (far + near, 1)):
        frags = rasterize(torch.tensor([verts]), faces, 16)
        assert frags.face_id[0, 5, 5] == near_face
        assert frags.depth[0, 5, 5] == pytest.approx(1.0, abs=1e-6)
        assert frags.face_id[0, 15, 0] == 1 - near_face  # only the far triangle reaches this corner
        assert frags.depth[0, 15, 0] == pytest.approx(3.0, abs=1e-6)


def test_matches_dense_reference_on_random_triangles():
    g = torch.Generator().manual_seed(0)
    B, F, S = 2, 40, 24
    xy = torch.rand(B, 3 * F, 2, generator=g) * 34 - 5  # some off-screen
    z = torch.rand(B, 3 * F, 1, generator=g) * 4 + 0.5
    v = torch.cat([xy, z], -1)
    faces = torch.arange(3 * F).reshape(F, 3)
    face_id = rasterize_visibility(v, faces, S, max_candidates=97)  # tiny chunks exercise the chunk loop
    ref_id, ref_z = _brute_force(v, faces, S)
    assert torch.equal(face_id, ref_id)
    frags = rasterize(v, faces, S)
    covered = ref_id >= 0
    assert torch.allclose(frags.depth[covered].double(), ref_z[covered], rtol=1e-5)


def test_huge_triangle_and_chunking_agree():
    v = torch.tensor([[[-500.0, -500.0, 2.0], [900.0, -500.0, 2.0], [-500.0, 900.0, 2.0]]])
    faces = torch.tensor([[0, 1, 2]])
    a = rasterize(v, faces, 64)
    b = rasterize(v, faces, 64, max_candidates=100)
    assert a.mask.all()
    assert torch.equal(a.face_id, b.face_id)
    assert torch.allclose(a.depth, b.depth)


def test_behind_camera_and_offscreen_are_dropped():
    faces = torch.tensor([[0, 1, 2]])
    behind = torch.tensor([[[1.0, 1.0, -1.0], [8.0, 1.0, 1.0], [1.0, 8.0, 1.0]]])
    offscreen = torch.tensor([[[20.0, 20.0, 1.0], [30.0, 20.0, 1.0], [20.0, 30.0, 1.0]]])
    assert not rasterize(behind, faces, 10).mask.any()
    assert not rasterize(offscreen, faces, 10).mask.any()


def test_grid_mesh_has_no_holes_and_batch_is_independent():
    S = 17
    faces = grid_faces(S, S)
    xy = pixel_grid(S, S).reshape(1, -1, 2)
    flat = torch.cat([xy, torch.ones(1, S * S, 1)], -1)
    bumpy = torch.cat([xy, 1 + 0.1 * torch.rand(1, S * S, 1)], -1)
    frags = rasterize(torch.cat([flat, bumpy]), faces, S)
    assert frags.mask.all()
    assert torch.allclose(frags.depth[1].reshape(-1), bumpy[0, :, 2], atol=1e-5)  # pixel = vertex
    assert torch.allclose(frags.depth[0], torch.ones(S, S))


def test_perspective_correct_interpolation_on_tilted_plane():
    """Camera-space X interpolated over a tilted plane equals the analytic ray-plane intersection."""
    S = 32
    K = fov_to_intrinsics(30.0, S)
    # plane Z = 2 + 0.8 X, a square patch on it
    X = torch.tensor([-0.4, 0.4, -0.4, 0.4])
    Y = torch.tensor([-0.4, -0.4, 0.4, 0.4])
    pts = torch.stack([X, Y, 2 + 0.8 * X], -1)[None]
    faces = torch.tensor([[0, 2, 1], [1, 2, 3]])
    frags = rasterize(project(pts, K), faces, S)
    xs = interpolate(pts, faces, frags)[0]  # [S, S, 3]
    p = pixel_grid(S, S)
    rx, ry = (p[..., 0] - K[0, 2]) / K[0, 0], (p[..., 1] - K[1, 2]) / K[1, 1]
    z = 2 / (1 - 0.8 * rx)  # Z = 2 + 0.8 Z rx
    m = frags.mask[0]
    assert m.sum() > 100
    assert torch.allclose(frags.depth[0][m], z[m], atol=1e-5)
    assert torch.allclose(xs[..., 0][m], (rx * z)[m], atol=1e-5)
    assert torch.allclose(xs[..., 1][m], (ry * z)[m], atol=1e-5)


def test_interpolate_shared_attributes_and_background_zero():
    v = torch.tensor([[[1.0, 1.0, 1.0], [6.0, 1.0, 1.0], [1.0, 6.0, 1.0]]]).repeat(2, 1, 1)
    faces = torch.tensor([[0, 1, 2]])
    frags = rasterize(v, faces, 8)
    colors = torch.eye(3)[None]  # [1, 3, 3] broadcast over the batch
    out = interpolate(colors, faces, frags)
    assert out.shape == (2, 8, 8, 3)
    assert torch.allclose(out[0, 1, 1], torch.tensor([1.0, 0.0, 0.0]))
    assert (out[:, 7, 7] == 0).all()


def test_gradcheck_interpolation_wrt_vertices_and_attributes():
    g = torch.Generator().manual_seed(3)
    base = torch.tensor([[[1.3, 1.2, 1.0], [8.6, 2.1, 1.4], [2.2, 8.7, 0.8], [9.1, 8.9, 1.7]]], dtype=torch.float64)
    verts = (base + 0.01 * torch.rand(base.shape, generator=g, dtype=torch.float64)).requires_grad_()
    attrs = torch.rand(1, 4, 2, generator=g, dtype=torch.float64).requires_grad_()
    faces = torch.tensor([[0, 2, 1], [1, 2, 3]])

    def fn(v: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frags = rasterize(v, faces, 10)
        return interpolate(a, faces, frags), frags.depth

    assert torch.autograd.gradcheck(fn, (verts, attrs), eps=1e-6, atol=1e-6)
