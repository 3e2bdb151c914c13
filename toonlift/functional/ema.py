"""Exponential moving average of a generator's weights (StyleGAN's ``G_ema``)."""

from __future__ import annotations

import torch
from torch import nn

#: rosinality ``train.py``: ``accum = 0.5 ** (32 / (10 * 1000))`` -- a half-life of 10k images at batch 32.
REFERENCE_EMA_DECAY: float = 0.5 ** (32 / 10_000)


def ema_decay_for_batch(global_batch: int, half_life_images: float = 10_000) -> float:
    """stylegan2-ada's batch-size-aware decay ``0.5 ** (global_batch / half_life_images)``."""
    return 0.5 ** (global_batch / half_life_images)


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema = decay * ema + (1 - decay) * model`` for parameters; buffers (noise maps, stats) are copied.

    Args:
        ema: the averaged copy (same architecture as ``model``).
        model: the trained network.
        decay: weight of the old average, in ``[0, 1]``.
    """
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p.detach(), 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
