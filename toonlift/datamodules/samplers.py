"""An endless, resumable, rank-sharded sampler for iteration-based GAN training.

GAN training counts iterations, not epochs, and must resume mid-stream: after a restart the data order has to
continue exactly where it stopped, on every rank, or "resume then train M steps" differs from an uninterrupted run.
The sample at global stream position ``p`` is a pure function of ``(seed, p)``: position ``p`` lies in pass
``p // n`` whose order is ``randperm(n)`` seeded by ``(seed, pass)``. Rank ``r`` of ``w`` takes positions
``r, r + w, r + 2w, ...`` (the stylegan2-ada layout), so ranks draw disjoint samples within a pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import DistributedSampler

if TYPE_CHECKING:
    import pytorch_lightning as pl


def _pass_permutation(n: int, seed: int, pass_index: int) -> torch.Tensor:
    """The order of pass ``pass_index``: a permutation of ``range(n)`` fixed by ``(seed, pass_index)``."""
    mixed = int(np.random.SeedSequence([seed, pass_index]).generate_state(1, dtype=np.uint64)[0] >> 1)
    return torch.randperm(n, generator=torch.Generator().manual_seed(mixed))


class InfiniteShardedSampler(DistributedSampler):
    """Yields dataset indices forever, sharded across ranks, starting at a given per-rank sample count.

    It subclasses :class:`DistributedSampler` only so that Lightning leaves it in place under DDP instead of wrapping
    it in its own distributed sampler; it has no length (Lightning then treats the loader as endless).

    Args:
        num_items: dataset length ``n`` (the indices yielded are in ``[0, n)``).
        num_replicas: world size.
        rank: this rank.
        seed: data-order seed (the same on every rank).
        start: how many samples this rank has already consumed (``iterations * batch_size`` when resuming).
    """

    def __init__(self, num_items: int, num_replicas: int = 1, rank: int = 0, seed: int = 0, start: int = 0) -> None:
        # DistributedSampler's constructor only stores fields; we pass everything so it never queries dist.
        super().__init__(range(num_items), num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed)
        if num_items < 1:
            raise ValueError("InfiniteShardedSampler needs at least one item")
        self.num_items = int(num_items)
        self.start = int(start)

    def global_position(self, local_index: int) -> int:
        """Stream position of this rank's ``local_index``-th sample."""
        return local_index * self.num_replicas + self.rank

    def index_at(self, position: int) -> int:
        """Dataset index at global stream ``position``."""
        pass_index, offset = divmod(position, self.num_items)
        return int(_pass_permutation(self.num_items, self.seed, pass_index)[offset])

    def __iter__(self) -> Iterator[int]:
        local = self.start
        cached_pass, perm = -1, None
        while True:
            pass_index, offset = divmod(self.global_position(local), self.num_items)
            if pass_index != cached_pass:
                cached_pass, perm = pass_index, _pass_permutation(self.num_items, self.seed, pass_index)
            yield int(perm[offset])
            local += 1

    def __len__(self) -> int:
        # endless: DataLoader/Lightning treat a TypeError from len() as "no length"
        raise TypeError("InfiniteShardedSampler is endless")

    def set_epoch(self, epoch: int) -> None:
        """Ignored: the order depends only on the stream position (Lightning calls this every epoch)."""
        del epoch


def trainer_world(datamodule: pl.LightningDataModule) -> tuple[int, int]:
    """``(world_size, global_rank)`` of the data module's trainer, ``(1, 0)`` without one."""
    trainer = getattr(datamodule, "trainer", None)
    if trainer is None:
        return 1, 0
    return trainer.world_size, trainer.global_rank


def module_iteration(datamodule: pl.LightningDataModule) -> int | None:
    """The trained module's own ``iteration`` counter (restored on resume), or ``None`` if it keeps none."""
    trainer = getattr(datamodule, "trainer", None)
    module = getattr(trainer, "lightning_module", None) if trainer is not None else None
    value = getattr(module, "iteration", None)
    return None if value is None else int(value)
