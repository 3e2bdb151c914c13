"""The face-parser interface: face image to a soft mask of the face region."""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn

from toonlift.plugins.examples import PluginExample


class FaceParser(PluginExample, nn.Module, ABC):
    """Abstract face parser (entry-point group ``toonlift.face_parsers``)."""

    @abstractmethod
    def forward(self, image: Tensor) -> Tensor:
        """Face-region mask ``[B, 1, H, W]`` in ``[0, 1]`` of images ``[B, 3, H, W]`` in ``[-1, 1]``."""
