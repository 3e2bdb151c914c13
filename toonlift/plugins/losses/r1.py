"""Lazy R1 gradient penalty on real images."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from toonlift.functional.gan_losses import r1_penalty
from toonlift.plugins.losses.base import Loss
from toonlift.utils import checks


class R1Loss(Loss):
    """R1 penalty ``gamma/2 * ||grad D(x)||^2``, applied every ``interval`` discriminator steps (lazy).

    Args:
        weight: gamma (the reference default is 10).
        interval: apply every this many discriminator steps; the term is scaled by ``interval`` to compensate.
    """

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        real = torch.rand(batch, 3, 8, 8, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
        logits = real.pow(2).mean((1, 2, 3)).unsqueeze(1)  # [B, 1], differentiable w.r.t. the images
        return logits, real

    def __init__(self, weight: float = 10.0, interval: int = 16) -> None:
        super().__init__(weight)
        checks.at_least("R1Loss", "interval", interval, 1)
        self.interval = int(interval)

    def forward(self, real_logits: Tensor, real_images: Tensor) -> Tensor:
        """``0.5 * interval * ||grad D(x)||^2`` (the trainer multiplies by ``weight``)."""
        return 0.5 * self.interval * r1_penalty(real_logits, real_images)
