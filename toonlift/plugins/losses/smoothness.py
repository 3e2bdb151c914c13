"""Second-order smoothness of a depth map (Stage 3)."""

from __future__ import annotations

from torch import Tensor

from toonlift.functional.image_losses import second_order_smoothness
from toonlift.plugins.losses.base import Loss


class SmoothnessLoss(Loss):
    """L1 of second-order depth gradients.

    Args:
        weight: multiplier (0.01 in the reference).
    """

    def __init__(self, weight: float = 0.01) -> None:
        super().__init__(weight)

    def forward(self, depth: Tensor) -> Tensor:
        """Smoothness of ``depth`` ``[B, 1, H, W]``."""
        return second_order_smoothness(depth)
