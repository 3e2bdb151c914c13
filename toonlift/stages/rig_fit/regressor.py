"""The coarse-reconstruction CNN: a face image to a ``head_rig`` latent ``[B, 53]``.

A small residual-free convolutional encoder (four stride-2 stages, GroupNorm, SiLU), global average pooling and one
linear head. The head's output is read in prior units: ``latent = prior_mean + prior_std * raw`` for identity,
albedo, light and pose (so a zero output is the average face), and ``sigmoid(raw)`` for the expression weights,
which live in ``[0, 1]``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.plugins.head_rig.latent import LATENT_DIM, SLICES
from toonlift.plugins.head_rig.prior import prior_moments


class CoarseRegressor(nn.Module):
    """Image ``[B, 3, S, S]`` in ``[-1, 1]`` -> rig latent ``[B, 53]``.

    Args:
        width: channels of the first stage (doubled per stage, four stages).
        prior_domain: the world domain whose prior mean and spread scale the outputs.
    """

    def __init__(self, width: int = 32, prior_domain: str = "photo") -> None:
        super().__init__()
        if width < 4:
            raise ConfigError(f"CoarseRegressor width must be >= 4, got {width}.")
        layers: list[nn.Module] = []
        ch = 3
        for k in range(4):
            out = width * 2**k
            layers += [
                nn.Conv2d(ch, out, 3, 2, 1),
                nn.GroupNorm(min(8, out), out),
                nn.SiLU(),
                nn.Conv2d(out, out, 3, 1, 1),
                nn.GroupNorm(min(8, out), out),
                nn.SiLU(),
            ]
            ch = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(ch, LATENT_DIM)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)  # start at the prior mean (expressions at 0.5)
        mean, std = prior_moments(prior_domain)
        self.register_buffer("prior_mean", mean.clone())
        self.register_buffer("prior_std", std.clone())

    def forward(self, image: Tensor) -> Tensor:
        raw = self.head(self.features(image).mean((2, 3)))  # [B, 53]
        latent = self.prior_mean + self.prior_std * raw
        e = SLICES["expression"]
        return torch.cat([latent[:, : e.start], torch.sigmoid(raw[:, e]), latent[:, e.stop :]], 1)
