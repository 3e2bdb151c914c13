"""Projecting rendered images back into a StyleGAN's W space (GAN2Shape step 2) and its feature loss.

The offset encoder works in the mapping network's *hidden* space: with the mapping ``M = M_tail o M_head``
(``M_tail`` the last ``F1_d`` layers), ``h_c = M_head(0)`` and ``w_c = M_tail(h_c)``, an image ``I`` goes to

    w(I) = w_input + M_tail(h_c + E(I) - E(I_input)) - w_c

so ``E(I_input)`` maps exactly to the input latent and the offset passes through the last mapping layers.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def relative_offset_latent(
    code: Tensor, input_code: Tensor, center_h: Tensor, center_w: Tensor, tail: nn.Module, input_w: Tensor
) -> tuple[Tensor, Tensor]:
    """``(offset [B, w_dim], latent [B, w_dim])`` for encoder codes ``code`` ``[B, h_dim]``.

    Args:
        code: ``E(I)`` of the images to project.
        input_code: ``E(I_input)`` ``[1, h_dim]``.
        center_h: ``M_head(0)`` ``[1, h_dim]``.
        center_w: ``M_tail(center_h)`` ``[1, w_dim]``.
        tail: the last mapping layers.
        input_w: the input's latent ``[1, w_dim]``.
    """
    offset = tail(code - input_code + center_h) - center_w
    return offset, input_w + offset


def masked_feature_l1(fake: list[Tensor], real: list[Tensor], mask: Tensor | None = None) -> Tensor:
    """Sum over feature maps of the (mask-weighted) mean L1 between ``fake`` and detached ``real`` features.

    The mask ``[B, 1, H, W]`` is average-pooled to each feature resolution (GAN2Shape ``DiscriminatorLoss``).
    """
    total = fake[0].new_zeros(())
    for f, r in zip(fake, real):
        diff = (f - r.detach()).abs()
        if mask is None:
            total = total + diff.mean()
            continue
        k = mask.shape[-1] // f.shape[-1]
        m = F.avg_pool2d(mask, kernel_size=k, stride=k) if k > 1 else mask
        m = m.expand_as(diff)
        total = total + (diff * m).sum() / m.sum().clamp_min(1e-6)
    return total
