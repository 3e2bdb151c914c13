"""Adversarial losses and their regularisers (Karras et al. 2020, StyleGAN2 Eq. 1-4; rosinality's train.py)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def d_logistic_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Non-saturating discriminator loss: ``mean(softplus(-D(x))) + mean(softplus(D(G(z))))``."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_nonsaturating_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss: ``mean(softplus(-D(G(z))))``."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits: Tensor, real_images: Tensor) -> Tensor:
    """R1 penalty ``mean_b ||grad_x D(x)||^2`` (Mescheder et al. 2018), without the ``gamma/2`` factor.

    Args:
        real_logits: ``[B, 1]`` logits of ``real_images``, computed with ``real_images.requires_grad_(True)``.
        real_images: ``[B, C, H, W]``.
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def path_length_penalty(
    fake_images: Tensor,
    ws: Tensor,
    mean_path_length: Tensor,
    decay: float = 0.01,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Path-length regularisation (StyleGAN2 Eq. 4).

    Args:
        fake_images: ``[B, C, H, W]`` generated from ``ws`` (which requires grad).
        ws: ``[B, num_ws, w_dim]`` latents.
        mean_path_length: running mean ``a`` (a scalar tensor).
        decay: EMA rate of the running mean.
        generator: source of the random image-space projection (global RNG when None).

    Returns:
        ``(penalty, new_mean_path_length, path_lengths [B])``.
    """
    noise = torch.randn(
        fake_images.shape, generator=generator, device=fake_images.device, dtype=fake_images.dtype
    ) / math.sqrt(fake_images.shape[2] * fake_images.shape[3])
    (grad,) = torch.autograd.grad((fake_images * noise).sum(), ws, create_graph=True)
    path_lengths = grad.pow(2).sum(2).mean(1).sqrt()
    new_mean = mean_path_length + decay * (path_lengths.mean().detach() - mean_path_length)
    penalty = (path_lengths - new_mean).pow(2).mean()
    return penalty, new_mean.detach(), path_lengths
