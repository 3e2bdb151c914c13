"""Depth-map renderer (Unsup3d/GAN2Shape operations): exact canonical view, yaw of a plane, gradients, agreement
with the mesh renderer, border clamp, plugin wiring."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from toonlift.errors import ConfigError, NonFiniteError
from toonlift.functional import depth_map as dm
from toonlift.functional.camera import fov_to_intrinsics, pixel_grid, rotation_y, view_to_transform
from toonlift.functional.shading import depth_to_points, reference_light_direction
from toonlift.plugins.renderers.depth_map import DepthMapRenderer
from toonlift.plugins.renderers.mesh import MeshRenderer
from toonlift.registry import RENDERERS


def _smooth_depth(batch: int, size: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(batch, 1, 4, 4, generator=g, dtype=torch.float64) * 0.16 + 0.92
    return F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=True)[:, 0].clamp(0.9, 1.1).to(dtype)


def test_registered_and_config_errors():
    assert RENDERERS.get("depth_map") is DepthMapRenderer
    with pytest.raises(ConfigError):
        DepthMapRenderer(min_depth=1.2, max_depth=1.1)
    with pytest.raises(ConfigError):
        DepthMapRenderer(padding_mode="wrap")


@pytest.mark.parametrize("size", [32, 128])  # 128: float32 rounding at the far border is still covered
def test_canonical_view_reproduces_input_exactly(size: int):
    r = DepthMapRenderer(image_size=size)
    depth = _smooth_depth(1, size)
    albedo = torch.rand(1, 3, size, size) * 2 - 1
    out = r(depth, albedo, torch.zeros(1, 6), reference_light_direction(torch.zeros(1, 2)), ambient=1.0, diffuse=0.0)
    assert out.mask.all()
    assert torch.allclose(out.recon_depth, depth, atol=1e-5)
    assert torch.allclose(out.image, albedo, atol=1e-4)
    warped, mask = r.warp_image(albedo, depth, torch.zeros(1, 6))
    assert torch.allclose(warped, albedo, atol=1e-4) and mask.all()


@pytest.mark.parametrize("yaw_deg, plane_depth", [(20.0, 1.0), (-35.0, 1.0), (25.0, 1.05)])
def test_yaw_rotation_of_a_plane_gives_analytic_depth(yaw_deg: float, plane_depth: float):
    S, yaw = 64, math.radians(yaw_deg)
    r = DepthMapRenderer(image_size=S, fov=10.0, min_depth=0.9, max_depth=1.1, rot_center_depth=1.0)
    depth = torch.full((1, S, S), plane_depth, dtype=torch.float64)
    recon = r.warp_canon_depth(depth, torch.tensor([[0.0, yaw, 0.0, 0.0, 0.0, 0.0]], dtype=torch.float64))[0]
    # the rotated plane: normal R e_z through the point c + R (p0 - c), c = (0, 0, 1), p0 = (0, 0, plane_depth)
    R = rotation_y(torch.tensor([yaw], dtype=torch.float64))[0]
    n = R[:, 2]
    p0 = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64) + R @ torch.tensor([0.0, 0.0, plane_depth - 1.0]).double()
    K = fov_to_intrinsics(10.0, S, dtype=torch.float64)
    p = pixel_grid(S, S, dtype=torch.float64)
    d = torch.stack([(p[..., 0] - K[0, 2]) / K[0, 0], (p[..., 1] - K[1, 2]) / K[1, 1], torch.ones(S, S)], -1)
    expected = (n @ p0) / (d @ n)
    inner = recon < 1.1 + 0.1  # pixels that see the rotated patch
    inner &= F.max_pool2d((~inner).double()[None], 3, 1, 1)[0] == 0  # away from its outline
    assert inner.sum() > S * S // 3
    assert torch.allclose(recon[inner], expected[inner], atol=1e-6)
    # a positive yaw turns +Z towards +X, so +X towards -Z: the right side of the plane comes nearer
    if plane_depth == 1.0 and yaw > 0:
        row = recon[S // 2][inner[S // 2]]
        assert row[-1] < row[0]


def test_gradcheck_warp_and_render_wrt_depth_albedo_light():
    S = 6
    r = DepthMapRenderer(image_size=S)
    depth = _smooth_depth(1, S, seed=2, dtype=torch.float64).requires_grad_()
    albedo = torch.rand(1, 1, S, S, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) - 0.5
    albedo.requires_grad_()
    light = torch.tensor([[0.2, -0.1]], dtype=torch.float64, requires_grad=True)
    view = torch.tensor([[0.05, 0.12, 0.02, 0.01, -0.01, 0.0]], dtype=torch.float64)

    def fn(d: torch.Tensor, a: torch.Tensor, light_dxy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = r(d, a, view, reference_light_direction(light_dxy), ambient=0.4, diffuse=0.6)
        return out.image, out.recon_depth

    assert torch.autograd.gradcheck(fn, (depth, albedo, light), eps=1e-6, atol=1e-5)


def test_gradients_flow_through_rasterised_depth_into_the_grid():
    S = 16
    r = DepthMapRenderer(image_size=S)
    depth = _smooth_depth(1, S).requires_grad_()
    recon = r.warp_canon_depth(depth, torch.tensor([[0.0, 0.3, 0.0, 0.0, 0.0, 0.0]]))
    grid = r.inverse_warp_grid(recon, torch.tensor([[0.0, 0.3, 0.0, 0.0, 0.0, 0.0]]))
    grid[..., 0].sum().backward()
    assert depth.grad.abs().sum() > 0


def test_rasterised_depth_map_mesh_agrees_with_depth_map_renderer():
    S = 48
    depth = _smooth_depth(1, S, seed=4)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, S), torch.linspace(-1, 1, S), indexing="ij")
    albedo = torch.stack([0.6 * xx, 0.6 * yy, 0.3 * xx * yy], 0)[None]  # smooth, so bilinear ~ barycentric
    view = torch.tensor([[0.1, 0.35, 0.05, 0.02, -0.01, 0.0]])
    dmr = DepthMapRenderer(image_size=S)
    out = dmr(depth, albedo, view, reference_light_direction(torch.zeros(1, 2)), ambient=1.0, diffuse=0.0)

    verts = depth_to_points(depth, dmr.K).reshape(1, -1, 3)
    colors = albedo.permute(0, 2, 3, 1).reshape(1, -1, 3)
    mr = MeshRenderer(image_size=S, fov=10.0, shading="none", background=(0.0, 0.0, 0.0))
    mesh = mr(verts, dm.grid_faces(S, S), vertex_colors=colors, view=view)
    m = mesh.mask[0, 0].bool()
    assert torch.equal(m, out.mask[0, 0].bool())
    assert torch.allclose(mesh.depth[0, 0][m], out.recon_depth[0][m], atol=1e-6)
    diff = (mesh.image - out.image).abs()[0][:, m]
    assert diff.mean() < 2e-3 and diff.max() < 0.03


def test_border_clamp_matches_reference_formula():
    depth = torch.full((1, 4, 8), 1.0)
    value = dm.border_depth(0.9, 1.1)
    assert value == pytest.approx(1.04)
    out = dm.clamp_depth_border(depth, value)
    assert torch.allclose(out[..., :2], torch.tensor(1.0 * (1 - 1.02) + 1.02 * 1.04))
    assert torch.allclose(out[..., -2:], torch.tensor(1.0 * (1 - 1.02) + 1.02 * 1.04))
    assert torch.equal(out[..., 2:-2], depth[..., 2:-2])
    exact = dm.clamp_depth_border(depth, value, blend=1.0)
    assert torch.allclose(exact[..., :2], torch.tensor(1.04))


def test_forward_and_inverse_grids_are_consistent():
    S = 32
    depth = _smooth_depth(1, S, seed=5, dtype=torch.float64)
    K = fov_to_intrinsics(10.0, S, dtype=torch.float64)
    rot, trans = view_to_transform(torch.tensor([[0.1, -0.2, 0.05, 0.01, 0.02, 0.0]], dtype=torch.float64))
    identity = torch.stack(torch.meshgrid(torch.linspace(-1, 1, S), torch.linspace(-1, 1, S), indexing="ij"), -1)
    assert torch.allclose(
        dm.forward_warp_grid(depth, torch.eye(3)[None].double(), torch.zeros(1, 3).double(), K)[0],
        identity.flip(-1).double(),
        atol=1e-9,
    )
    # a canonical point moved forward then pulled back with its own (warped) depth lands where it started
    pts = depth_to_points(depth, K).reshape(1, -1, 3)
    from toonlift.functional.camera import inverse_transform_points, transform_points

    back = inverse_transform_points(transform_points(pts, rot, trans), rot, trans)
    assert torch.allclose(back, pts, atol=1e-12)


def test_nan_depth_raises():
    r = DepthMapRenderer(image_size=8)
    depth = torch.full((1, 8, 8), 1.0)
    depth[0, 3, 3] = float("nan")
    with pytest.raises(NonFiniteError):
        r(depth, torch.zeros(1, 3, 8, 8), torch.zeros(1, 6), reference_light_direction(torch.zeros(1, 2)))


def test_warp_in_view_chunks_equals_the_whole_batch(monkeypatch: pytest.MonkeyPatch):
    size, batch = 16, 5
    depth = _smooth_depth(batch, size, seed=3).requires_grad_()
    view = torch.zeros(batch, 6)
    view[:, 1] = torch.linspace(-0.4, 0.4, batch)
    rot, trans = view_to_transform(view)
    K = fov_to_intrinsics(10.0, size)
    whole = dm.warp_canon_depth(depth, rot, trans, K)
    (g_whole,) = torch.autograd.grad(whole.square().sum(), depth)
    monkeypatch.setattr(dm, "_CHUNK_PIXELS", 2 * size * size)  # chunks of 2, 2 and 1 views
    chunked = dm.warp_canon_depth(depth, rot, trans, K)
    (g_chunked,) = torch.autograd.grad(chunked.square().sum(), depth)
    assert torch.equal(whole, chunked)
    assert torch.allclose(g_whole, g_chunked, rtol=1e-6, atol=1e-7)
