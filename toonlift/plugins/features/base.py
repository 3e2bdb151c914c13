"""The feature-extractor interface: image to a global feature vector (FID/KID, analysers)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn

from toonlift.plugins.examples import PluginExample


class FeatureExtractor(PluginExample, nn.Module, ABC):
    """Abstract feature extractor (entry-point group ``toonlift.feature_extractors``).

    The input is RGB in ``[-1, 1]``; implementations resize and normalise internally.
    """

    @property
    @abstractmethod
    def num_features(self) -> int:
        """Size of the feature vector."""

    @abstractmethod
    def forward(self, image: Tensor) -> Tensor:
        """Features ``[B, num_features]`` of images ``[B, 3, H, W]`` in ``[-1, 1]``."""
