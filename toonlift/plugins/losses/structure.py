"""The structure loss of Stage 1: keep the fine-tuned generator's coarse features close to the base's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from toonlift.functional.image_losses import structure_loss
from toonlift.plugins.losses.base import Loss
from toonlift.utils import checks


class StructureLoss(Loss):
    """``1/n sum_k ||G_base^k(z) - G_trans^k(z)||^2`` over the first ``num_blocks`` synthesis blocks.

    Args:
        weight: multiplier (1 in the reference).
        num_blocks: n, the number of blocks compared (2: the 8x8 and 16x16 outputs).
    """

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        gen = torch.Generator().manual_seed(0)
        base = [torch.randn(batch, 4, 2**k, 2**k, generator=gen) for k in (3, 4)]
        trans = [torch.randn(batch, 4, 2**k, 2**k, generator=gen).requires_grad_(True) for k in (3, 4)]
        return base, trans

    def __init__(self, weight: float = 1.0, num_blocks: int = 2) -> None:
        super().__init__(weight)
        checks.at_least("StructureLoss", "num_blocks", num_blocks, 1)
        self.num_blocks = int(num_blocks)

    def forward(self, base_features: Sequence[Tensor], trans_features: Sequence[Tensor]) -> Tensor:
        """Mean over blocks of the mean squared feature difference."""
        return structure_loss(base_features, trans_features)
