"""A pacing data module for LightningModules that drive their own iterations (Stage 3's VLDA state machine).

It yields one dummy item per training step. With ``count=None`` the number of steps per rank is asked from the
module (``lightning_module.steps_per_rank()``), so the loader always matches the module's schedule; under DDP every
rank gets the same number of steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from toonlift.datamodules.base import ToonDataModule
from toonlift.errors import ConfigError


class _Ticks(Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.tensor(i)


def ticks_loader(steps_per_rank: int, world_size: int) -> DataLoader:
    """A loader of ``steps_per_rank * world_size`` ticks (a DistributedSampler gives each rank its share)."""
    return DataLoader(_Ticks(steps_per_rank * world_size), batch_size=1, shuffle=False)


class StepsDataModule(ToonDataModule):
    """Dummy items that pace a self-driven module.

    Args:
        count: training steps per rank; ``None`` asks the module's ``steps_per_rank()``.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"count": 2}

    def __init__(self, count: int | None = None) -> None:
        super().__init__()
        if count is not None and count < 1:
            raise ConfigError(f"StepsDataModule: count must be >= 1 or null, got {count}.")
        self.count = count

    def train_dataloader(self) -> DataLoader:
        count = self.count
        if count is None:
            module = self.trainer.lightning_module
            if not hasattr(module, "steps_per_rank"):
                raise ConfigError(
                    f"StepsDataModule(count=null) needs a module with steps_per_rank(); {type(module).__name__} has "
                    "none. Give count explicitly."
                )
            count = int(module.steps_per_rank())
        return ticks_loader(count, self.trainer.world_size if self.trainer is not None else 1)
