"""Non-saturating logistic GAN loss (both sides)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from toonlift.functional.gan_losses import d_logistic_loss, g_nonsaturating_loss
from toonlift.plugins.losses.base import Loss


class NonSaturatingLoss(Loss):
    """Non-saturating logistic loss: ``forward`` is the generator side, :meth:`discriminator` the other.

    Args:
        weight: multiplier of the generator term.
    """

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        return (torch.randn(batch, 1, generator=torch.Generator().manual_seed(0)).requires_grad_(True),)

    def forward(self, fake_logits: Tensor) -> Tensor:
        """Generator loss ``mean(softplus(-D(G(z))))`` of fake logits ``[B, 1]``."""
        return g_nonsaturating_loss(fake_logits)

    def discriminator(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        """Discriminator loss ``mean(softplus(-D(x))) + mean(softplus(D(G(z))))``."""
        return d_logistic_loss(real_logits, fake_logits)
