"""Head pose and lighting read off a face by the synthetic world's analyser (registry ``synthetic_pose_light``).

What an expression edit must leave alone: Stage 2's optional keep term (``OffsetOptimizer(keep=...)``) holds these
read-outs at their values on the unedited face. Angles are divided by 10 degrees so that a 10-degree turn and a full
swing of a light coefficient weigh about the same.
"""

from __future__ import annotations

import torch
from torch import Tensor

from toonlift.plugins.features.base import FeatureExtractor
from toonlift.synthetic.analyser import FaceAnalyser

DEGREES_PER_UNIT = 10.0


class SyntheticPoseLightReadout(FeatureExtractor):
    """``[yaw, pitch, roll] / 10 degrees`` and ``[ambient, diffuse, dx, dy]`` (7 numbers) per face.

    Args:
        weights: analyser safetensors file (default: the shipped ``toonlift/assets/synthetic_analyser.safetensors``).
    """

    def __init__(self, weights: str | None = None) -> None:
        super().__init__()
        self.analyser = FaceAnalyser.load(weights).requires_grad_(False)

    def train(self, mode: bool = True) -> SyntheticPoseLightReadout:
        super().train(mode)
        self.analyser.eval()  # a frozen judge: batch-norm statistics never move
        return self

    @property
    def num_features(self) -> int:
        return 7

    def forward(self, image: Tensor) -> Tensor:
        """Read-outs ``[B, 7]`` of images ``[B, 3, H, W]`` in ``[-1, 1]`` (differentiable in the image)."""
        out = self.analyser(image)
        return torch.cat([out.pose / DEGREES_PER_UNIT, out.light], dim=1)
