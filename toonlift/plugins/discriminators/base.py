"""The discriminator interface: image to realness logit, with taps on its first blocks."""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn


class Discriminator(nn.Module, ABC):
    """Abstract discriminator (entry-point group ``toonlift.discriminators``)."""

    @property
    @abstractmethod
    def resolution(self) -> int:
        """Input image side in pixels."""

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
