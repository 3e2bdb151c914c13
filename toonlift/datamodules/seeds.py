"""Integer seeds as a data set: each seed is one latent code, drawn by the module from ``torch.Generator(seed)``."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from toonlift.datamodules.base import ToonDataModule
from toonlift.errors import ConfigError


class _SeedDataset(Dataset):
    def __init__(self, seeds: list[int]) -> None:
        self.seeds = seeds

    def __len__(self) -> int:
        return len(self.seeds)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.tensor(self.seeds[i], dtype=torch.int64)


class SeedsDataModule(ToonDataModule):
    """Seeds ``first, first+1, ..., first+count-1`` (or an explicit list) for sampling and latent optimisation.

    Args:
        count: number of seeds when ``seeds`` is not given.
        first: first seed.
        seeds: explicit seeds (overrides ``count``/``first``).
        batch_size: seeds per batch.
    """

    def __init__(self, count: int = 16, first: int = 0, seeds: list[int] | None = None, batch_size: int = 8) -> None:
        super().__init__()
        if seeds is None and count < 1:
            raise ConfigError(f"SeedsDataModule: count must be >= 1, got {count}.")
        if batch_size < 1:
            raise ConfigError(f"SeedsDataModule: batch_size must be >= 1, got {batch_size}.")
        self.seeds = list(seeds) if seeds is not None else list(range(first, first + count))
        self.batch_size = batch_size

    def _loader(self) -> DataLoader:
        return DataLoader(_SeedDataset(self.seeds), batch_size=self.batch_size, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader()

    def test_dataloader(self) -> DataLoader:
        return self._loader()

    def train_dataloader(self) -> DataLoader:
        return self._loader()
