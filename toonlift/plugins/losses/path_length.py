"""Lazy path-length regularisation of the generator (StyleGAN2 Eq. 4)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from toonlift.functional.gan_losses import path_length_penalty
from toonlift.plugins.losses.base import Loss
from toonlift.utils import checks


class PathLengthLoss(Loss):
    """``(||J_w^T y||_2 - a)^2`` with ``a`` a running mean, applied every ``interval`` generator steps.

    The running mean ``a`` is a buffer, so it is checkpointed with the module.

    Args:
        weight: multiplier (rosinality default 2; 0 disables the term).
        interval: apply every this many iterations; the term is scaled by ``interval`` to compensate (lazy).
        batch_shrink: the regularisation batch is ``batch // batch_shrink`` (rosinality default 2).
        decay: EMA rate of the running mean.
    """

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        gen = torch.Generator().manual_seed(0)
        ws = torch.randn(batch, 4, 8, generator=gen).requires_grad_(True)
        weight = torch.randn(8, 3 * 8 * 8, generator=gen)
        images = torch.tanh(ws.mean(1) @ weight).view(batch, 3, 8, 8)  # images that depend on ws
        return images, ws, gen

    def __init__(self, weight: float = 2.0, interval: int = 4, batch_shrink: int = 2, decay: float = 0.01) -> None:
        super().__init__(weight)
        checks.at_least("PathLengthLoss", "interval", interval, 1)
        checks.at_least("PathLengthLoss", "batch_shrink", batch_shrink, 1)
        checks.unit_interval("PathLengthLoss", "decay", decay)
        self.interval = int(interval)
        self.batch_shrink = int(batch_shrink)
        self.decay = float(decay)
        self.register_buffer("mean_path_length", torch.zeros(()))
        self.last_path_length = 0.0

    def forward(self, fake_images: Tensor, ws: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``interval * penalty`` for images ``[B, 3, H, W]`` generated from ``ws`` ``[B, num_ws, w_dim]``.

        ``generator`` draws the random projection ``y`` (the global RNG when None).
        """
        penalty, new_mean, lengths = path_length_penalty(
            fake_images, ws, self.mean_path_length, self.decay, generator=generator
        )
        self.mean_path_length.copy_(new_mean)
        self.last_path_length = float(lengths.mean().detach())
        return self.interval * penalty
