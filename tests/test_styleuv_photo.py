"""``toonlift styleuv --image``: scikit-image's astronaut end to end on the shipped generator (tiny step counts,
about 6 s on a loaded 2-core machine, so not marked slow), and every bad input refused with one message and exit
code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from toonlift.cli import main
from toonlift.stages.styleuv.command import read_latent
from toonlift.stages.styleuv.tiny import write_tiny_models


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> list[str]:
    """The command's model options for the 16-px tiny generator, its parts and an untrained UV generator."""
    from toonlift.plugins.export import load_model
    from toonlift.stages.styleuv.uv_generator import UVGenerator, save_uv_generator

    folder = tmp_path_factory.mktemp("tiny")
    paths = write_tiny_models(folder)
    uv = save_uv_generator(folder / "uv.safetensors", UVGenerator(load_model(paths["generator_path"])))
    return ["--generator", paths["generator_path"], "--parts", paths["parts_path"], "--uv-generator", str(uv)]


def _refused(capsys, argv: list[str], *words: str) -> str:
    assert main(["styleuv", *argv]) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err, err
    assert "Traceback" not in err and err.count("toonlift: error:") == 1
    return err


def test_bad_images_are_refused_with_one_message(tmp_path: Path, tiny: list[str], capsys) -> None:
    out = ["--out", str(tmp_path / "out"), *tiny]
    _refused(capsys, ["--image", str(tmp_path / "none.png"), *out], "none.png")
    (tmp_path / "bytes.png").write_bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    _refused(capsys, ["--image", str(tmp_path / "bytes.png"), *out], "bytes.png")
    _refused(capsys, ["--image", str(tmp_path), *out], str(tmp_path))  # a folder
    Image.fromarray(np.full((256, 256, 3), 128, np.uint8)).save(tmp_path / "blank.png")
    _refused(capsys, ["--image", str(tmp_path / "blank.png"), *out], "No face was found", "toonlift styleuv --image")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "small.png")
    _refused(capsys, ["--image", str(tmp_path / "small.png"), *out], "small.png")
    assert not (tmp_path / "out" / "styleuv.json").exists()


def test_bad_options_are_refused_before_the_image_is_read(tmp_path: Path, tiny: list[str], capsys) -> None:
    out = ["--out", str(tmp_path / "out"), *tiny]
    _refused(capsys, ["--image", str(tmp_path / "none.png"), "--steps", "0", *out], "--steps")
    _refused(capsys, ["--image", str(tmp_path / "none.png"), "--detector", "hog", *out], "hog", "dlib68")
    _refused(capsys, ["--image", "x.png", "--out", str(tmp_path / "o"), *tiny[:4], "--uv-generator", "no.st"], "no.st")


def test_astronaut_through_the_shipped_generator(tmp_path: Path) -> None:
    """The astronaut's face framed and inverted into the shipped 64-px generator (30 projector steps), untrained
    parts and UV generator of its size (the wiring, not the quality): every file, a falling projection residual,
    and a latent file that ``--latent`` reads back."""
    skimage_data = pytest.importorskip("skimage.data")
    from toonlift.stages.styleuv.assets import load_photo_generator
    from toonlift.stages.styleuv.parts import save_parts
    from toonlift.stages.styleuv.tiny import tiny_parts
    from toonlift.stages.styleuv.uv_generator import UVGenerator, save_uv_generator

    Image.fromarray(skimage_data.astronaut()).save(tmp_path / "astronaut.png")
    g = load_photo_generator()
    torch.manual_seed(0)
    parts = save_parts(tmp_path / "parts.safetensors", tiny_parts(g.num_ws, g.w_dim))
    uv = save_uv_generator(tmp_path / "uv.safetensors", UVGenerator(g))
    out = tmp_path / "out"
    argv = ["styleuv", "--image", str(tmp_path / "astronaut.png"), "--out", str(out), "--parts", str(parts),
            "--uv-generator", str(uv), "--size", "32", "--steps", "30"]  # fmt: skip
    assert main(argv) == 0
    for name in ("face.obj", "face.glb", "views.png", "edits.png", "styleuv.png", "photo.png", "projection.png"):
        assert (out / name).is_file(), name
    info = json.loads((out / "styleuv.json").read_text())
    proj = info["input"]["projection"]
    assert proj["steps"] == 30 and not proj["per_layer_w"]
    assert proj["loss_last"] < 0.8 * proj["loss_first"] and proj["mse_last"] < proj["mse_first"]
    assert proj["l1"] < 0.5  # mean |G(w) - crop| in [-1, 1]
    box = info["input"]["face_box"]
    assert 150 < box[0] < box[2] < 300 and box[1] < box[3] < 250  # the astronaut's face, not the badge
    w = read_latent(out / "latent.safetensors", g.num_ws)
    assert w.shape == (1, g.num_ws, g.w_dim) and torch.allclose(w[0, 0], w[0, -1])  # one w broadcast
    assert Image.open(out / "views.png").size[0] == 12 * 32 + 13 * 2  # crop, G(w), own pose, 9 yaws (+ padding)


def test_per_layer_projection_frees_the_w_plus_rows(tiny: list[str]) -> None:
    """``--per-layer-w``: the projector optimises one code per layer (rows differ); the default one ``w``."""
    from toonlift.plugins.export import load_model
    from toonlift.stages.styleuv.photo_input import project_crop

    g = load_model(tiny[1], kind="backbones").eval().requires_grad_(False)
    crop = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    free, target, image, info = project_crop(g, crop, steps=5, per_layer=True)
    assert free.shape == (1, g.num_ws, g.w_dim) and target.shape == image.shape == (1, 3, g.size, g.size)
    assert not torch.allclose(free[0, 0], free[0, -1]) and info["per_layer_w"]
    one, *_ = project_crop(g, crop, steps=5)
    assert torch.equal(one[0, 0], one[0, -1])
