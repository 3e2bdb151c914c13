"""The identity-encoder interface: face image to an identity embedding (Stage 2's ``f``)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn

from toonlift.plugins.examples import PluginExample


class IdentityEncoder(PluginExample, nn.Module, ABC):
    """Abstract face identity encoder (entry-point group ``toonlift.identity_encoders``).

    Implementations resize and normalise internally: the input is always RGB in ``[-1, 1]``.
    """

    @property
    @abstractmethod
    def embedding_dim(self) -> int:
        """Size of the embedding."""

    @abstractmethod
    def forward(self, image: Tensor) -> Tensor:
        """Embeddings ``[B, embedding_dim]`` of images ``[B, 3, H, W]`` in ``[-1, 1]`` (differentiable)."""

    def low_level(self, image: Tensor) -> Tensor:
        """Low-level feature maps ``[B, C, h, w]`` (Stage 2's ``f_low``); defaults to the image itself."""
        return image
