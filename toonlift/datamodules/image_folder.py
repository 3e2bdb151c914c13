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

from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import DataLoader

from toonlift.datamodules.base import ToonDataModule
from toonlift.datamodules.samplers import InfiniteShardedSampler, module_iteration, trainer_world
from toonlift.errors import ConfigError
from toonlift.utils.image_loading import ALPHA_MODES, RESIZE_FILTERS
from toonlift.utils.image_sets import ImageDataset, ImageRecord, scan_images, split_records, validate_records


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

    def _start_sample(self) -> int:
        """Samples this rank already consumed: the module's ``iteration`` (restored on resume) times the batch."""
        return (module_iteration(self) or 0) * self.batch_size

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")
        world, rank = trainer_world(self)
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
