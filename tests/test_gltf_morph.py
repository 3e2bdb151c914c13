"""GLB with named morph targets: what is written reads back (trimesh for the base mesh, our reader for targets)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

from toonlift.errors import DataError
from toonlift.export.gltf_morph import MorphMesh, load_morph_glb, morph_mesh_from_offsets, save_morph_glb
from toonlift.export.mesh_export import mesh_from_tensors


def _sphere_mesh(textured: bool):
    torch.manual_seed(0)
    lat, lon = torch.meshgrid(torch.linspace(0.2, 2.9, 9), torch.linspace(0, 6.0, 12), indexing="ij")
    v = torch.stack([lat.sin() * lon.cos(), lat.cos(), lat.sin() * lon.sin()], -1).reshape(-1, 3)
    faces = []
    for i in range(8):
        for j in range(11):
            a, b, c, d = i * 12 + j, i * 12 + j + 1, (i + 1) * 12 + j, (i + 1) * 12 + j + 1
            faces += [(a, b, c), (b, d, c)]
    f = torch.tensor(faces)
    if textured:
        uv = torch.rand(len(v), 2)
        return mesh_from_tensors(v, f, uv=uv, texture=torch.rand(3, 8, 16) * 2 - 1)
    return mesh_from_tensors(v, f, vertex_colors=torch.rand(len(v), 3) * 2 - 1)


@pytest.mark.parametrize(("textured", "sparse"), [(True, True), (False, True), (False, False)])
def test_round_trip_base_and_targets(tmp_path, textured: bool, sparse: bool) -> None:
    import trimesh

    mesh = _sphere_mesh(textured)
    rng = np.random.default_rng(1)
    offsets = rng.normal(0, 0.1, (3, len(mesh.vertices), 3)).astype(np.float32)
    offsets[1, 20:] = 0  # a local target: stored sparse (moved vertices and their normals' 1-ring only)
    morph = morph_mesh_from_offsets(mesh, offsets, ["jaw_open", "blink_left", "smile_right"])
    path = save_morph_glb(morph, tmp_path / "avatar.glb", sparse=sparse)
    doc = json.loads(path.read_bytes()[20 : 20 + struct.unpack("<I", path.read_bytes()[12:16])[0]])
    n_sparse = sum("sparse" in a for a in doc["accessors"])
    assert n_sparse == (2 if sparse else 0)  # POSITION and NORMAL of the local target

    loaded = trimesh.load(path, force="mesh", process=False)
    np.testing.assert_allclose(np.asarray(loaded.vertices), mesh.vertices, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(loaded.faces), mesh.faces)

    back = load_morph_glb(path)
    assert back.names == ["jaw_open", "blink_left", "smile_right"]
    np.testing.assert_allclose(back.targets, offsets, atol=1e-6)
    np.testing.assert_allclose(back.normal_targets, morph.normal_targets, atol=1e-6)
    np.testing.assert_allclose(back.mesh.vertices, mesh.vertices, atol=1e-6)
    np.testing.assert_allclose(back.mesh.normals, mesh.normals, atol=1e-6)
    np.testing.assert_array_equal(back.mesh.faces, mesh.faces)
    np.testing.assert_array_equal(back.weights, np.zeros(3))
    if textured:
        np.testing.assert_allclose(back.mesh.uv, mesh.uv, atol=1e-6)
        np.testing.assert_array_equal(back.mesh.texture, mesh.texture)
    else:
        np.testing.assert_array_equal(back.mesh.vertex_colors, mesh.vertex_colors)


def test_names_are_where_three_js_reads_them(tmp_path) -> None:
    mesh = _sphere_mesh(False)
    offsets = np.zeros((2, len(mesh.vertices), 3), np.float32)
    offsets[1, 0] = 0.5
    path = save_morph_glb(MorphMesh(mesh, offsets, ["a", "b"]), tmp_path / "m.glb")
    data = path.read_bytes()
    magic, version, _ = struct.unpack("<4sII", data[:12])
    assert (magic, version) == (b"glTF", 2)
    (length,) = struct.unpack("<I", data[12:16])
    doc = json.loads(data[20 : 20 + length])
    assert doc["meshes"][0]["extras"]["targetNames"] == ["a", "b"]
    targets = doc["meshes"][0]["primitives"][0]["targets"]
    assert len(targets) == 2
    acc = doc["accessors"][targets[1]["POSITION"]]
    assert acc["max"][0] == pytest.approx(0.5) and acc["min"][0] == 0.0  # bounds are required on morph POSITION


def test_bad_targets_are_refused() -> None:
    mesh = _sphere_mesh(False)
    with pytest.raises(DataError, match="one offset per vertex"):
        MorphMesh(mesh, np.zeros((1, 5, 3)), ["a"])
    with pytest.raises(DataError, match="unique name"):
        MorphMesh(mesh, np.zeros((2, len(mesh.vertices), 3)), ["a", "a"])


def test_prune_zeroes_only_small_moves() -> None:
    mesh = _sphere_mesh(False)
    offsets = np.zeros((1, len(mesh.vertices), 3), np.float32)
    offsets[0, :5] = 1e-5
    offsets[0, 5:10] = [0.2, 0.0, 0.0]
    morph = morph_mesh_from_offsets(mesh, offsets, ["a"], prune=1e-4)
    assert np.abs(morph.targets[0, :5]).max() == 0
    np.testing.assert_array_equal(morph.targets[0, 5:10], offsets[0, 5:10])
    assert np.abs(morph.normal_targets[0]).max() > 0.01
