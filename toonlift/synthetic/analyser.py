"""The face analyser: a small CNN that reads identity, expression, pose, light and the face mask off a 64 px face.

Trained on the synthetic photo domain (``python cli.py fit --config configs/analyser.yaml``) and shipped as
``toonlift/assets/synthetic_analyser.safetensors`` + ``.json``. It backs three plugins: the identity encoder
(identity coefficients as the embedding, early feature maps as low-level features), the feature extractor (pooled
features for FID/KID on the synthetic world) and the face parser (its mask head).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import CheckpointError
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.synthetic.identity_basis import IDENTITY_NAMES
from toonlift.utils.io import load_safetensors, save_safetensors

DEFAULT_WEIGHTS = Path(__file__).resolve().parent.parent / "assets" / "synthetic_analyser.safetensors"
INPUT_SIZE = 64
# Regression targets are predicted normalised: value = raw * scale + offset (pose degrees, light a/b/dx/dy).
_POSE_SCALE = (30.0, 12.0, 4.0)
_LIGHT_OFFSET = (0.4, 0.65, 0.0, -0.15)
_LIGHT_SCALE = (0.09, 0.12, 0.58, 0.38)


@dataclass(frozen=True)
class AnalyserOutput:
    """What the analyser reads off a batch of faces.

    Attributes:
        identity: ``[B, K]`` identity coefficients (photo-domain identity).
        expression: ``[B, E]`` blendshape weights.
        pose: ``[B, 3]`` yaw, pitch, roll in degrees.
        light: ``[B, 4]`` ambient, diffuse, ``dx``, ``dy``.
        mask_logits: ``[B, 1, 16, 16]`` face-region logits.
        features: ``[B, C]`` pooled global features.
        low: ``[B, C_low, 16, 16]`` low-level feature maps.
    """

    identity: Tensor
    expression: Tensor
    pose: Tensor
    light: Tensor
    mask_logits: Tensor
    features: Tensor
    low: Tensor


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class FaceAnalyser(nn.Module):
    """The CNN (about 1.2 M parameters at ``width=32``).

    Args:
        width: channels of the first stage (later stages use 2x, 4x, 8x).
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = int(width)
        self.width = w
        self.stem = nn.Sequential(_block(3, w, 1), _block(w, w, 2))  # 32 px
        self.stage2 = nn.Sequential(_block(w, 2 * w, 2), _block(2 * w, 2 * w, 1))  # 16 px
        self.stage3 = nn.Sequential(_block(2 * w, 4 * w, 2), _block(4 * w, 4 * w, 1))  # 8 px
        self.stage4 = nn.Sequential(_block(4 * w, 8 * w, 2), _block(8 * w, 8 * w, 1))  # 4 px
        self.num_identity, self.num_expression = len(IDENTITY_NAMES), len(EXPRESSION_NAMES)
        self.head = nn.Sequential(
            nn.Linear(8 * w, 8 * w),
            nn.ReLU(inplace=True),
            nn.Linear(8 * w, self.num_identity + self.num_expression + 7),
        )
        self.mask_head = nn.Conv2d(2 * w + 4 * w, 1, 1)
        self.register_buffer("pose_scale", torch.tensor(_POSE_SCALE))
        self.register_buffer("light_offset", torch.tensor(_LIGHT_OFFSET))
        self.register_buffer("light_scale", torch.tensor(_LIGHT_SCALE))

    @property
    def num_features(self) -> int:
        return 8 * self.width

    @staticmethod
    def prepare(image: Tensor) -> Tensor:
        """Resize ``[B, 3, H, W]`` images in ``[-1, 1]`` to the analyser's 64 px input (antialiased)."""
        if image.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            image = F.interpolate(image, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True)
        return image

    def forward(self, image: Tensor) -> AnalyserOutput:
        """Analyse images ``[B, 3, H, W]`` in ``[-1, 1]`` (any size; resized to 64 px)."""
        x = self.stem(self.prepare(image))
        low = self.stage2(x)  # [B, 2w, 16, 16]
        mid = self.stage3(low)  # [B, 4w, 8, 8]
        feat = self.stage4(mid).mean((2, 3))  # [B, 8w]
        raw = self.head(feat)
        k, e = self.num_identity, self.num_expression
        mask = self.mask_head(torch.cat([low, F.interpolate(mid, scale_factor=2.0, mode="nearest")], 1))
        return AnalyserOutput(
            identity=raw[:, :k],
            expression=raw[:, k : k + e],
            pose=raw[:, k + e : k + e + 3] * self.pose_scale,
            light=raw[:, k + e + 3 :] * self.light_scale + self.light_offset,
            mask_logits=mask,
            features=feat,
            low=low,
        )

    def save(self, path: str | Path, meta: dict | None = None) -> None:
        """Write ``path`` (safetensors) and its JSON sidecar (architecture + ``meta``), atomically."""
        info = {"architecture": "FaceAnalyser", "width": self.width, **(meta or {})}
        save_safetensors(path, self.state_dict(), info)

    @classmethod
    def load(cls, path: str | Path | None = None) -> FaceAnalyser:
        """Load weights (default: the shipped ``toonlift/assets/synthetic_analyser.safetensors``), in eval mode."""
        p = Path(path) if path is not None else DEFAULT_WEIGHTS
        tensors, meta = load_safetensors(p, what="synthetic face-analyser weights")
        if meta.get("architecture") != "FaceAnalyser":
            raise CheckpointError(
                f"'{p}' is not a toonlift face-analyser file (its sidecar names architecture "
                f"{meta.get('architecture')!r}). Train one with `python cli.py fit --config configs/analyser.yaml`."
            )
        net = cls(width=int(meta.get("width", 32)))
        try:
            net.load_state_dict(tensors)
        except RuntimeError as err:
            raise CheckpointError(f"The face-analyser weights '{p}' do not fit the architecture: {err}") from err
        return net.eval()
