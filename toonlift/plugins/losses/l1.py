"""Masked L1 photometric loss."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from toonlift.functional.image_losses import masked_l1
from toonlift.plugins.losses.base import Loss


class L1Loss(Loss):
    """Mean absolute error over the valid pixels.

    Args:
        weight: multiplier.
    """

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        gen = torch.Generator().manual_seed(0)
        pred = torch.randn(batch, 3, 16, 16, generator=gen).requires_grad_(True)
        return pred, torch.randn(batch, 3, 16, 16, generator=gen), torch.ones(batch, 1, 16, 16)

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        """L1 between ``pred`` and ``target`` ``[B, C, H, W]``, averaged over ``mask`` ``[B, 1, H, W]``."""
        return masked_l1(pred, target, mask)
