"""BiSeNet face parser loading ``79999_iter.pth`` (zllrunning/face-parsing.PyTorch layout, CelebAMask-HQ, 19 classes).

Architecture, by state-dict prefix:

* ``cp.resnet``: ResNet-18 (7x7 stem, max-pool, four stages of two basic blocks; ``downsample.{0,1}`` where the
  shape changes) giving features at 1/8, 1/16 and 1/32.
* ``cp.arm16``/``cp.arm32``: attention refinement (conv-BN-ReLU, then a global-pool 1x1 conv + BN sigmoid gate);
  ``cp.conv_avg`` (global context), ``cp.conv_head32``/``cp.conv_head16`` after nearest upsampling.
* ``ffm``: feature fusion of the 1/8 ResNet feature and the upsampled context (conv-BN-ReLU plus a squeeze gate).
* ``conv_out`` (and the auxiliary ``conv_out16``/``conv_out32``): conv-BN-ReLU then a 1x1 conv to 19 logits.

Labels: 0 background, 1 skin, 2/3 brows, 4/5 eyes, 6 glasses, 7/8 ears, 9 earring, 10 nose, 11 mouth, 12/13 lips,
14 neck, 15 necklace, 16 cloth, 17 hair, 18 hat. Stage 2's face region is every label except background and cloth,
as the authors' code does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from toonlift.errors import CheckpointError, ConfigError
from toonlift.plugins.parsers.base import FaceParser
from toonlift.utils.io import require_file, safe_torch_load

_WEIGHTS_HELP = (
    "79999_iter.pth is the BiSeNet face-parsing model released with zllrunning/face-parsing.PyTorch (trained on "
    "CelebAMask-HQ; GAN2Shape ships the same file as checkpoints/parsing/bisenet.pth); download it yourself and pass "
    "its path as 'weights'. toonlift never downloads weights."
)
_MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics, as the reference's test transform
_STD = (0.229, 0.224, 0.225)


class _ConvBNReLU(nn.Module):
    """``conv`` (no bias) -> ``bn`` -> ReLU; attribute names match the reference keys."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1, padding: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class _BasicBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.downsample = None
        if in_ch != out_ch or stride != 1:
            self.downsample = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))

    def forward(self, x: Tensor) -> Tensor:
        res = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        short = x if self.downsample is None else self.downsample(x)
        return F.relu(short + res)


