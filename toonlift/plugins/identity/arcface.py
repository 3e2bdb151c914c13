"""ArcFace IR-SE50 face identity encoder loading the widely used ``model_ir_se50.pth`` (InsightFace_Pytorch layout).

Architecture (key layout of TreB1eN/InsightFace_Pytorch ``Backbone(50, drop_ratio, "ir_se")``):

* ``input_layer``: conv 3x3 3->64 (no bias), BatchNorm, PReLU -> ``[B, 64, 112, 112]``.
* ``body.0`` ... ``body.23``: 3 + 4 + 14 + 3 bottleneck units of depths 64, 128, 256, 512; the first unit of each
  stage has stride 2. A unit is ``res_layer = [BN, conv3x3, PReLU, conv3x3(stride), BN, SE]`` plus a shortcut that is
  a 1x1 max-pool with the stride when the width is unchanged, else ``[conv1x1(stride), BN]``.
* ``output_layer``: BN2d(512), dropout, flatten, ``Linear(512 * 7 * 7, 512)``, BN1d(512) -> L2-normalised 512-D.

The input is a 112x112 face in ``[-1, 1]``. For FFHQ-aligned images (StyleGAN output) the face is cropped first the
way pSp/e4e's identity loss does (rows 35-223, columns 32-220 of a 256 image) and pooled to 112.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from toonlift.errors import CheckpointError, ConfigError
from toonlift.plugins.identity.base import IdentityEncoder
from toonlift.utils.io import require_file, safe_torch_load

# FFHQ-aligned face box as fractions of the image side (pSp's crop of a 256 px image: [35:223, 32:220])
FFHQ_FACE_BOX = (35 / 256, 223 / 256, 32 / 256, 220 / 256)
_STAGES = {50: (3, 4, 14, 3), 100: (3, 13, 30, 3), 152: (3, 8, 36, 3)}
_WEIGHTS_HELP = (
    "model_ir_se50.pth is the ArcFace IR-SE50 released with TreB1eN/InsightFace_Pytorch (also used by pSp, e4e and "
    "ReStyle as their identity loss); download it yourself and pass its path as 'weights'. toonlift never downloads "
    "weights."
)


class _SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1, bias=False)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))  # [B, C, 1, 1]
        return x * gate


class _UnitIRSE(nn.Module):
    """One IR-SE bottleneck; submodule indices match the reference keys (``res_layer.N``, ``shortcut_layer.N``)."""

    def __init__(self, in_ch: int, depth: int, stride: int) -> None:
        super().__init__()
        if in_ch == depth:
            self.shortcut_layer: nn.Module = nn.MaxPool2d(1, stride)  # strided identity
        else:
            self.shortcut_layer = nn.Sequential(nn.Conv2d(in_ch, depth, 1, stride, bias=False), nn.BatchNorm2d(depth))
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(in_ch),
            nn.Conv2d(in_ch, depth, 3, 1, 1, bias=False),
            nn.PReLU(depth),
            nn.Conv2d(depth, depth, 3, stride, 1, bias=False),
            nn.BatchNorm2d(depth),
            _SqueezeExcite(depth),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.res_layer(x) + self.shortcut_layer(x)


class ArcFaceIdentityEncoder(IdentityEncoder):
    """ArcFace IR-SE50 (512-D, L2-normalised) from ``model_ir_se50.pth``, read from a path you give.

    Args:
        weights: path to ``model_ir_se50.pth`` (a plain state dict in the InsightFace_Pytorch layout).
        num_layers: 50 (the released model), 100 or 152 (same layout, more units).
        face_box: ``(top, bottom, left, right)`` fractions of the image cropped before pooling to 112 px; the
            default is the FFHQ alignment's face; ``null`` uses the whole image.
        low_level_units: body units run by ``low_level`` after the input layer (3 = the 56x56, 64-channel stage).
        allow_random_weights: with no ``weights``, keep the random initialisation instead of refusing. Only for
            tests and cost measurements: the embeddings are then meaningless.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        return {"num_layers": 50, "allow_random_weights": True}

    def __init__(
        self,
        weights: str | None = None,
        num_layers: int = 50,
        face_box: tuple[float, float, float, float] | None = FFHQ_FACE_BOX,
        low_level_units: int = 3,
        allow_random_weights: bool = False,
    ) -> None:
        super().__init__()
        if num_layers not in _STAGES:
            raise ConfigError(f"ArcFace num_layers must be one of {sorted(_STAGES)}, got {num_layers}.")
        self.face_box = tuple(face_box) if face_box is not None else None
        if self.face_box is not None and not (0 <= self.face_box[0] < self.face_box[1] <= 1):
            raise ConfigError(f"face_box must be (top, bottom, left, right) fractions, got {face_box}.")
        self.input_layer = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64))
        units: list[nn.Module] = []
        in_ch = 64
        for depth, count in zip((64, 128, 256, 512), _STAGES[num_layers]):
            for i in range(count):
                units.append(_UnitIRSE(in_ch, depth, 2 if i == 0 else 1))
                in_ch = depth
        self.body = nn.Sequential(*units)
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(512), nn.Dropout(0.0), nn.Flatten(), nn.Linear(512 * 7 * 7, 512), nn.BatchNorm1d(512)
        )
        if not 0 <= low_level_units <= len(units):
            raise ConfigError(f"low_level_units must be in [0, {len(units)}], got {low_level_units}.")
        self.low_level_units = low_level_units
        self.weights = weights
        if weights is not None or not allow_random_weights:
            self.load_weights(weights or "")
        self.eval()

    @property
    def embedding_dim(self) -> int:
        return 512

    def load_weights(self, path: str) -> None:
        """Load a ``model_ir_se50.pth`` state dict strictly (``weights_only``); clear errors on any mismatch."""
        p = require_file(path, "The ArcFace IR-SE50 weights file (model_ir_se50.pth)", _WEIGHTS_HELP)
        state = safe_torch_load(p, "ArcFace weights")
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]
        if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
            raise CheckpointError(f"'{p}' is not a state dict of tensors; expected model_ir_se50.pth. {_WEIGHTS_HELP}")
        state = {k.removeprefix("module."): v for k, v in state.items()}  # saved from DataParallel
        result = self.load_state_dict(state, strict=False)
        mismatched = [k for k, v in state.items() if k in self.state_dict() and self.state_dict()[k].shape != v.shape]
        if result.missing_keys or result.unexpected_keys or mismatched:
            raise CheckpointError(
                f"'{p}' does not match ArcFace IR-SE (missing {result.missing_keys[:5]}, unexpected "
                f"{result.unexpected_keys[:5]}, wrong shapes {mismatched[:5]}). {_WEIGHTS_HELP}"
            )

    def preprocess(self, image: Tensor) -> Tensor:
        """Crop the face box and pool to ``[B, 3, 112, 112]`` (input in ``[-1, 1]``, as ArcFace was trained)."""
        if self.face_box is not None:
            h, w = image.shape[-2:]
            top, bottom, left, right = self.face_box
            image = image[..., round(top * h) : round(bottom * h), round(left * w) : round(right * w)]
        if image.shape[-2] >= 112 and image.shape[-1] >= 112:
            image = nn.functional.adaptive_avg_pool2d(image, (112, 112))  # what pSp's identity loss does
        else:
            image = nn.functional.interpolate(image, size=(112, 112), mode="bilinear", align_corners=False)
        return image

    def forward(self, image: Tensor) -> Tensor:
        x = self.body(self.input_layer(self.preprocess(image)))
        return nn.functional.normalize(self.output_layer(x), dim=1)

    def low_level(self, image: Tensor) -> Tensor:
        """Early feature maps ``[B, C, 56, 56]`` (input layer + the first ``low_level_units`` units)."""
        x = self.input_layer(self.preprocess(image))
        return self.body[: self.low_level_units](x)
