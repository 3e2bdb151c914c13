"""ImageFolderDataModule: formats, crop/resize, flips, split, zip, errors, resumable sharded sampling."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers_stage1 import smooth_rgb, write_image_folder
from toonlift.datamodules.image_folder import ImageFolderDataModule, split_records
from toonlift.datamodules.samplers import InfiniteShardedSampler
from toonlift.errors import DataError
from toonlift.utils.image_loading import center_square_resize, decode_image, to_rgb


def _png_bytes(img: Image.Image, tmp_path: Path, name: str) -> bytes:
    path = tmp_path / name
    img.save(path)
    return path.read_bytes()


def test_rgba_composited_on_white_or_dropped(tmp_path):
    arr = np.zeros((8, 8, 4), np.uint8)
    arr[..., 0] = 200  # red, fully transparent
    img = Image.fromarray(arr, "RGBA")
    white = np.asarray(to_rgb(img, "white"))
    assert (white == 255).all()
    dropped = np.asarray(to_rgb(img, "drop"))
    assert (dropped[..., 0] == 200).all() and (dropped[..., 1:] == 0).all()
    black = np.asarray(to_rgb(img, "black"))
    assert (black == 0).all()


def test_grayscale_palette_and_16bit(tmp_path):
    gray = Image.fromarray(np.full((6, 6), 100, np.uint8), "L")
    assert (np.asarray(to_rgb(gray)) == 100).all()
    pal = Image.fromarray(smooth_rgb(0, 16)).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    out = np.asarray(to_rgb(pal))
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.asarray(pal.convert("RGB")))
    # 16-bit grayscale PNG: 32896 of 65535 must become ~128, not the 255 a naive convert() clips to
    sixteen = Image.fromarray(np.full((16, 16), 32896, np.uint16))
    data = _png_bytes(sixteen, tmp_path, "g16.png")
    decoded = decode_image(data, 6)
    assert np.abs(decoded.astype(int) - 128).max() <= 1


def test_center_crop_and_resize_keep_the_centre():
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, 10:30] = 255  # the centre square is white, the sides black
    out = np.asarray(center_square_resize(Image.fromarray(arr), 10))
    assert out.shape == (10, 10, 3)
    assert out.min() >= 250


def test_datamodule_reads_nested_folder_and_flips(tmp_path):
    root = write_image_folder(tmp_path / "imgs", n=6, size=24)
    dm = ImageFolderDataModule(str(root), resolution=16, batch_size=2, hflip=True)
    dm.setup("fit")
    ds = dm._dataset(dm.train_records, hflip=True)
    assert len(ds) == 12
    x, xf = ds[1], ds[7]
    assert x.shape == (3, 16, 16) and float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    torch.testing.assert_close(xf, x.flip(-1))
    batch = next(iter(dm.train_dataloader()))
    assert batch.shape == (2, 3, 16, 16)


def test_zip_source_matches_folder(tmp_path):
    root = write_image_folder(tmp_path / "imgs", n=4, size=20, nested=False)
    zpath = tmp_path / "imgs.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(root.iterdir()):
            zf.write(f, f"data/{f.name}")
    a = ImageFolderDataModule(str(root), resolution=8, hflip=False)
    b = ImageFolderDataModule(str(zpath), resolution=8, hflip=False)
    a.setup(), b.setup()
    da, db = a._dataset(a.train_records, False), b._dataset(b.train_records, False)
    assert len(da) == len(db) == 4
    for i in range(4):
        torch.testing.assert_close(da[i], db[i])


def test_split_is_deterministic_and_disjoint(tmp_path):
    root = write_image_folder(tmp_path / "imgs", n=10, size=16)
    dm = ImageFolderDataModule(str(root), resolution=8, val_fraction=0.3, seed=3)
    dm.setup()
    names_val = [r.name for r in dm.val_records]
    assert len(names_val) == 3 and len(dm.train_records) == 7
    assert not set(names_val) & {r.name for r in dm.train_records}
    again = split_records(dm.train_records + dm.val_records, 0.3, 3)
    assert len(again[1]) == 3


def test_missing_empty_and_all_corrupt_folders_raise_clear_errors(tmp_path):
    with pytest.raises(DataError, match="was not found.*docs/data.md"):
        ImageFolderDataModule(str(tmp_path / "nope")).setup()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="contains no png/jpg/jpeg/webp"):
        ImageFolderDataModule(str(tmp_path / "empty")).setup()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="None of the 1 image files"):
        ImageFolderDataModule(str(tmp_path / "bad")).setup()


def test_corrupt_files_listed_in_one_warning_and_skipped(tmp_path):
    root = write_image_folder(tmp_path / "imgs", n=3, size=20, nested=False)
    (root / "broken1.png").write_bytes(b"\x89PNG garbage")
    good = (root / "img000.png").read_bytes()
    (root / "truncated.jpg").write_bytes(good[: len(good) // 3])
    with pytest.warns(UserWarning, match=r"Skipping 2 unreadable") as rec:
        dm = ImageFolderDataModule(str(root), resolution=8)
        dm.setup()
    assert len([w for w in rec if "unreadable" in str(w.message)]) == 1
    message = str(next(w for w in rec if "unreadable" in str(w.message)).message)
    assert "broken1.png" in message and "truncated.jpg" in message
    assert len(dm.train_records) == 3


def test_images_below_the_size_rule_are_listed_and_skipped(tmp_path):
    root = write_image_folder(tmp_path / "imgs", n=2, size=20, nested=False)
    Image.fromarray(smooth_rgb(9, 1)).save(root / "dot.png")  # 1x1: would be upscaled into training data
    with pytest.warns(UserWarning, match=r"dot.png \(1x1 px, smaller than 16 px\)"):
        dm = ImageFolderDataModule(str(root), resolution=8)
        dm.setup()
    assert sorted(Path(r.name).name for r in dm.train_records) == ["img000.png", "img001.png"]


def test_sampler_resumes_and_shards():
    full = InfiniteShardedSampler(10, 1, 0, seed=5)
    it = iter(full)
    stream = [next(it) for _ in range(35)]
    assert sorted(stream[:10]) == list(range(10))  # every pass is a permutation
    resumed = iter(InfiniteShardedSampler(10, 1, 0, seed=5, start=17))
    assert [next(resumed) for _ in range(18)] == stream[17:]
    r0 = iter(InfiniteShardedSampler(10, 2, 0, seed=5))
    r1 = iter(InfiniteShardedSampler(10, 2, 1, seed=5))
    a, b = [next(r0) for _ in range(5)], [next(r1) for _ in range(5)]
    assert sorted(a + b) == list(range(10))  # ranks split one pass between them


def test_a_damaged_zip_is_called_damaged(tmp_path):
    root = write_image_folder(tmp_path / "imgs", n=2, size=20, nested=False)
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in root.iterdir():
            zf.write(f, f.name)
    archive.write_bytes(archive.read_bytes()[:-40])  # the central directory is cut off
    with pytest.raises(DataError, match="zip file .* is damaged"):
        ImageFolderDataModule(str(archive)).setup()
