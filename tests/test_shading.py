"""Normals of meshes and depth maps (plane, tilted plane, sphere), Lambert and SH lighting."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from toonlift.functional.camera import fov_to_intrinsics, pixel_grid
from toonlift.functional.shading import (
    depth_normals,
    face_normals,
    lambert,
    lambert_sh_coefficients,
    reference_light_direction,
    sh_basis,
    sh_shading,
    vertex_normals,
)


def _rays(size: int, intrinsics: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    K = intrinsics
    S = size
    p = pixel_grid(S, S, dtype=torch.float64)
    return (p[..., 0] - K[0, 2]) / K[0, 0], (p[..., 1] - K[1, 2]) / K[1, 1]


def test_depth_normals_fronto_parallel_plane():
    K = fov_to_intrinsics(10.0, 16, dtype=torch.float64)
    n = depth_normals(torch.full((1, 16, 16), 1.0, dtype=torch.float64), K)
    assert torch.allclose(n, torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64).expand_as(n), atol=1e-9)


def test_depth_normals_tilted_plane():
    S = 32
    K = fov_to_intrinsics(20.0, S, dtype=torch.float64)
    rx, ry = _rays(S, K)
    a, b, c = 0.5, -0.3, 1.0  # plane Z = aX + bY + c  -> depth along each ray
    depth = (c / (1 - a * rx - b * ry))[None]
    n = depth_normals(depth, K)[0, 1:-1, 1:-1]
    expected = F.normalize(torch.tensor([a, b, -1.0], dtype=torch.float64), dim=0)  # outward: towards the camera
    assert torch.allclose(n, expected.expand_as(n), atol=1e-6)


def test_depth_normals_sphere():
    S = 64
    K = fov_to_intrinsics(10.0, S, dtype=torch.float64)
    rx, ry = _rays(S, K)
    centre_z, r = 1.0, 0.06
    d = torch.stack([rx, ry, torch.ones_like(rx)], -1)  # ray directions with unit Z
    # |t d - c|^2 = r^2, nearest root
    dd = (d * d).sum(-1)
    dc = d[..., 2] * centre_z
    disc = dc**2 - dd * (centre_z**2 - r**2)
    hit = disc > 0
    t = (dc - disc.clamp_min(0).sqrt()) / dd
    depth = torch.where(hit, t, torch.full_like(t, centre_z))[None]
    n = depth_normals(depth, K)[0]
    p = t[..., None] * d
    expected = F.normalize(p - torch.tensor([0.0, 0.0, centre_z], dtype=torch.float64), dim=-1)
    # interior pixels whose 3x3 neighbourhood is on the sphere, away from the grazing rim
    inner = (F.max_pool2d((~hit).double()[None, None], 3, 1, 1)[0, 0] == 0) & (expected[..., 2] < -0.5)
    assert inner.sum() > 200
    err = torch.rad2deg(torch.acos((n * expected).sum(-1).clamp(-1, 1)))[inner]
    assert err.max() < 1.0


def test_vertex_normals_of_octahedron_point_outwards():
    v = torch.tensor([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=torch.float32)
    faces = torch.tensor(
        [[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]]
    )  # counter-clockwise seen from outside
    fn = face_normals(v[None], faces)[0]
    centroids = v[faces].mean(1)
    assert ((fn * centroids).sum(-1) > 0).all()
    vn = vertex_normals(v[None], faces)[0]
    assert torch.allclose(vn, v, atol=1e-6)


def test_lambert_formula_and_reference_equivalence():
    n = F.normalize(torch.randn(2, 5, 5, 3), dim=-1)
    light_dxy = torch.tensor([[0.3, -0.2], [-0.5, 0.4]])
    amb, dif = torch.tensor([0.2, 0.4]), torch.tensor([0.7, 0.5])
    ours = lambert(n, reference_light_direction(light_dxy), amb, dif)
    # the reference: normals pointing away from the camera and light normalize(dx, dy, 1)
    ref_l = F.normalize(torch.cat([light_dxy, torch.ones(2, 1)], 1), dim=1)
    ref = amb.view(2, 1, 1) + dif.view(2, 1, 1) * ((-n) * ref_l.view(2, 1, 1, 3)).sum(-1).clamp_min(0)
    assert torch.allclose(ours, ref, atol=1e-6)


def test_sh_basis_is_orthonormal():
    # Fibonacci sphere quadrature
    N = 20000
    i = torch.arange(N, dtype=torch.float64) + 0.5
    z = 1 - 2 * i / N
    phi = math.pi * (1 + 5**0.5) * i
    r = (1 - z * z).sqrt()
    dirs = torch.stack([r * phi.cos(), r * phi.sin(), z], -1)
    Y = sh_basis(dirs)
    gram = Y.T @ Y * (4 * math.pi / N)
    assert torch.allclose(gram, torch.eye(9, dtype=torch.float64), atol=2e-3)


def test_sh_approximates_lambert_and_per_channel_shapes():
    n = F.normalize(torch.randn(1, 4000, 3, generator=torch.Generator().manual_seed(0)), dim=-1)
    light = F.normalize(torch.tensor([[0.3, -0.4, -1.0]]), dim=1)
    exact = lambert(n, light, 0.2, 0.8)
    approx = sh_shading(n, lambert_sh_coefficients(light, 0.2, 0.8))
    assert (exact - approx).abs().mean() < 0.03 and (exact - approx).abs().max() < 0.1
    coloured = sh_shading(n.reshape(1, 40, 100, 3), torch.randn(1, 9, 3))
    assert coloured.shape == (1, 40, 100, 3)
