"""dlib's face-recognition ResNet as a feature extractor (registry ``dlib_resnet``), for the style losses offline.

The same network and weights as the identity encoder ``dlib_resnet`` (``plugins/identity/dlib_resnet.py``; CC0
weights from the PyPI package ``face-recognition-models``), answering either its 128-D descriptor or, with
``output="pooled"``, the 256-D average-pooled activations before the last linear layer (less identity-specific,
closer to appearance).
"""

from __future__ import annotations

from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.plugins.features.base import FeatureExtractor
from toonlift.plugins.identity.arcface import FFHQ_FACE_BOX
from toonlift.plugins.identity.dlib_resnet import DlibResnetIdentityEncoder

OUTPUTS = ("descriptor", "pooled")


class DlibResnetFeatureExtractor(FeatureExtractor):
    """dlib's ResNet-29 features of a face crop (differentiable, frozen).

    Args:
        weights: ``dlib_face_recognition_resnet_model_v1.dat``; ``null`` = the copy of ``face-recognition-models``.
        face_box: ``(top, bottom, left, right)`` crop fractions (default: the FFHQ-aligned face box); ``null`` when
            the input is already a dlib face chip.
        output: ``"descriptor"`` (128-D) or ``"pooled"`` (256-D, before the final linear layer).
    """

    def __init__(
        self,
        weights: str | None = None,
        face_box: tuple[float, float, float, float] | None = FFHQ_FACE_BOX,
        output: str = "descriptor",
    ) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ConfigError(f"dlib_resnet feature extractor: output must be one of {OUTPUTS}, got {output!r}.")
        self.output = output
        self.net = DlibResnetIdentityEncoder(weights=weights, face_box=face_box).requires_grad_(False)

    def train(self, mode: bool = True) -> DlibResnetFeatureExtractor:
        super().train(mode)
        self.net.eval()
        return self

    @property
    def num_features(self) -> int:
        return 128 if self.output == "descriptor" else 256

    def forward(self, image: Tensor) -> Tensor:
        """Features ``[B, num_features]`` of images ``[B, 3, H, W]`` in ``[-1, 1]``."""
        if self.output == "descriptor":
            return self.net(image)
        return self.net.pooled(self.net.chip(image))
