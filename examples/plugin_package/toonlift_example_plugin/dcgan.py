"""A DCGAN generator as a toonlift backbone: the smallest real generator a third party might plug in.

``z [B, z_dim]`` -> two-layer mapping MLP -> ``w [B, 1, w_dim]`` -> a 4x4 seed -> transposed convolutions doubling
the resolution up to ``size`` -> ``tanh`` RGB. It offers only the ``Exportable`` capability, so Stage 1 trains it
from scratch (structure loss off) and exports it through toonlift's one export path.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.plugins.backbones.base import Backbone, BackboneOutput


class DCGANBackbone(Backbone):
    """DCGAN generator (registry name ``dcgan`` once this package is installed).

    Args:
        size: output side in pixels (a power of two, at least 8).
        latent_dim: size of ``z`` and ``w``.
        width: channels of the 4x4 seed; halved at each doubling (at least 8).
    """

    def __init__(self, size: int = 64, latent_dim: int = 64, width: int = 128) -> None:
        super().__init__()
        if size < 8 or size & (size - 1):
            raise ConfigError(f"DCGANBackbone size must be a power of two >= 8, got {size}.")
        self.size, self.latent_dim, self.width = size, latent_dim, width
        self.map = nn.Sequential(
            nn.Linear(latent_dim, latent_dim), nn.LeakyReLU(0.2), nn.Linear(latent_dim, latent_dim)
        )
        self.seed = nn.Linear(latent_dim, width * 16)  # w -> [B, width, 4, 4]
        layers: list[nn.Module] = []
        ch = width
        for _ in range(int(math.log2(size)) - 2):
            out = max(ch // 2, 8)
            layers += [nn.ConvTranspose2d(ch, out, 4, 2, 1), nn.BatchNorm2d(out), nn.LeakyReLU(0.2)]
            ch = out
        self.up = nn.Sequential(*layers)
        self.to_rgb = nn.Conv2d(ch, 3, 3, padding=1)

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"size": 16, "latent_dim": 8, "width": 16}

    resolution = property(lambda self: self.size)
    z_dim = property(lambda self: self.latent_dim)
    w_dim = property(lambda self: self.latent_dim)
    num_ws = property(lambda self: 1)

    def arch_args(self) -> dict[str, Any]:
        """Capability ``Exportable``: what rebuilds this architecture."""
        return {"size": self.size, "latent_dim": self.latent_dim, "width": self.width}

    def mapping(
        self, z: Tensor, cond: Tensor | None = None, truncation: float = 1.0, truncation_latent: Tensor | None = None
    ) -> Tensor:
        """``z [B, latent_dim]`` -> ``w [B, 1, latent_dim]``, truncated toward ``truncation_latent`` if given."""
        w = self.map(z)
        if truncation != 1.0 and truncation_latent is not None:
            w = truncation_latent + truncation * (w - truncation_latent)
        return w.unsqueeze(1)

    def synthesis(
        self, ws: Tensor, cond: Tensor | None = None, noise_mode: str = "const", return_features: tuple[str, ...] = ()
    ) -> BackboneOutput:
        """``w`` -> images ``[B, 3, size, size]`` in ``[-1, 1]`` (no noise inputs, no feature taps)."""
        if return_features:
            raise ConfigError("DCGANBackbone has no feature taps.")
        ws = self.broadcast_ws(ws)
        x = self.seed(ws[:, 0]).view(-1, self.width, 4, 4)
        return BackboneOutput(image=self.to_rgb(self.up(x)).tanh(), ws=ws)
