"""Face parser of the synthetic world: the face analyser's mask head (registry ``synthetic_parser``)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from toonlift.plugins.parsers.base import FaceParser
from toonlift.synthetic.analyser import FaceAnalyser


class SyntheticFaceParser(FaceParser):
    """Soft face-region mask (skin, brows, eyes, nose, lips, mouth, ears; not hair, neck or background).

    Like GAN2Shape's BiSeNet mask (labels 1-13) but learned on the synthetic world, so it runs anywhere without
    downloaded weights. The 16x16 logits are upsampled bilinearly to the input size.

    Args:
        weights: analyser safetensors file (default: the shipped ``toonlift/assets/synthetic_analyser.safetensors``).
    """

    def __init__(self, weights: str | None = None) -> None:
        super().__init__()
        self.analyser = FaceAnalyser.load(weights).requires_grad_(False)

    def train(self, mode: bool = True) -> SyntheticFaceParser:
        super().train(mode)
        self.analyser.eval()
        return self

    def forward(self, image: Tensor) -> Tensor:
        """Mask ``[B, 1, H, W]`` in ``[0, 1]`` of images ``[B, 3, H, W]`` in ``[-1, 1]``."""
        logits = self.analyser(image).mask_logits
        return F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False).sigmoid()
