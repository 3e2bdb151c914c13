"""The discriminator interface: image to realness logit, with taps on its first blocks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import Tensor, nn

from toonlift.plugins.examples import PluginExample


class Discriminator(PluginExample, nn.Module, ABC):
    """Abstract discriminator (entry-point group ``toonlift.discriminators``)."""

    @property
    @abstractmethod
    def resolution(self) -> int:
        """Input image side in pixels."""

    @classmethod
    def from_arch(cls, arch: dict[str, Any]) -> Discriminator:
        """A randomly initialised discriminator of the architecture ``arch`` (the sidecar of an export)."""
        return cls(**arch)

    def export_state(self) -> dict[str, Tensor]:
        """The tensors an export stores (default: the state dict)."""
        return dict(self.state_dict())

    def load_export_state(self, tensors: dict[str, Tensor], source: str) -> None:
        """Fill the model from an export's tensors, strictly, with one message naming ``source`` on a mismatch."""
        from toonlift.plugins.export import load_state_checked  # the export module imports this one

        load_state_checked(self, dict(tensors), source)

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        """Random images ``[batch, 3, resolution, resolution]`` (and cameras when conditioned)."""
        gen = torch.Generator().manual_seed(0)
        image = torch.rand(batch, 3, self.resolution, self.resolution, generator=gen) * 2 - 1
        return (image,) if not self.cond_dim else (image, torch.randn(batch, self.cond_dim, generator=gen))

    @property
    def cond_dim(self) -> int:
        """Size of the conditioning input (0 when the discriminator takes none, 25 for an EG3D camera)."""
        return 0

    @abstractmethod
    def forward(self, image: Tensor, cond: Tensor | None = None) -> Tensor:
        """Logits ``[B, 1]`` for images ``[B, 3, H, W]`` in ``[-1, 1]``.

        Args:
            image: the images.
            cond: ``[B, cond_dim]`` conditioning (camera) when the discriminator is conditioned; else ignored.
        """

    @abstractmethod
    def block_features(self, image: Tensor, num_blocks: int) -> list[Tensor]:
        """Outputs of the first ``num_blocks`` blocks (the Stage-3 feature loss compares these).

        Args:
            image: ``[B, 3, H, W]`` in ``[-1, 1]``.
            num_blocks: how many blocks to run and return, from the input side.
        """