class _ResNet18(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        chans = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
        for i, (cin, cout, stride) in enumerate(chans, start=1):
            setattr(self, f"layer{i}", nn.Sequential(_BasicBlock(cin, cout, stride), _BasicBlock(cout, cout, 1)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = self.layer1(self.maxpool(F.relu(self.bn1(self.conv1(x)))))
        f8 = self.layer2(x)  # [B, 128, H/8, W/8]
        f16 = self.layer3(f8)  # [B, 256, H/16, W/16]
        return f8, f16, self.layer4(f16)  # [B, 512, H/32, W/32]


class _AttentionRefinement(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = _ConvBNReLU(in_ch, out_ch)
        self.conv_atten = nn.Conv2d(out_ch, out_ch, 1, bias=False)
        self.bn_atten = nn.BatchNorm2d(out_ch)

    def forward(self, x: Tensor) -> Tensor:
        feat = self.conv(x)
        gate = torch.sigmoid(self.bn_atten(self.conv_atten(feat.mean((2, 3), keepdim=True))))
        return feat * gate


class _ContextPath(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.resnet = _ResNet18()
        self.arm16 = _AttentionRefinement(256, 128)
        self.arm32 = _AttentionRefinement(512, 128)
        self.conv_head32 = _ConvBNReLU(128, 128)
        self.conv_head16 = _ConvBNReLU(128, 128)
        self.conv_avg = _ConvBNReLU(512, 128, kernel=1, padding=0)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        f8, f16, f32 = self.resnet(x)
        context = self.conv_avg(f32.mean((2, 3), keepdim=True))  # [B, 128, 1, 1], broadcast = nearest upsampling
        up32 = self.conv_head32(F.interpolate(self.arm32(f32) + context, size=f16.shape[-2:], mode="nearest"))
        up16 = self.conv_head16(F.interpolate(self.arm16(f16) + up32, size=f8.shape[-2:], mode="nearest"))
        return f8, up16


class _FeatureFusion(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.convblk = _ConvBNReLU(in_ch, out_ch, kernel=1, padding=0)
        self.conv1 = nn.Conv2d(out_ch, out_ch // 4, 1, bias=False)
        self.conv2 = nn.Conv2d(out_ch // 4, out_ch, 1, bias=False)

    def forward(self, spatial: Tensor, context: Tensor) -> Tensor:
        feat = self.convblk(torch.cat([spatial, context], dim=1))
        gate = torch.sigmoid(self.conv2(F.relu(self.conv1(feat.mean((2, 3), keepdim=True)))))
        return feat * gate + feat


class _Head(nn.Module):
    def __init__(self, in_ch: int, mid_ch: int, n_classes: int) -> None:
        super().__init__()
        self.conv = _ConvBNReLU(in_ch, mid_ch)
        self.conv_out = nn.Conv2d(mid_ch, n_classes, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv_out(self.conv(x))


class BiSeNetFaceParser(FaceParser):
    """BiSeNet face parsing (19 CelebAMask-HQ classes) from ``79999_iter.pth``; the mask is the face region.

    Args:
        weights: path to ``79999_iter.pth`` (a plain state dict in the face-parsing.PyTorch layout).
        input_size: side the image is resized to before parsing (512 as the reference and the authors).
        exclude_labels: labels that are *not* face (default background 0 and cloth 16).
        n_classes: number of classes of the checkpoint (19).
        allow_random_weights: with no ``weights``, keep the random initialisation instead of refusing. Only for
            tests and cost measurements: the masks are then meaningless.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        return {"input_size": 64, "allow_random_weights": True}

    def __init__(
        self,
        weights: str | None = None,
        input_size: int = 512,
        exclude_labels: list[int] | None = None,
        n_classes: int = 19,
        allow_random_weights: bool = False,
    ) -> None:
        super().__init__()
        if input_size < 32 or input_size % 32:
            raise ConfigError(f"BiSeNet input_size must be a positive multiple of 32, got {input_size}.")
        self.input_size = input_size
        self.n_classes = n_classes
        exclude = [0, 16] if exclude_labels is None else list(exclude_labels)
        if any(not 0 <= c < n_classes for c in exclude):
            raise ConfigError(f"exclude_labels must be in [0, {n_classes}), got {exclude}.")
        self.exclude_labels = exclude
        self.cp = _ContextPath()
        self.ffm = _FeatureFusion(256, 256)
        self.conv_out = _Head(256, 256, n_classes)
        self.conv_out16 = _Head(128, 64, n_classes)  # auxiliary heads: kept so the checkpoint loads strictly
        self.conv_out32 = _Head(128, 64, n_classes)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.weights = weights
        if weights is not None or not allow_random_weights:
            self.load_weights(weights or "")
        self.eval()

    def load_weights(self, path: str) -> None:
        """Load ``79999_iter.pth`` strictly with ``weights_only``; clear errors on any mismatch."""
        p = require_file(path, "The BiSeNet face-parsing weights file (79999_iter.pth)", _WEIGHTS_HELP)
        state = safe_torch_load(p, "BiSeNet weights")
        if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
            raise CheckpointError(f"'{p}' is not a state dict of tensors; expected 79999_iter.pth. {_WEIGHTS_HELP}")
        state = {k.removeprefix("module."): v for k, v in state.items()}
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        mismatched = [k for k in state if k in own and own[k].shape != state[k].shape]
        if missing or unexpected or mismatched:
            raise CheckpointError(
                f"'{p}' does not match BiSeNet with {self.n_classes} classes (missing {missing[:5]}, unexpected "
                f"{unexpected[:5]}, wrong shapes {mismatched[:5]}). {_WEIGHTS_HELP}"
            )
        self.load_state_dict(state)

    def logits(self, image: Tensor) -> Tensor:
        """Class logits ``[B, n_classes, s, s]`` at ``input_size`` of images ``[B, 3, H, W]`` in ``[-1, 1]``."""
        x = F.interpolate(image, size=(self.input_size,) * 2, mode="bilinear", align_corners=False)
        x = ((x + 1) / 2 - self.mean) / self.std
        f8, context = self.cp(x)
        out = self.conv_out(self.ffm(f8, context))  # [B, n_classes, s/8, s/8]
        return F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=True)

    def labels(self, image: Tensor) -> Tensor:
        """Per-pixel labels ``[B, H, W]`` (int64) at the image's own size."""
        logits = F.interpolate(self.logits(image), size=image.shape[-2:], mode="bilinear", align_corners=False)
        return logits.argmax(1)

    @torch.no_grad()
    def forward(self, image: Tensor) -> Tensor:
        labels = self.labels(image)
        keep = torch.ones(self.n_classes, dtype=torch.bool, device=image.device)
        keep[self.exclude_labels] = False
        return keep[labels].unsqueeze(1).to(image.dtype)  # [B, 1, H, W]
