"""EG3D's tri-plane decoder (``OSGDecoder``): mean of the three plane features, FC, Softplus, FC to density + colour.

The first output is the raw density (the ray marcher applies ``softplus(sigma - 1)``); the others pass through
MipNeRF's widened sigmoid ``sigmoid(x) * (1 + 2 * 0.001) - 0.001`` (the first three are the RGB of the neural render,
the rest the feature image the super-resolution reads).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.plugins.eg3d.shape_prior import EllipsoidPrior
from toonlift.plugins.stylegan2.layers import EqualLinear

SIGMOID_PAD = 0.001


class TriplaneDecoder(nn.Module):
    """``C -> hidden -> 1 + out_features`` MLP shared by every sample point.

    Args:
        in_features: channels of one plane.
        out_features: colour/feature outputs (EG3D: 32, the first 3 being RGB).
        hidden: hidden width (EG3D: 64).
        lr_mul: learning-rate multiplier of both layers (EG3D's ``decoder_lr_mul``, 1 by default).
        prior: density added to the raw output at each point (beyond EG3D; ``None``: EG3D's decoder exactly).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: int = 64,
        lr_mul: float = 1.0,
        prior: EllipsoidPrior | None = None,
    ) -> None:
        super().__init__()
        self.prior = prior
        self.fc0 = EqualLinear(in_features, hidden, lr_mul=lr_mul)
        self.fc1 = EqualLinear(hidden, 1 + out_features, lr_mul=lr_mul)

    def forward(self, features: Tensor, coords: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``features [B, 3, M, C]`` (and the points ``coords [B, M, 3]``, needed with a prior) ->
        ``(rgb [B, M, out_features], sigma [B, M, 1])``."""
        x = features.mean(1)  # [B, M, C]
        x = self.fc1(F.softplus(self.fc0(x)))
        rgb = torch.sigmoid(x[..., 1:]) * (1 + 2 * SIGMOID_PAD) - SIGMOID_PAD
        sigma = x[..., :1]
        if self.prior is not None:
            if coords is None:
                raise ValueError("TriplaneDecoder with a density prior needs the points' coords.")
            sigma = sigma + self.prior(coords)
        return rgb, sigma
