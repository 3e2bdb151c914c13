"""``toonlift avatar``: a world photo end to end (fast settings), the astronaut (slow), and every refusal."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from toonlift.cli import main
from toonlift.export.gltf_morph import load_morph_glb
from toonlift.stages.rig_fit.photo_face import choose_face, detect_faces
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params

FAST = ["--detail", "low", "--fit-size", "64", "--landmark-steps", "150", "--photo-steps", "3", "--texture-size", "128"]


def world_photo(index: int = 3, size: int = 256) -> np.ndarray:
    """A frontal world photo render ``[S, S, 3]`` uint8 (seed 0, index 3: dlib's HOG detector finds it, score 1.6)."""
    p = sample_params(0, [index])
    p = type(p)(**{**p.__dict__, "pose": p.pose * 0})
    image = FaceRenderer()(p, "photo", size, outputs=("image",))["image"][0]
    return ((image.permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255).byte().numpy()


@pytest.fixture(scope="module")
def world_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("avatar")
    Image.fromarray(world_photo()).save(folder / "face.png")
    out = folder / "out"
    assert main(["avatar", "--image", str(folder / "face.png"), "--out", str(out), *FAST]) == 0
    return out


def test_world_photo_gives_every_file_and_a_rigged_textured_glb(world_run) -> None:
    out = world_run
    for name in (
        "avatar.obj",
        "avatar.mtl",
        "avatar.png",
        "avatar.glb",
        "viewer.html",
        "animation.json",
        "depth.png",
        "normal.png",
        "rotation.gif",
        "render.png",
        "toon.png",
        "summary.png",
        "metrics.json",
    ):
        assert (out / name).is_file(), name
    assert not [p for p in os.listdir(out.parent) if p.startswith(".")]  # the temporary folder was renamed
    glb = load_morph_glb(out / "avatar.glb")
    assert len(glb.names) >= 46 and "jaw_open" in glb.names and "eye_look_up_left" in glb.names
    assert glb.mesh.texture is not None and glb.mesh.texture.shape == (128, 128, 3)
    assert glb.mesh.uv is not None and np.abs(glb.targets).max(axis=(1, 2)).min() > 0  # every target moves something
    import pygltflib

    raw = pygltflib.GLTF2().load_binary(str(out / "avatar.glb"))
    assert raw.images and raw.textures and raw.materials[0].pbrMetallicRoughness.baseColorTexture.index == 0
    assert len(raw.meshes[0].extras["targetNames"]) == len(raw.meshes[0].primitives[0].targets) >= 46
    assert Image.open(out / "depth.png").mode.startswith("I")  # 16-bit depth
    assert Image.open(out / "rotation.gif").n_frames == 12
    assert (out / "rotation.mp4").stat().st_size > 1000


def test_world_photo_metrics(world_run) -> None:
    m = json.loads((world_run / "metrics.json").read_text())
    r = m["landmark_residual_px"]
    assert r["coarse"] < r["start"] and r["coarse"] < 12.0  # dlib's points on a world render, 256-px crop
    if r["fine_gated"]:  # the gate keeps a coarse fit already within 3 px (rigtrain's rule)
        assert r["coarse"] < 3.0 and r["fine"] == pytest.approx(r["coarse"], abs=1e-3)
    else:  # the Laplacian step pulls the landmark vertices onto the detections
        assert r["coarse"] >= 3.0 and r["fine"] < 0.25 * r["coarse"]
    groups = ("contour", "brow", "nose", "eyes", "mouth")
    weighted = sum(r[f"coarse_{g}"] * n for g, n in zip(groups, (17, 10, 9, 12, 20))) / 68
    assert weighted == pytest.approx(r["coarse"], rel=1e-3)  # the groups partition the 68 points
    assert -1.0 <= m["dlib_resnet_similarity"]["cosine"] <= 1.0 and m["dlib_resnet_similarity"]["distance"] > 0
    assert set(m["seconds"]) == {"detect", "landmarks", "coarse", "fine", "texture", "rig", "files", "similarity"}
    assert m["cartoon"] is None
    assert m["morph_targets"] >= 46 and 0.02 < m["texels_from_photo"] < 0.6
    assert len(m["latent"]) == 53 and m["coarse_start"].startswith("prior mean")


def _refused(capsys, argv, *words) -> str:
    assert main(["avatar", *argv]) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("kind", ["blank", "noise", "chelsea"])
def test_no_face_is_refused_and_nothing_is_written(tmp_path, capsys, kind) -> None:
    if kind == "blank":
        image = np.full((256, 256, 3), 128, np.uint8)
    elif kind == "noise":
        image = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    else:
        skimage_data = pytest.importorskip("skimage.data")
        image = skimage_data.chelsea()  # a cat: no human face
    Image.fromarray(image).save(tmp_path / "in.png")
    _refused(capsys, ["--image", str(tmp_path / "in.png"), "--out", str(tmp_path / "out")], "No face was found")
    assert sorted(os.listdir(tmp_path)) == ["in.png"]


def test_unreadable_and_missing_images_are_refused(tmp_path, capsys) -> None:
    (tmp_path / "bytes.png").write_bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    _refused(capsys, ["--image", str(tmp_path / "bytes.png"), "--out", str(tmp_path / "out")], "bytes.png")
    _refused(capsys, ["--image", str(tmp_path / "none.png"), "--out", str(tmp_path / "out")], "none.png")
    assert sorted(os.listdir(tmp_path)) == ["bytes.png"]


def test_several_faces_the_largest_is_chosen_and_face_n_is_checked(tmp_path, capsys) -> None:
    canvas = np.full((320, 640, 3), 235, np.uint8)
    canvas[32:288, 16:272] = world_photo(3, 256)
    canvas[80:272, 400:592] = np.asarray(Image.fromarray(world_photo(2, 256)).resize((192, 192)))
    faces = detect_faces(canvas)
    assert len(faces) == 2 and faces[0].box[0] < 320 < faces[1].box[0]  # largest first
    face, note = choose_face(faces, None, "two.png")
    assert face is faces[0] and "2 faces" in note and "largest" in note and "--face" in note
    assert choose_face(faces, 1, "two.png")[0] is faces[1]
    Image.fromarray(canvas).save(tmp_path / "two.png")
    _refused(
        capsys,
        ["--image", str(tmp_path / "two.png"), "--out", str(tmp_path / "o"), "--face", "2"],
        "--face 2",
        "2 face(s) were found",
    )
    assert not (tmp_path / "o").exists()


def test_bad_options_are_refused(tmp_path, capsys) -> None:
    Image.fromarray(world_photo()).save(tmp_path / "f.png")
    _refused(
        capsys, ["--image", str(tmp_path / "f.png"), "--out", str(tmp_path / "o"), "--fit-size", "8"], "--fit-size"
    )
    (tmp_path / "file").write_text("x")
    _refused(capsys, ["--image", str(tmp_path / "f.png"), "--out", str(tmp_path / "file")], "is a file")


@pytest.mark.slow
def test_astronaut_end_to_end(tmp_path) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    Image.fromarray(skimage_data.astronaut()).save(tmp_path / "astronaut.png")
    torch.manual_seed(0)
    assert main(["avatar", "--image", str(tmp_path / "astronaut.png"), "--out", str(tmp_path / "out")]) == 0
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert m["landmark_residual_px"]["coarse"] < 8.0 and m["landmark_residual_px"]["fine"] < 0.5
    assert m["dlib_resnet_similarity"]["distance"] < 0.6  # dlib's same-person threshold
    assert len(load_morph_glb(tmp_path / "out" / "avatar.glb").names) >= 46


def test_cartoonise_through_the_shipped_pair_keeps_the_crop_size(tmp_path, capsys) -> None:
    from toonlift.demo.assets import shipped_path
    from toonlift.stages.rig_fit.cartoonise import cartoonise

    crop = torch.from_numpy(world_photo()).permute(2, 0, 1)[None].float() / 127.5 - 1
    photo_g, cartoon_g = shipped_path("photo"), shipped_path("cartoon")
    cartoon, info = cartoonise(crop, photo_g, cartoon_g, steps=20)
    assert cartoon.shape == crop.shape and info["generator_size"] == 64 and info["distance"] == "pixel mse"
    assert info["projection"].shape == crop.shape and 0 < info["projection_l1"] < 0.5
    assert (cartoon - info["projection"]).abs().mean() > 0.02  # the cartoon twin draws the same w differently
    Image.fromarray(world_photo()).save(tmp_path / "f.png")
    _refused(
        capsys,
        ["--image", str(tmp_path / "f.png"), "--out", str(tmp_path / "o"), "--cartoon-generator", str(cartoon_g)],
        "--generator",
    )


@pytest.mark.slow
def test_cartoon_generator_option_end_to_end(tmp_path) -> None:
    from toonlift.demo.assets import shipped_path

    Image.fromarray(world_photo()).save(tmp_path / "f.png")
    argv = [
        "avatar",
        "--image",
        str(tmp_path / "f.png"),
        "--out",
        str(tmp_path / "o"),
        *FAST,
        "--cartoon-steps",
        "20",
        "--generator",
        str(shipped_path("photo")),
        "--cartoon-generator",
        str(shipped_path("cartoon")),
    ]
    assert main(argv) == 0
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["cartoon"]["projection_steps"] == 20 and "cartoonise" in m["seconds"]
    assert (tmp_path / "o" / "cartoon.png").is_file()


def test_glb_at_its_default_weights_is_the_fitted_face(world_run) -> None:
    import trimesh

    glb = load_morph_glb(world_run / "avatar.glb")
    posed = glb.mesh.vertices + np.einsum("k,kvc->vc", glb.weights, glb.targets)
    obj = trimesh.load(world_run / "avatar.obj", process=False, force="mesh")
    assert np.abs(posed - np.asarray(obj.vertices)).max() < 2e-3  # head units; offsets under 1e-4 were pruned
