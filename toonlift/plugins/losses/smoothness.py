"""Second-order smoothness of a depth map (Stage 3)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from toonlift.functional.image_losses import second_order_smoothness
from toonlift.plugins.losses.base import Loss


class SmoothnessLoss(Loss):
    """L1 of second-order depth gradients.

    Args:
        weight: multiplier (0.01 in the reference).
    """

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        return (torch.rand(batch, 1, 16, 16, generator=torch.Generator().manual_seed(0)).requires_grad_(True),)

    def __init__(self, weight: float = 0.01) -> None:
        super().__init__(weight)

    def forward(self, depth: Tensor) -> Tensor:
        """Smoothness of ``depth`` ``[B, 1, H, W]``."""
        return second_order_smoothness(depth)
