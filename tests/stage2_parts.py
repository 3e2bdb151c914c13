"""Small real networks for the Stage-2 tests: a random tiny generator and a random tiny identity encoder."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from toonlift.plugins.identity.base import IdentityEncoder
from toonlift.plugins.stylegan2 import StyleGAN2Backbone


class TinyIdentityEncoder(IdentityEncoder):
    """Two strided convolutions, pooling and a linear embedding; ``low_level`` is the first convolution's output.

    Args:
        seed: weight seed.
        dim: embedding size.
    """

    def __init__(self, seed: int = 0, dim: int = 16) -> None:
        super().__init__()
        with torch.random.fork_rng():  # seeded weights without touching the caller's random state
            torch.manual_seed(seed)
            self._build(dim)
        self._dim = dim

    def _build(self, dim: int) -> None:
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.head = nn.Linear(16 * 4 * 4, dim)

    @property
    def embedding_dim(self) -> int:
        return self._dim

    def low_level(self, image: Tensor) -> Tensor:
        return torch.relu(self.conv1(image))

    def forward(self, image: Tensor) -> Tensor:
        x = torch.relu(self.conv2(self.low_level(image)))
        return self.head(nn.functional.adaptive_avg_pool2d(x, 4).flatten(1))


def tiny_generator(seed: int = 0, size: int = 32) -> StyleGAN2Backbone:
    """A random StyleGAN2 at ``size`` px with 32 channels and a 2-layer mapping (fast on CPU)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return StyleGAN2Backbone(size=size, style_dim=64, n_mlp=2, channel_max=32).eval()
