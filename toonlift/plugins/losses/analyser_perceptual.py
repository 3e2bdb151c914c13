"""A perceptual distance that needs no downloaded weights: LPIPS's recipe on the synthetic analyser's features.

LPIPS compares unit-normalised feature maps of an ImageNet network through learned linear heads; its VGG16 backbone
cannot be fetched on an offline machine. On the synthetic world the shipped face analyser (trained on the photo
domain) is the natural feature network: this loss takes its stem, 16x16 and 8x8 feature maps, normalises each over
channels and averages the squared differences (LPIPS with uniform heads, Zhang et al. 2018, "lin" replaced by mean).
It stands in for LPIPS in the demo's Stage 3 and in the projector on the synthetic world; its values are *not* LPIPS.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from toonlift.plugins.losses.base import Loss
from toonlift.synthetic.analyser import FaceAnalyser


def normalized_feature_distance(pred: list[Tensor], target: list[Tensor]) -> Tensor:
    """Per-sample ``sum_l mean_hw ||f̂_l(pred) - f̂_l(target)||²`` with ``f̂`` unit-normalised over channels.

    Args:
        pred: feature maps ``[B, C_l, H_l, W_l]`` of the first images, one per layer.
        target: the same layers for the second images.

    Returns:
        ``[B]`` distances (0 for identical features, at most 4 per layer).
    """
    total = pred[0].new_zeros(pred[0].shape[0])
    for a, b in zip(pred, target, strict=True):
        a = a / (a.norm(dim=1, keepdim=True) + 1e-10)
        b = b / (b.norm(dim=1, keepdim=True) + 1e-10)
        total = total + (a - b).pow(2).sum(1).mean((1, 2))
    return total


class AnalyserPerceptualLoss(Loss):
    """Perceptual distance on the synthetic face analyser's feature maps (registry name ``analyser_perceptual``).

    Args:
        weight: multiplier of the term (GAN2Shape's lambda_perc is 0.5 for LPIPS).
        weights: analyser safetensors file (default: the shipped ``toonlift/assets/synthetic_analyser.safetensors``).
    """

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        gen = torch.Generator().manual_seed(0)
        pred = (torch.rand(batch, 3, 64, 64, generator=gen) * 2 - 1).requires_grad_(True)
        return pred, torch.rand(batch, 3, 64, 64, generator=gen) * 2 - 1

    @property
    def name(self) -> str:
        """Key of the term in logs and metrics: not ``lpips``, which it imitates but is not."""
        return "analyser_perceptual"

    def __init__(self, weight: float = 1.0, weights: str | None = None) -> None:
        super().__init__(weight)
        self.analyser = FaceAnalyser.load(weights).requires_grad_(False)

    def train(self, mode: bool = True) -> AnalyserPerceptualLoss:
        # the analyser's BatchNorm statistics are part of the measure: always eval
        super().train(mode)
        self.analyser.eval()
        return self

    def features(self, image: Tensor) -> list[Tensor]:
        """Stem ``[B, w, 32, 32]``, ``[B, 2w, 16, 16]`` and ``[B, 4w, 8, 8]`` maps of images in ``[-1, 1]``."""
        a = self.analyser
        stem = a.stem(a.prepare(image))
        low = a.stage2(stem)
        return [stem, low, a.stage3(low)]

    def distance(self, pred: Tensor, target: Tensor) -> Tensor:
        """Per-sample distance ``[B]`` between images ``[B, 3, H, W]`` in ``[-1, 1]`` (differentiable)."""
        dtype = next(self.analyser.parameters()).dtype  # the analyser's own precision, whatever autocast says
        with torch.autocast(pred.device.type, enabled=False):
            return normalized_feature_distance(self.features(pred.to(dtype)), self.features(target.to(dtype)))

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Mean distance over the batch."""
        return self.distance(pred, target).mean()
