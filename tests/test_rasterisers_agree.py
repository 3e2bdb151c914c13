"""The two z-buffers -- ``functional.rasterize`` (differentiable renderers) and ``synthetic.raster`` (data
generation) -- see the same surface: same visible triangle, depth and barycentrics on the same mesh.

They differ only in conventions at the margins: ``functional`` covers pixel centres within ``1e-4`` px outside an
edge and compares float32 depths, ``synthetic`` needs the centre inside (``>= 0``) and compares depths quantised to
``2**-27``. So a few pixels on silhouette edges or at near-equal depths may differ; nothing else may.
"""

from __future__ import annotations

import math

import torch

from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.functional.rasterize import interpolate, rasterize
from toonlift.synthetic import raster as synthetic_raster


def _sphere(n_lat: int, n_lon: int, radius: float, centre_z: float) -> tuple[torch.Tensor, torch.Tensor]:
    """A UV sphere ``[1, V, 3]`` in camera space and its faces ``[F, 3]``."""
    th = torch.linspace(0.05, math.pi - 0.05, n_lat)
    ph = torch.linspace(0, 2 * math.pi, n_lon + 1)[:-1]
    t, p = torch.meshgrid(th, ph, indexing="ij")
    v = torch.stack([radius * t.sin() * p.cos(), radius * t.cos(), radius * t.sin() * p.sin() + centre_z], -1)
    idx = torch.arange(n_lat * n_lon).reshape(n_lat, n_lon)
    nxt = idx.roll(-1, 1)
    a = torch.stack([idx[:-1], nxt[:-1], idx[1:]], -1).reshape(-1, 3)
    b = torch.stack([nxt[:-1], nxt[1:], idx[1:]], -1).reshape(-1, 3)
    return v.reshape(1, -1, 3), torch.cat([a, b])


def test_both_rasterisers_agree_on_a_sphere_and_a_pair_of_spheres():
    size = 64
    K = fov_to_intrinsics(10.0, size)
    v1, f1 = _sphere(24, 40, 0.07, 1.0)  # ~1900 triangles of 1-3 px
    v2, f2 = _sphere(12, 20, 0.04, 1.05)  # a second sphere, partly behind the first: occlusion
    v2 = v2 + torch.tensor([0.05, 0.02, 0.0])
    meshes = [(v1, f1), (torch.cat([v1, v2], 1), torch.cat([f1, f2 + v1.shape[1]]))]
    for verts, faces in meshes:
        screen = project(verts, K)
        ours = rasterize(screen, faces, size)
        data = synthetic_raster.rasterize(screen, faces, size, size, cull_backfaces=False)
        both = ours.mask & data.mask
        assert ours.mask.sum() > 0.25 * size * size
        # coverage differs only on silhouette pixels within 1e-4 px of an edge: none or a handful
        assert (ours.mask != data.mask).sum() <= 3
        same = both & (ours.face_id == data.face_index)
        assert same.sum() >= both.sum() - 3  # near-equal depths may break ties differently
        assert torch.allclose(ours.depth[same], data.depth[same], rtol=1e-5, atol=0)
        assert torch.allclose(ours.bary[same], data.bary[same], atol=1e-4)
        colours = torch.rand(1, verts.shape[1], 3)
        got = interpolate(colours, faces, ours)
        ref = synthetic_raster.interpolate(data, faces, colours)
        assert torch.allclose(got[same], ref[same], atol=1e-4)
