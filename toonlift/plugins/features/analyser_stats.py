"""Style statistics of the synthetic analyser's low-level maps (registry ``synthetic_analyser_stats``).

The pooled analyser features (``synthetic_analyser``) describe the face (identity, expression, pose); a style
encoder for one-shot stylisation (3DArtmator's directional loss, Your3dEmoji's exemplar loss) should rather describe
the rendering: line, texture and colour. This extractor summarises the analyser's stem (32 px), 16-px and 8-px maps
by their channel mean and std (AdaIN statistics) or their Gram matrices (Gatys), concatenated into one vector.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.functional.feature_stats import channel_mean_std, gram_upper
from toonlift.plugins.features.base import FeatureExtractor
from toonlift.synthetic.analyser import FaceAnalyser

STATISTICS = ("meanstd", "gram")
LAYERS = ("stem", "stage2", "stage3")  # 32, 16 and 8 px maps of widths w, 2w, 4w


class AnalyserStatsFeatureExtractor(FeatureExtractor):
    """Channel mean/std or Gram statistics of the analyser's low-level maps, as one vector per image.

    Args:
        statistic: ``"meanstd"`` (``2 C`` per layer) or ``"gram"`` (``C (C + 1) / 2`` per layer).
        layers: which of ``stem``, ``stage2``, ``stage3`` to summarise.
        weights: analyser safetensors file (default: the shipped one).
    """

    def __init__(
        self, statistic: str = "meanstd", layers: tuple[str, ...] = LAYERS, weights: str | None = None
    ) -> None:
        super().__init__()
        if statistic not in STATISTICS:
            raise ConfigError(f"synthetic_analyser_stats: statistic must be one of {STATISTICS}, got {statistic!r}.")
        bad = [name for name in layers if name not in LAYERS]
        if bad or not layers:
            raise ConfigError(
                f"synthetic_analyser_stats: layers must be a non-empty subset of {LAYERS}, got {list(layers)}."
            )
        self.statistic = statistic
        self.layers = tuple(layers)
        self.analyser = FaceAnalyser.load(weights).requires_grad_(False)

    @classmethod
    def example_args(cls, workdir: Any) -> dict[str, Any]:
        return {"statistic": "gram", "layers": ("stem", "stage2")}

    def train(self, mode: bool = True) -> AnalyserStatsFeatureExtractor:
        super().train(mode)
        self.analyser.eval()  # its BatchNorm statistics are part of the measure
        return self

    @property
    def num_features(self) -> int:
        widths = {"stem": 1, "stage2": 2, "stage3": 4}
        sizes = [widths[name] * self.analyser.width for name in self.layers]
        return sum(2 * c if self.statistic == "meanstd" else c * (c + 1) // 2 for c in sizes)

    def maps(self, image: Tensor) -> dict[str, Tensor]:
        """The analyser's ``stem`` ``[B, w, 32, 32]``, ``stage2`` ``[B, 2w, 16, 16]``, ``stage3`` ``[B, 4w, 8, 8]``."""
        a = self.analyser
        out = {"stem": a.stem(a.prepare(image))}
        out["stage2"] = a.stage2(out["stem"])
        if "stage3" in self.layers:
            out["stage3"] = a.stage3(out["stage2"])
        return out

    def forward(self, image: Tensor) -> Tensor:
        """Statistics ``[B, num_features]`` of images ``[B, 3, H, W]`` in ``[-1, 1]`` (differentiable)."""
        maps = self.maps(image.to(next(self.analyser.parameters()).dtype))
        summarise = channel_mean_std if self.statistic == "meanstd" else gram_upper
        return torch.cat([summarise(maps[name]) for name in self.layers], dim=1)
