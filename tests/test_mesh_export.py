"""Mesh export: OBJ/GLB/PLY round trips through trimesh, winding vs. normals, UVs not mirrored, bad input."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch
import trimesh

from toonlift.errors import DataError, NonFiniteError
from toonlift.export.mesh_export import depth_map_to_mesh, export_mesh, mesh_from_tensors
from toonlift.functional.camera import fov_to_intrinsics


def _depth_and_texture(h: int = 12, w: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
    depth = 1.0 - 0.05 * (1 - xx**2 - yy**2)  # a bump towards the camera
    tex = torch.stack([xx, yy, torch.zeros_like(xx)], 0)
    tex[:, :3, :4] = torch.tensor([1.0, -1.0, -1.0])[:, None, None]  # red block at the top-left
    return depth, tex


def _mesh():
    depth, tex = _depth_and_texture()
    return depth_map_to_mesh(depth, fov_to_intrinsics(10.0, (12, 16)), tex), tex


def _sample(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Nearest texel at OBJ-convention UVs (v up, row 0 = top)."""
    h, w = image.shape[:2]
    cols = np.clip(np.floor(uv[:, 0] * w), 0, w - 1).astype(int)
    rows = np.clip(np.floor((1 - uv[:, 1]) * h), 0, h - 1).astype(int)
    return image[rows, cols, :3]


def test_depth_mesh_geometry_uvs_and_facing():
    mesh, tex = _mesh()
    assert mesh.vertices.shape == (12 * 16, 3) and mesh.faces.shape == (2 * 11 * 15, 3)
    # export frame: +Y up (top image row has the largest y), +Z towards the viewer (the bump's middle is highest)
    v = mesh.vertices.reshape(12, 16, 3)
    assert v[0, 8, 1] > v[-1, 8, 1] and v[6, -1, 0] > v[6, 0, 0]
    assert v[6, 8, 2] > v[0, 0, 2]
    # winding agrees with normals, and the surface faces +Z (the viewer)
    tm = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    assert (tm.face_normals[:, 2] > 0).all()
    assert ((tm.vertex_normals * mesh.normals).sum(1) > 0.99).all()
    # each vertex reads its own pixel's colour from the texture (no mirroring)
    pix = (tex.permute(1, 2, 0).reshape(-1, 3).clamp(-1, 1).add(1).mul(127.5).round()).numpy()
    assert np.abs(_sample(mesh.texture, mesh.uv).astype(float) - pix).max() == 0


def test_obj_round_trip(tmp_path):
    mesh, _ = _mesh()
    paths = export_mesh(mesh, tmp_path / "face.obj")
    assert {p.name for p in paths} == {"face.obj", "face.mtl", "face.png"}
    loaded = trimesh.load(tmp_path / "face.obj", process=False, maintain_order=True)
    assert np.allclose(loaded.vertices, mesh.vertices, atol=1e-6)
    assert np.array_equal(loaded.faces, mesh.faces)
    assert np.allclose(loaded.visual.uv, mesh.uv, atol=1e-6)
    img = np.asarray(loaded.visual.material.image.convert("RGB"))
    assert np.array_equal(img, mesh.texture)


def test_glb_round_trip_keeps_uvs_and_texture(tmp_path):
    mesh, _ = _mesh()
    export_mesh(mesh, tmp_path / "face.glb")
    scene = trimesh.load(tmp_path / "face.glb", process=False)
    loaded = next(iter(scene.geometry.values())) if isinstance(scene, trimesh.Scene) else scene
    assert np.allclose(loaded.vertices, mesh.vertices, atol=1e-6)
    assert np.array_equal(loaded.faces, mesh.faces)
    assert np.allclose(loaded.visual.uv, mesh.uv, atol=1e-6)
    img = np.asarray(loaded.visual.material.baseColorTexture.convert("RGB"))
    assert np.array_equal(_sample(img, loaded.visual.uv), _sample(mesh.texture, mesh.uv))
    assert np.allclose(loaded.vertex_normals, mesh.normals, atol=1e-3)


def test_glb_raw_file_stores_v_downwards(tmp_path):
    """glTF puts the UV origin at the top-left: the raw TEXCOORD_0 must hold ``1 - v`` of the OBJ convention."""
    mesh, _ = _mesh()
    export_mesh(mesh, tmp_path / "face.glb")
    raw = (tmp_path / "face.glb").read_bytes()
    json_len = struct.unpack_from("<I", raw, 12)[0]
    doc = json.loads(raw[20 : 20 + json_len])
    binary = raw[20 + json_len + 8 :]
    accessor = doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"]["TEXCOORD_0"]]
    view = doc["bufferViews"][accessor["bufferView"]]
    start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
    stored = np.frombuffer(binary, dtype="<f4", count=accessor["count"] * 2, offset=start).reshape(-1, 2)
    assert np.allclose(stored[:, 0], mesh.uv[:, 0], atol=1e-6)
    assert np.allclose(stored[:, 1], 1.0 - mesh.uv[:, 1], atol=1e-6)
    assert stored[0, 1] == pytest.approx(0.5 / 12)  # the top-left pixel is near the top of the texture


def test_ply_round_trip_with_colours(tmp_path):
    mesh, _ = _mesh()
    export_mesh(mesh, tmp_path / "face.ply")
    loaded = trimesh.load(tmp_path / "face.ply", process=False)
    assert np.allclose(loaded.vertices, mesh.vertices, atol=1e-6)
    assert np.array_equal(loaded.faces, mesh.faces)
    assert np.array_equal(loaded.visual.vertex_colors[:, :3], _sample(mesh.texture, mesh.uv))


def test_mask_drops_triangles_and_reindexes():
    depth, tex = _depth_and_texture()
    mask = torch.zeros(12, 16, dtype=torch.bool)
    mask[2:6, 3:9] = True
    mesh = depth_map_to_mesh(depth, fov_to_intrinsics(10.0, (12, 16)), tex, mask=mask)
    assert mesh.vertices.shape == (4 * 6, 3) and mesh.faces.shape == (2 * 3 * 5, 3)
    assert mesh.faces.max() == 23


def test_any_textured_mesh_to_glb(tmp_path):
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]])
    f = torch.tensor([[0, 1, 2], [1, 3, 2]])
    uv = torch.tensor([[0.0, 0], [1, 0], [0, 1], [1, 1]])
    mesh = mesh_from_tensors(v, f, uv, torch.zeros(3, 4, 4))
    export_mesh(mesh, tmp_path / "quad.glb")
    loaded = next(iter(trimesh.load(tmp_path / "quad.glb", process=False).geometry.values()))
    assert np.allclose(loaded.visual.uv, uv.numpy()) and np.array_equal(loaded.faces, f.numpy())


def test_bad_inputs_raise_clear_errors(tmp_path):
    depth, tex = _depth_and_texture()
    K = fov_to_intrinsics(10.0, (12, 16))
    with pytest.raises(NonFiniteError):
        depth_map_to_mesh(depth.clone().fill_(float("nan")), K)
    with pytest.raises(DataError):
        depth_map_to_mesh(depth, K, tex, mask=torch.zeros(12, 16, dtype=torch.bool))
    with pytest.raises(DataError):
        depth_map_to_mesh(depth, K, tex[:, :5])
    mesh, _ = _mesh()
    with pytest.raises(DataError):
        export_mesh(mesh, tmp_path / "face.fbx")
    assert not (tmp_path / "face.fbx").exists()
