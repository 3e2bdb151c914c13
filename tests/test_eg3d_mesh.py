"""Marching-cubes meshes from the EG3D density field, written through toonlift's mesh export."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.eg3d_helpers import seeded
from toonlift.errors import DataError
from toonlift.export.mesh_export import export_mesh, mesh_from_tensors
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.decoder import TriplaneDecoder
from toonlift.plugins.eg3d.mesh import density_grid_from_planes, extract_mesh, mesh_from_density

pytest.importorskip("skimage")


def sphere_field(res: int = 64) -> tuple[torch.Tensor, TriplaneDecoder]:
    """Planes holding ``-(u^2 + v^2)`` and a decoder ``sigma = 10 softplus(feature)``. With EG3D's plane axes
    ``(x, y), (x, z), (z, x)`` the mean feature is ``-(3 x^2 + y^2 + 2 z^2) / 3``: level sets are ellipsoids."""
    t = (torch.arange(res) + 0.5) / res * 2 - 1
    v, u = torch.meshgrid(t, t, indexing="ij")
    planes = (-(u.square() + v.square())).expand(1, 3, 1, res, res).clone()
    dec = TriplaneDecoder(1, 3, hidden=1)
    with torch.no_grad():
        dec.fc0.weight.fill_(1.0), dec.fc0.bias.zero_()
        dec.fc1.weight.zero_(), dec.fc1.bias.zero_()
        dec.fc1.weight[0, 0] = 10.0
    return planes, dec


def test_ellipsoid_surface_and_outward_winding() -> None:
    planes, dec = sphere_field()
    box, r = 1.0, 0.4
    level = 10 * math.log1p(math.exp(-r * r))
    sigma = density_grid_from_planes(planes, dec, box, 48)
    verts, faces = mesh_from_density(sigma, level, box)
    x, y, z = (verts * 2 / box).unbind(1)
    implicit = (3 * x.square() + y.square() + 2 * z.square()) / 3
    assert (implicit - r * r).abs().max() < 0.003  # r^2 = 0.16; measured 8.7e-4 (grid + bilinear error)
    assert abs(float(implicit.mean()) - r * r) < 0.002
    # half-axes follow the plane layout: x shortest, y longest
    assert float(verts[:, 0].abs().max()) < float(verts[:, 2].abs().max()) < float(verts[:, 1].abs().max())
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    normals = torch.cross(b - a, c - a, dim=1)
    outward = (normals * (a + b + c)).sum(1) > 0
    assert outward.float().mean() > 0.99
    with pytest.raises(DataError, match="has no surface"):
        mesh_from_density(sigma, float(sigma.max()) + 1, box)


def test_generator_mesh_exports(tmp_path: Path) -> None:
    torch.manual_seed(0)
    g = seeded(EG3DBackbone(**EG3DBackbone.example_args(tmp_path)), 5)
    ws = g.mapping(torch.randn(1, 16), g.default_cond(1))
    sigma = density_grid_from_planes(g.synthesize_planes(ws), g.decoder, g.render_options.box_warp, 24)
    verts, faces, colors = extract_mesh(g, ws, resolution=24, level=float(sigma.median()))
    assert verts.abs().max() <= g.render_options.box_warp / 2 + 1e-6
    assert colors.shape == verts.shape and colors.abs().max() <= 1
    files = export_mesh(mesh_from_tensors(verts, faces, vertex_colors=colors), tmp_path / "head.ply")
    import trimesh

    loaded = trimesh.load(files[0], process=False)
    assert len(loaded.vertices) == len(verts) and len(loaded.faces) == len(faces)


def test_views_command_writes_grids_and_meshes(tmp_path: Path) -> None:
    from PIL import Image

    from toonlift.cli import main
    from toonlift.plugins.export import save_model

    torch.manual_seed(0)
    g = seeded(EG3DBackbone(**EG3DBackbone.example_args(tmp_path)), 5)
    path = save_model(g, tmp_path / "g.safetensors")
    ws = g.mapping(torch.randn(1, 16), g.default_cond(1))
    level = float(density_grid_from_planes(g.synthesize_planes(ws), g.decoder, g.render_options.box_warp, 16).median())
    args = ["eg3d-views", "--generator", str(path), "--output_dir", str(tmp_path / "out"), "--seeds", "[0, 1]",
            "--yaws", "[-20, 0, 20]", "--mesh_resolution", "16", "--mesh_level", str(level),
            "--rotation_frames", "6"]  # fmt: skip
    assert main(args) == 0
    grid = Image.open(tmp_path / "out" / "views.png")
    assert grid.size == (3 * (16 + 2) + 2, 2 * (16 + 2) + 2)
    assert (tmp_path / "out" / "depth.png").is_file() and (tmp_path / "out" / "seed0001.ply").stat().st_size > 0
    gif = Image.open(tmp_path / "out" / "seed0000_rotation.gif")
    assert gif.n_frames == 6 and gif.size == (16, 16)
    both = Image.open(tmp_path / "out" / "rotation.gif")  # the two seeds side by side, seed 0 on the left
    assert both.n_frames == 6 and both.size == (32, 16)
    for frame in (0, 3):
        gif.seek(frame)
        both.seek(frame)
        left = np.asarray(both.convert("RGB"))[:, :16].astype(int)
        assert np.abs(left - np.asarray(gif.convert("RGB")).astype(int)).mean() < 8  # GIF palettes differ
