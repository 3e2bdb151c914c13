"""The style-directional difference loss (3DArtmator, seed 004, Eq. 4-7; StyleGAN-NADA's ``DirectionLoss``): pure math.

With an image encoder ``E``, the *guide* direction is what the exemplar adds to the original generator's image of
the same content: ``δ_guide = E(I_ref) − E(I_ori,ϑ)`` (Eq. 4), or StyleGAN-NADA's image-to-image direction
``mean E(targets) − mean E(sources)``. For a view ``ϑ_i`` the trained copy's change is ``δ_opt = E(I_trn,ϑi) −
E(I_ori,ϑi)`` (Eq. 6), and the loss is ``1 − cos(δ_guide, δ_opt)`` per view (Eq. 7, summed over the N views). The
cosine makes it invariant to a positive rescaling of the features and to a shift common to both images.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from toonlift.errors import ConfigError


def feature_direction(target: Tensor, source: Tensor) -> Tensor:
    """``mean_b target − mean_b source``: the guide direction ``[F]`` from features ``[B_t, F]`` and ``[B_s, F]``
    (one exemplar and one original view give 3DArtmator's Eq. 4; many give StyleGAN-NADA's img2img direction)."""
    if target.ndim != 2 or source.ndim != 2 or target.shape[1] != source.shape[1]:
        raise ConfigError(
            f"feature_direction: features must be [B, F] with the same F, got {tuple(target.shape)} and "
            f"{tuple(source.shape)}."
        )
    return target.mean(0) - source.mean(0)


def directional_loss(stylised: Tensor, original: Tensor, guide: Tensor, eps: float = 1e-8) -> Tensor:
    """Per-view ``1 − cos(E(stylised) − E(original), guide)``: ``[B]`` in ``[0, 2]``.

    Args:
        stylised: features ``[B, F]`` of the trained generator's views.
        original: features ``[B, F]`` of the original generator's views (same latents and cameras).
        guide: the direction ``[F]`` (or one per view, ``[B, F]``).
        eps: guards the cosine of a zero difference (a view the training has not changed yet gives loss 1).
    """
    if stylised.shape != original.shape or stylised.ndim != 2:
        raise ConfigError(
            f"directional_loss: stylised and original features must both be [B, F], got {tuple(stylised.shape)} "
            f"and {tuple(original.shape)}."
        )
    guide = guide.to(stylised).expand_as(stylised)
    return 1 - F.cosine_similarity(stylised - original, guide, dim=1, eps=eps)


def flatten_features(features: Tensor | list[Tensor]) -> Tensor:
    """Features as one ``[B, F]`` vector per image: a tensor ``[B, ...]`` is flattened, a list concatenated."""
    if isinstance(features, Tensor):
        return features.flatten(1)
    return torch.cat([f.flatten(1) for f in features], dim=1)
