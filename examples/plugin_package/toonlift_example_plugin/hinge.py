"""The hinge adversarial loss (Lim & Ye 2017; SAGAN, BigGAN) as a toonlift loss plugin."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.plugins.losses.base import Loss


class HingeLoss(Loss):
    """Hinge loss: ``forward`` is the generator side ``-mean(D(G(z)))``, :meth:`discriminator` the other side
    ``mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))`` (registry name ``hinge`` once this package is installed).

    Args:
        weight: multiplier of the generator term.
    """

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        return (torch.randn(batch, 1, generator=torch.Generator().manual_seed(0)).requires_grad_(True),)

    def forward(self, fake_logits: Tensor) -> Tensor:
        """Generator loss of fake logits ``[B, 1]``."""
        return -fake_logits.mean()

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """Discriminator loss of real and fake logits ``[B, 1]``."""
        return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
