"""Feature extractor for distribution metrics on the synthetic world (registry ``synthetic_analyser``)."""

from __future__ import annotations

from torch import Tensor

from toonlift.plugins.features.base import FeatureExtractor
from toonlift.synthetic.analyser import FaceAnalyser


class SyntheticAnalyserFeatureExtractor(FeatureExtractor):
    """The face analyser's pooled global features (256-d), a face-aware stand-in for Inception in FID/KID.

    Args:
        weights: analyser safetensors file (default: the shipped ``toonlift/assets/synthetic_analyser.safetensors``).
    """

    def __init__(self, weights: str | None = None) -> None:
        super().__init__()
        self.analyser = FaceAnalyser.load(weights).requires_grad_(False)

    def train(self, mode: bool = True) -> SyntheticAnalyserFeatureExtractor:
        super().train(mode)
        self.analyser.eval()
        return self

    @property
    def num_features(self) -> int:
        return self.analyser.num_features

    def forward(self, image: Tensor) -> Tensor:
        """Features ``[B, 256]`` of images ``[B, 3, H, W]`` in ``[-1, 1]``."""
        return self.analyser(image).features
