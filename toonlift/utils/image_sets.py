"""Image sets read one way everywhere: a folder (searched recursively) or a zip file of images, scanned, checked
(every file decoded once, unreadable ones listed and skipped) and served as square ``[-1, 1]`` tensors.

Used by the image-folder data module (Stage 1's cartoon data sets) and by the commands that read real image sets
(e.g. Stage 3's rendered-view FID/KID).
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from toonlift.errors import DataError
from toonlift.utils.image_loading import (
    IMAGE_EXTENSIONS,
    MIN_IMAGE_SIDE,
    decode_image,
    is_image_name,
    read_bytes,
    validate_image,
)

HOW_TO_GET = "See docs/data.md for where to download each data set and the folder layout toonlift expects."


@dataclass(frozen=True)
class ImageRecord:
    """One image of the data set: a file on disk (``member`` None) or a member of the zip ``source``."""

    source: Path
    member: str | None

    @property
    def name(self) -> str:
        return self.member if self.member is not None else str(self.source)


class ImageDataset(Dataset):
    """Decoded, square, ``[-1, 1]`` images ``[3, R, R]``; with ``hflip`` indices ``n..2n-1`` are the mirrors.

    Args:
        records: the images.
        resolution: output side R.
        alpha: transparency handling (see :func:`toonlift.utils.image_loading.to_rgb`).
        resize_filter: see :data:`RESIZE_FILTERS`.
        hflip: double the set with horizontal mirrors.
        cache: keep decoded ``uint8`` images in memory (R*R*3 bytes each).
    """

    def __init__(
        self,
        records: list[ImageRecord],
        resolution: int,
        alpha: str = "white",
        resize_filter: str = "lanczos",
        hflip: bool = False,
        cache: bool = False,
    ) -> None:
        self.records = records
        self.resolution = resolution
        self.alpha = alpha
        self.resize_filter = resize_filter
        self.hflip = hflip
        self.cache = cache
        self._cached: dict[int, np.ndarray] = {}
        self._zips: dict[Path, zipfile.ZipFile] = {}  # opened lazily per worker process

    def __len__(self) -> int:
        return len(self.records) * (2 if self.hflip else 1)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_zips"] = {}  # zip handles cannot be pickled into DataLoader workers
        return state

    def load_uint8(self, i: int) -> np.ndarray:
        """Image ``i`` (``i < number of records``) as ``[R, R, 3]`` ``uint8``."""
        if i in self._cached:
            return self._cached[i]
        rec = self.records[i]
        handle = None
        if rec.member is not None:
            handle = self._zips.get(rec.source)
            if handle is None:
                handle = self._zips[rec.source] = zipfile.ZipFile(rec.source)
        data = read_bytes(rec.source, rec.member, handle)
        arr = decode_image(data, self.resolution, self.alpha, self.resize_filter, name=rec.name)
        if self.cache:
            self._cached[i] = arr
        return arr

    def __getitem__(self, index: int) -> Tensor:
        n = len(self.records)
        arr = self.load_uint8(index % n)
        img = torch.from_numpy(np.array(arr, copy=True)).permute(2, 0, 1).float().div(127.5).sub(1.0)  # [3, R, R]
        if index >= n:
            img = img.flip(-1)
        return img


def _starts_with(path: Path, magic: bytes) -> bool:
    with path.open("rb") as f:
        return f.read(len(magic)) == magic


def scan_images(path: str | Path, name: str = "image data set") -> list[ImageRecord]:
    """All image files under a folder (recursive, sorted) or inside a zip, without decoding them.

    Raises:
        DataError: the path does not exist, is not a folder or zip, or holds no image file.
    """
    p = Path(path).expanduser()
    exts = "/".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)
    if not p.exists():
        raise DataError(
            f"The {name} was not found at '{p}'. Expected a folder (searched recursively) or a .zip file of "
            f"{exts} images. Set `data.init_args.path` to it. {HOW_TO_GET}"
        )
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and is_image_name(f.name) and not f.name.startswith("."))
        records = [ImageRecord(f, None) for f in files]
    elif zipfile.is_zipfile(p):
        with zipfile.ZipFile(p) as zf:
            members = sorted(
                m.filename
                for m in zf.infolist()
                if not m.is_dir() and is_image_name(m.filename) and not Path(m.filename).name.startswith(".")
            )
        records = [ImageRecord(p, m) for m in members]
    elif p.suffix.lower() == ".zip" or _starts_with(p, b"PK"):
        raise DataError(
            f"The {name} zip file '{p}' is damaged (its table of contents is missing or unreadable: the download or "
            f"copy was cut). Download or copy it again, or unpack it and point `data.init_args.path` at the folder. "
            f"{HOW_TO_GET}"
        )
    else:
        raise DataError(
            f"The {name} path '{p}' is neither a folder nor a zip file. Expected a folder (searched recursively) or "
            f"a .zip of {exts} images. {HOW_TO_GET}"
        )
    if not records:
        raise DataError(
            f"The {name} at '{p}' contains no {exts} file (searched recursively). Put the images there, "
            f"e.g. '{p}/0001.png', or point `data.init_args.path` at the right folder or zip. {HOW_TO_GET}"
        )
    return records


def validate_records(records: list[ImageRecord], name: str = "image data set") -> list[ImageRecord]:
    """Decode every record; warn once listing the unreadable ones; return the readable ones.

    Raises:
        DataError: no record is readable.
    """
    good: list[ImageRecord] = []
    bad: list[str] = []
    handles: dict[Path, zipfile.ZipFile] = {}
    try:
        for rec in records:
            handle = None
            if rec.member is not None:
                handle = handles.get(rec.source) or handles.setdefault(rec.source, zipfile.ZipFile(rec.source))
            try:
                w, h = validate_image(read_bytes(rec.source, rec.member, handle), rec.name)
            except Exception as err:  # noqa: BLE001 - any failure to read means "unreadable file"
                cause = err.__cause__ if isinstance(err, DataError) and err.__cause__ is not None else err
                text = str(cause).splitlines()[0][:120] if str(cause) else ""
                bad.append(f"{rec.name} (unreadable: {type(cause).__name__}: {text})")
                continue
            if min(w, h) < MIN_IMAGE_SIDE:  # the one size rule of toonlift.utils.image_reading
                bad.append(f"{rec.name} ({w}x{h} px, smaller than {MIN_IMAGE_SIDE} px)")
            else:
                good.append(rec)
    finally:
        for handle in handles.values():
            handle.close()
    if not good:
        raise DataError(
            f"None of the {len(records)} image files of the {name} can be used (first: {bad[0]}). The files are "
            f"corrupt, not images or smaller than {MIN_IMAGE_SIDE} px; download or copy the data set again. "
            f"{HOW_TO_GET}"
        )
    if bad:
        listing = "\n  ".join(bad)
        warnings.warn(
            f"Skipping {len(bad)} unreadable or too small file(s) of the {name} ({len(good)} usable):\n  {listing}",
            stacklevel=2,
        )
    return good


def split_records(records: list[ImageRecord], val_fraction: float, seed: int) -> tuple[list, list]:
    """Deterministic train/val split: the first ``round(n * val_fraction)`` of a seeded permutation are validation."""
    if val_fraction <= 0:
        return records, []
    order = np.random.default_rng(seed).permutation(len(records))
    n_val = min(len(records) - 1, max(1, round(len(records) * val_fraction)))
    val_idx = set(order[:n_val].tolist())
    train = [r for i, r in enumerate(records) if i not in val_idx]
    val = [r for i, r in enumerate(records) if i in val_idx]
    return train, val
