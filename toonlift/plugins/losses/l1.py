"""Masked L1 photometric loss."""

from __future__ import annotations

from torch import Tensor

from toonlift.functional.image_losses import masked_l1
from toonlift.plugins.losses.base import Loss


class L1Loss(Loss):
    """Mean absolute error over the valid pixels.

    Args:
        weight: multiplier.
    """

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        """L1 between ``pred`` and ``target`` ``[B, C, H, W]``, averaged over ``mask`` ``[B, 1, H, W]``."""
        return masked_l1(pred, target, mask)
