"""The inverse warp grid's hand-written backward against autograd through its element-wise form."""

from __future__ import annotations

import math

import torch

from toonlift.functional import depth_map as dm
from toonlift.functional.camera import fov_to_intrinsics, view_to_transform
from toonlift.functional.warp_grid import inverse_warp_grid_fused


def _inputs(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(4)
    depth = (0.95 + 0.1 * torch.rand(2, 7, 9, generator=g)).to(dtype)
    view = torch.zeros(2, 6)
    view[:, :3] = (torch.rand(2, 3, generator=g) * 2 - 1) * math.radians(25)
    view[:, 3:5] = (torch.rand(2, 2, generator=g) * 2 - 1) * 0.05
    rot, trans = view_to_transform(view.to(dtype))
    return depth, rot, trans, fov_to_intrinsics(10.0, 9).to(dtype)


def _elementwise(depth: torch.Tensor, rot: torch.Tensor, trans: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    H, W = depth.shape[1:]
    pts = dm._rigid_planes(dm._depth_planes(depth, k), rot, trans, 1.0, True)
    return dm._grid_from_planes(pts, k, H, W)


def test_same_values_and_gradients_as_the_elementwise_form():
    depth, rot, trans, K = _inputs(torch.float32)
    weight = torch.rand(2, 7, 9, 2, generator=torch.Generator().manual_seed(5))
    results = []
    for fn in (inverse_warp_grid_fused, _elementwise):
        leaves = [t.clone().requires_grad_() for t in (depth, rot, trans)]
        grid = fn(*leaves, K, 1.0) if fn is inverse_warp_grid_fused else fn(*leaves, K)
        (grid * weight).sum().backward()
        results.append((grid.detach(), [t.grad for t in leaves]))
    assert torch.equal(results[0][0], results[1][0])  # the same operations in the same order
    for got, want in zip(results[0][1], results[1][1]):
        assert torch.allclose(got, want, rtol=1e-5, atol=1e-6)


def test_gradcheck_depth_rotation_translation():
    depth, rot, trans, K = _inputs(torch.float64)
    leaves = [t.requires_grad_() for t in (depth, rot, trans)]
    assert torch.autograd.gradcheck(lambda d, r, t: inverse_warp_grid_fused(d, r, t, K, 1.0), leaves, atol=1e-6)
