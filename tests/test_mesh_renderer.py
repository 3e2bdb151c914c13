"""MeshRenderer plugin: registry, vertex colours, UV textures (no mirroring), lighting, background, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from toonlift.errors import ConfigError
from toonlift.functional.camera import fov_to_intrinsics, pixel_grid
from toonlift.plugins.renderers.mesh import MeshRenderer
from toonlift.registry import RENDERERS


def _quad(z: float = 1.0, half: float = 0.05) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A camera-facing square (counter-clockwise seen from the camera) with OBJ-convention UVs."""
    v = torch.tensor([[-half, -half, z], [half, -half, z], [-half, half, z], [half, half, z]])  # TL, TR, BL, BR
    faces = torch.tensor([[0, 2, 1], [1, 2, 3]])
    uv = torch.tensor([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]])  # top of the image has v = 1
    return v[None], faces, uv[None]


def _sphere(n_lat: int = 24, n_lon: int = 48, r: float = 0.05, z: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    th = torch.linspace(0, math.pi, n_lat)
    ph = torch.linspace(0, 2 * math.pi, n_lon + 1)[:-1]
    t, p = torch.meshgrid(th, ph, indexing="ij")
    v = torch.stack([r * t.sin() * p.cos(), r * t.cos(), r * t.sin() * p.sin() + z], -1).reshape(-1, 3)
    idx = torch.arange(n_lat * n_lon).reshape(n_lat, n_lon)
    nxt = idx.roll(-1, 1)
    a = torch.stack([idx[:-1], nxt[:-1], idx[1:]], -1).reshape(-1, 3)
    b = torch.stack([nxt[:-1], nxt[1:], idx[1:]], -1).reshape(-1, 3)
    return v[None], torch.cat([a, b])


def test_registered_under_mesh():
    assert RENDERERS.get("mesh") is MeshRenderer


def test_bad_config_raises():
    with pytest.raises(ConfigError):
        MeshRenderer(shading="phong")
    with pytest.raises(ConfigError):
        MeshRenderer(image_size=8)(torch.zeros(1, 3, 3) + 1, torch.tensor([[0, 1, 2]]))


def test_texture_is_not_mirrored():
    v, faces, uv = _quad()
    tex = -torch.ones(1, 3, 8, 8)
    tex[:, 0, :4, :4] = 1.0  # red in the top-left quarter of the texture image
    out = MeshRenderer(image_size=32, fov=10.0, shading="none")(v, faces, uv=uv, texture=tex)
    img = out.image[0]
    m = out.mask[0, 0].bool()
    rows, cols = m.nonzero(as_tuple=True)
    top, left = rows.min().item(), cols.min().item()
    bottom, right = rows.max().item(), cols.max().item()
    assert img[0, top + 1, left + 1] > 0.9  # top-left of the rendered square is red
    assert img[0, bottom - 1, right - 1] < -0.9
    assert img[0, top + 1, right - 1] < -0.9


def test_background_colour_and_image():
    v, faces, _ = _quad()
    colors = torch.zeros(1, 4, 3)
    r = MeshRenderer(image_size=16, background=(-1.0, 0.5, 1.0), shading="none")
    out = r(v, faces, vertex_colors=colors)
    assert torch.allclose(out.image[0, :, 0, 0], torch.tensor([-1.0, 0.5, 1.0]))
    bg = torch.full((1, 3, 16, 16), 0.25)
    out = r(v, faces, vertex_colors=colors, background_image=bg)
    assert torch.allclose(out.image[0, :, 0, 0], torch.full((3,), 0.25))
    assert torch.allclose(out.image[0, :, 8, 8], torch.zeros(3))


def test_lambert_on_sphere_matches_analytic_normals():
    v, faces = _sphere()
    r = MeshRenderer(image_size=48, fov=10.0, ambient=0.1, diffuse=0.9, light_direction=(0.0, 0.0, -1.0))
    out = r(v, faces, vertex_colors=torch.ones(1, v.shape[1], 3))
    m = out.mask[0, 0].bool()
    n = out.normals[0].permute(1, 2, 0)[m]
    assert (n[:, 2] < 0.05).all()  # visible normals face the camera
    # white albedo: image = 2 * shading - 1 = 2 * (0.1 + 0.9 * max(0, -n_z)) - 1
    expected = 2 * (0.1 + 0.9 * (-n[:, 2]).clamp_min(0)) - 1
    assert torch.allclose(out.image[0, 0][m], expected, atol=1e-5)
    centre = out.image[0, 0, 24, 24]
    assert centre > 0.95  # frontal light on the frontal sphere point


def test_sh_shading_mode_and_gradients_reach_vertices():
    v, faces = _sphere(12, 24)
    v = v.clone().requires_grad_()
    sh = torch.zeros(1, 9)
    sh[0, 0] = 1 / 0.28209479177387814  # constant irradiance 1
    r = MeshRenderer(image_size=24, shading="sh", soft_sigma=0.5)
    out = r(v, faces, vertex_colors=torch.zeros(1, v.shape[1], 3), sh_coefficients=sh)
    m = out.mask[0, 0].bool()
    assert torch.allclose(out.shading[0, 0][m], torch.ones(int(m.sum())), atol=1e-5)
    (out.image.mean() + out.depth.mean()).backward()
    assert v.grad is not None and v.grad.abs().sum() > 0 and torch.isfinite(v.grad).all()


def test_view_rotation_about_pivot_keeps_centre():
    v, faces = _sphere(12, 24, z=1.0)
    r = MeshRenderer(image_size=32, shading="none")
    colors = torch.ones(1, v.shape[1], 3)
    a = r(v, faces, vertex_colors=colors)
    b = r(v, faces, vertex_colors=colors, view=torch.tensor([[0.0, 0.8, 0.0, 0.0, 0.0, 0.0]]))
    # a sphere centred on the pivot looks the same from any rotation
    assert (a.mask != b.mask).float().mean() < 0.02


def test_sphere_depth_matches_ray_intersection():
    v, faces = _sphere(64, 128, r=0.05, z=1.0)
    S = 48
    out = MeshRenderer(image_size=S, fov=10.0, shading="none")(v, faces, vertex_colors=torch.zeros(1, v.shape[1], 3))
    K = fov_to_intrinsics(10.0, S)
    p = pixel_grid(S, S)
    d = torch.stack([(p[..., 0] - K[0, 2]) / K[0, 0], (p[..., 1] - K[1, 2]) / K[1, 1], torch.ones(S, S)], -1)
    dd, dc = (d * d).sum(-1), d[..., 2]  # |t d - (0, 0, 1)|^2 = r^2
    disc = dc**2 - dd * (1 - 0.05**2)
    t = (dc - disc.clamp_min(0).sqrt()) / dd
    m = out.mask[0, 0].bool() & (disc > 0.2 * disc.max())  # away from the grazing rim
    assert m.sum() > 300
    # a 64 x 128 tessellation is within its chord sag r (1 - cos(pi / 64)) ~ 6e-5 of the sphere
    assert (out.depth[0, 0][m] - t[m]).abs().max() < 1e-4
