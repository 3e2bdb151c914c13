"""Depth-map normals: the hand-written backward against autograd through the element-wise form."""

from __future__ import annotations

import torch

from toonlift.functional.camera import fov_to_intrinsics
from toonlift.functional.shading import depth_normal_planes, depth_normal_planes_elementwise


def _depth(dtype: torch.dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(6)
    depth = (0.95 + 0.1 * torch.rand(2, 8, 9, generator=g)).to(dtype)
    depth[1, 2:5, 2:6] = 1.0  # a flat patch
    return depth


def test_same_values_and_gradients_as_the_elementwise_form():
    depth, K = _depth(torch.float32), fov_to_intrinsics(10.0, 9)
    weights = [torch.rand(2, 8, 9, generator=torch.Generator().manual_seed(k)) for k in range(3)]
    results = []
    for fn in (depth_normal_planes, depth_normal_planes_elementwise):
        leaf = depth.clone().requires_grad_()
        planes = fn(leaf, K)
        sum((p * w).sum() for p, w in zip(planes, weights)).backward()
        results.append((planes, leaf.grad))
    for got, want in zip(results[0][0], results[1][0]):
        assert torch.equal(got, want)  # the same operations in the same order
    assert torch.allclose(results[0][1], results[1][1], rtol=0, atol=1e-5 * results[1][1].abs().max())


def test_gradcheck_and_unused_components():
    depth, K = _depth(torch.float64).requires_grad_(), fov_to_intrinsics(10.0, 9).double()
    assert torch.autograd.gradcheck(lambda d: depth_normal_planes(d, K), (depth,), atol=1e-6)
    depth_normal_planes(depth, K)[2].sum().backward()  # n_x and n_y unused: their gradients are None
    assert torch.isfinite(depth.grad).all()
