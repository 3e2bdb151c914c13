"""The rasteriser's hand-differentiated pixel depth and the grid mesh's sliced corners."""

from __future__ import annotations

import pytest
import torch

from toonlift.functional.depth_map import grid_corners, grid_faces
from toonlift.functional.raster_depth import pixel_depth
from toonlift.functional.rasterize import (
    barycentrics_at_pixels,
    corner_indices,
    depth_at_pixels,
    gather_corners,
    rasterize_visibility,
)


@pytest.mark.parametrize("perspective", [True, False])
def test_pixel_depth_gradcheck(perspective: bool):
    g = torch.Generator().manual_seed(1)
    n = 40
    # corner k of pixel i is vertex k * n + i; a few pixels share vertices (rows repeat) to test the scatter
    x, y = (torch.rand(3 * n, generator=g, dtype=torch.float64) * 4 for _ in range(2))
    z = torch.rand(3 * n, generator=g, dtype=torch.float64) + 0.5
    rows = [torch.arange(n) + k * n for k in range(3)]
    rows[0][n // 2 :] = rows[0][: n - n // 2]
    px, py = (torch.rand(n, generator=g, dtype=torch.float64) * 4 for _ in range(2))
    planes = [t.requires_grad_() for t in (x, y, z)]

    def fn(*p: torch.Tensor) -> torch.Tensor:
        return pixel_depth(p, rows, px, py, perspective)

    assert torch.autograd.gradcheck(fn, planes, eps=1e-6, atol=1e-7, rtol=1e-6)
    corners = [int(rows[k][1]) for k in range(3)]
    for k, v in enumerate(corners):  # pixel 1: a degenerate triangle on the line x = 1 (zero area)
        x.data[v], y.data[v] = 1.0, float(k)
    px[1], py[1] = 2.0, 1.0
    depth = fn(*planes)
    depth[1].backward()
    assert depth[1] == 0 and all(t.grad.abs().sum() == 0 for t in planes)


def test_depth_at_pixels_matches_the_autograd_path():
    """Same depth bit for bit as the barycentric path; gradients equal to float64 rounding."""
    g = torch.Generator().manual_seed(2)
    S = 12
    xy = torch.stack(torch.meshgrid(torch.arange(S), torch.arange(S), indexing="xy"), -1).reshape(1, -1, 2)
    v = torch.cat([xy + 0.4 * torch.rand(2, S * S, 2, generator=g), 1 + 0.2 * torch.rand(2, S * S, 1, generator=g)], -1)
    v = v.double()
    faces = grid_faces(S, S)
    face_id = rasterize_visibility(v, faces, S)
    weight = torch.rand(2, S, S, generator=g, dtype=torch.float64)
    grads = []
    for fast in (True, False):
        leaf = v.clone().requires_grad_()
        depth = depth_at_pixels(leaf, faces, face_id) if fast else barycentrics_at_pixels(leaf, faces, face_id)[1]
        (depth * weight).sum().backward()
        grads.append((depth.detach(), leaf.grad))
    assert torch.equal(grads[0][0], grads[1][0])
    assert torch.allclose(grads[0][1], grads[1][1], rtol=1e-10, atol=1e-12)


def test_grid_corners_equal_the_gathered_corners():
    g = torch.Generator().manual_seed(3)
    B, H, W = 2, 5, 7
    planes = [torch.rand(B, H, W, generator=g) for _ in range(3)]
    vertices = torch.stack([p.reshape(B, -1) for p in planes], -1)  # [B, V, 3]
    gathered = gather_corners(vertices, corner_indices(grid_faces(H, W), B, H * W))
    for k, plane in enumerate(planes):
        for got, want in zip(grid_corners(plane), gathered[k]):
            assert torch.equal(got, want)
