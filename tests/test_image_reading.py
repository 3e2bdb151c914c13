"""The one image reader (toonlift.utils.image_reading) and the commands that use it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from toonlift.cli import main
from toonlift.errors import DataError
from toonlift.plugins.stylegan2 import StyleGAN2Backbone, save_generator
from toonlift.plugins.stylegan2.commands import load_image
from toonlift.utils.image_reading import MIN_IMAGE_SIDE, read_image_array, read_image_file, read_image_tensor

MID_GREY_16 = 32896  # 128.5 * 257: mid grey in 16 bits (128 or 129 in 8 bits); clipping reads it as 255


def _sixteen_bit_png(path: Path, size: int = 20) -> Path:
    Image.fromarray(np.full((size, size), MID_GREY_16, np.uint16)).save(path)
    return path


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    path = _sixteen_bit_png(tmp_path / "g16.png")
    with Image.open(path) as img:
        assert img.mode.startswith("I")  # Pillow opens it as 16/32-bit integer: the case convert("RGB") clips
    arr = read_image_array(path)
    assert arr.shape == (20, 20, 3) and arr.dtype == np.uint8
    assert np.abs(arr.astype(int) - 128).max() <= 1
    # project's reader is the same reader: mid grey is ~0 in [-1, 1], not the 0.99 of a clipped read
    target = load_image(path, 16)
    assert target.shape == (1, 3, 16, 16)
    assert target.abs().max() < 0.01


def test_project_reads_a_sixteen_bit_png_as_the_data_module_does(tmp_path):
    torch.manual_seed(0)
    gen = tmp_path / "g.safetensors"
    save_generator(StyleGAN2Backbone(size=16, style_dim=16, n_mlp=1, channel_max=8), gen)
    image = _sixteen_bit_png(tmp_path / "face16.png", 24)
    argv = ["project", "--checkpoint", str(gen), "--image", str(image), "--output_dir", str(tmp_path / "out")]
    assert main([*argv, "--steps", "1", "--allow_random_lpips", "true"]) == 0
    side = np.asarray(Image.open(tmp_path / "out" / "face16_projection.png").convert("RGB"))
    target_half = side[:, :16].astype(int)  # [16, 32, 3]: target | reconstruction
    assert np.abs(target_half - 128).max() <= 1  # before the shared reader this was 255 everywhere


def test_palette_transparency_is_composited_on_the_stated_background(tmp_path):
    arr = np.zeros((20, 20), np.uint8)
    arr[:, 10:] = 1
    img = Image.fromarray(arr, "P")
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.info["transparency"] = 0  # colour 0 (red) is transparent
    path = tmp_path / "pal.png"
    img.save(path, transparency=0)
    white = read_image_array(path)
    assert (white[:, :10] == 255).all()  # transparent half on white
    assert (white[:, 10:] == [0, 0, 255]).all()
    black = read_image_array(path, alpha="black")
    assert (black[:, :10] == 0).all()
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 1] = 200
    rgba[:10, :, 3] = 255  # top half opaque green, bottom half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = read_image_array(tmp_path / "a.png")
    assert (out[:10] == [0, 200, 0]).all() and (out[10:] == 255).all()


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)  # 40 wide, 20 high; left half white
    arr[:, :20] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the upright picture is 20 wide, 40 high
    Image.fromarray(arr).save(tmp_path / "r.jpg", exif=exif.tobytes(), quality=95)
    upright = read_image_file(tmp_path / "r.jpg")
    assert upright.size == (20, 40)
    top = np.asarray(upright)[:20].mean()
    bottom = np.asarray(upright)[20:].mean()
    assert top > 200 > 50 > bottom  # the white left half is now the top


def test_images_below_the_size_rule_are_refused_naming_the_file(tmp_path):
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / "dot.png")
    with pytest.raises(DataError, match=rf"dot.png' is 1x1 pixels; images smaller than {MIN_IMAGE_SIDE} px"):
        read_image_tensor(tmp_path / "dot.png", 16)
    Image.fromarray(np.zeros((MIN_IMAGE_SIDE, 40, 3), np.uint8)).save(tmp_path / "ok.png")
    assert read_image_tensor(tmp_path / "ok.png", 8).shape == (1, 3, 8, 8)


@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty", "folder", "missing"])
def test_bad_files_are_one_message_naming_the_file(tmp_path, kind):
    path = tmp_path / "face.png"
    if kind == "garbage":
        path.write_bytes(b"\x89PNG this is not a png")
    elif kind == "truncated":
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(path)
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(DataError) as info:
        read_image_array(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    expected = {"folder": "is a folder", "missing": "does not exist"}.get(kind, "cannot be read")
    assert expected in message
