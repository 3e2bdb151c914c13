"""Images from a folder (searched recursively) or a zip file: the Stage-1 cartoon data sets (Disney, MetFaces, Ukiyo-e).

Every file is decoded once at ``setup`` so that bad data stops the run before training starts: unreadable files are
listed in one warning and skipped; a missing or empty source, or one with no readable image, raises a
:class:`~toonlift.errors.DataError` saying what was expected and where to get the data (``docs/data.md``).

Training batches come from an endless, resumable, rank-sharded stream (:class:`InfiniteShardedSampler`): under DDP
each rank reads a different shard, and after ``--ckpt_path last`` the stream continues exactly where it stopped (the
start position is the module's ``iteration`` times the batch size). Horizontal flips double the data set
deterministically (index ``i + n`` is image ``i`` mirrored), as stylegan2-ada's ``--mirror`` does.
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from toonlift.datamodules.base import ToonDataModule
from toonlift.datamodules.image_loading import (
    ALPHA_MODES,
    IMAGE_EXTENSIONS,
    RESIZE_FILTERS,
    decode_image,
    is_image_name,
    read_bytes,
    validate_image,
)
from toonlift.datamodules.samplers import InfiniteShardedSampler
from toonlift.errors import ConfigError, DataError

_HOW_TO_GET = "See docs/data.md for where to download each data set and the folder layout toonlift expects."


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
        alpha: transparency handling (see :func:`toonlift.datamodules.image_loading.to_rgb`).
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
        arr = decode_image(read_bytes(rec.source, rec.member, handle), self.resolution, self.alpha, self.resize_filter)
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
            f"{exts} images. Set `data.init_args.path` to it. {_HOW_TO_GET}"
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
    else:
        raise DataError(
            f"The {name} path '{p}' is neither a folder nor a zip file. Expected a folder (searched recursively) or "
            f"a .zip of {exts} images. {_HOW_TO_GET}"
        )
    if not records:
        raise DataError(
            f"The {name} at '{p}' contains no {exts} file (searched recursively). Put the images there, "
            f"e.g. '{p}/0001.png', or point `data.init_args.path` at the right folder or zip. {_HOW_TO_GET}"
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
                w, h = validate_image(read_bytes(rec.source, rec.member, handle))
                if w < 1 or h < 1:
                    raise ValueError("empty image")
                good.append(rec)
            except Exception as err:  # noqa: BLE001 - any decoder failure means "unreadable file"
                bad.append(f"{rec.name} ({type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''})")
    finally:
        for handle in handles.values():
            handle.close()
    if not good:
        raise DataError(
            f"None of the {len(records)} image files of the {name} could be decoded (first: {bad[0]}). The files are "
            f"corrupt or not images; download or copy the data set again. {_HOW_TO_GET}"
        )
    if bad:
        listing = "\n  ".join(bad)
        warnings.warn(
            f"Skipping {len(bad)} unreadable file(s) of the {name} ({len(good)} usable):\n  {listing}", stacklevel=2
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


class ImageFolderDataModule(ToonDataModule):
    """Square RGB images from a folder or zip, for GAN training and FID/KID.

    ``train_dataloader`` is endless and resumable (see the module docstring). ``val_dataloader`` and
    ``test_dataloader`` yield the real images the metrics compare against: the held-out split when
    ``val_fraction > 0``, else the training images (the convention of StyleGAN FID: fakes vs the training set),
    unflipped, at most ``max_val_images``.

    Args:
        path: folder (searched recursively) or ``.zip`` of png/jpg/jpeg/webp images.
        resolution: output side in pixels (images are centre-cropped to a square, then resized).
        batch_size: images per batch and per device.
        val_batch_size: batch size of the validation/test loaders (defaults to ``batch_size``).
        val_fraction: fraction of images held out for validation (0: validate against the training images).
        max_val_images: cap on the validation images (None: all).
        hflip: add horizontal mirrors of every training image.
        alpha: transparent pixels: ``"white"``/``"black"`` composite on that colour, ``"drop"`` ignores alpha.
        resize_filter: ``"lanczos"`` (default), ``"area"``/``"box"`` or ``"bicubic"``.
        cache: keep decoded images in memory (``resolution**2 * 3`` bytes each; 62 MB for Disney at 256 px).
        num_workers: DataLoader worker processes.
        seed: data-order and split seed.
        name: what the data set is called in messages (e.g. ``"Disney data set"``).
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        from PIL import Image

        folder = workdir / "images"
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(folder / f"{i}.png")
        return {"path": str(folder), "resolution": 16, "batch_size": 2, "val_fraction": 0.0}

    def __init__(
        self,
        path: str,
        resolution: int = 256,
        batch_size: int = 8,
        val_batch_size: int | None = None,
        val_fraction: float = 0.0,
        max_val_images: int | None = None,
        hflip: bool = True,
        alpha: str = "white",
        resize_filter: str = "lanczos",
        cache: bool = False,
        num_workers: int = 0,
        seed: int = 0,
        name: str = "image data set",
    ) -> None:
        super().__init__()
        if resolution < 4:
            raise ConfigError(f"ImageFolderDataModule: resolution must be >= 4, got {resolution}.")
        if batch_size < 1:
            raise ConfigError(f"ImageFolderDataModule: batch_size must be >= 1, got {batch_size}.")
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"ImageFolderDataModule: val_fraction must be in [0, 1), got {val_fraction}.")
        if alpha not in ALPHA_MODES:
            raise ConfigError(f"ImageFolderDataModule: alpha must be one of {ALPHA_MODES}, got {alpha!r}.")
        if resize_filter not in RESIZE_FILTERS:
            raise ConfigError(
                f"ImageFolderDataModule: resize_filter must be one of {sorted(RESIZE_FILTERS)}, got {resize_filter!r}."
            )
        self.path = path
        self.resolution = resolution
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size or batch_size
        self.val_fraction = val_fraction
        self.max_val_images = max_val_images
        self.hflip = hflip
        self.alpha = alpha
        self.resize_filter = resize_filter
        self.cache = cache
        self.num_workers = num_workers
        self.seed = seed
        self.name = name
        self.train_records: list[ImageRecord] = []
        self.val_records: list[ImageRecord] = []

    def setup(self, stage: str | None = None) -> None:
        """Scan and validate the images (once), then split them."""
        if self.train_records:
            return
        records = validate_records(scan_images(self.path, self.name), self.name)
        self.train_records, self.val_records = split_records(records, self.val_fraction, self.seed)

    def _dataset(self, records: list[ImageRecord], hflip: bool) -> ImageDataset:
        return ImageDataset(records, self.resolution, self.alpha, self.resize_filter, hflip, self.cache)

    def _world(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        if trainer is None:
            return 1, 0
        return trainer.world_size, trainer.global_rank

    def _start_sample(self) -> int:
        """Samples this rank already consumed: the module's ``iteration`` (restored on resume) times the batch."""
        trainer = getattr(self, "trainer", None)
        module = getattr(trainer, "lightning_module", None) if trainer is not None else None
        return int(getattr(module, "iteration", 0)) * self.batch_size

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")
        world, rank = self._world()
        dataset = self._dataset(self.train_records, self.hflip)
        sampler = InfiniteShardedSampler(len(dataset), world, rank, self.seed, start=self._start_sample())
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            drop_last=True,
            persistent_workers=self.num_workers > 0,
        )

    def metric_records(self) -> list[ImageRecord]:
        """The real images metrics compare against (held-out split, or the training images)."""
        records = self.val_records or self.train_records
        return records[: self.max_val_images] if self.max_val_images else records

    def val_dataloader(self) -> DataLoader:
        self.setup("validate")
        dataset = self._dataset(self.metric_records(), hflip=False)
        return DataLoader(dataset, batch_size=self.val_batch_size, shuffle=False, num_workers=self.num_workers)

    def test_dataloader(self) -> DataLoader:
        return self.val_dataloader()
