"""Reader for dlib's DNN serialisation (``.dat`` files written by ``dlib::serialize(net)``), layer parameters only.

Facts of the format used here (dlib ``serialize.h``, ``dnn/tensor.h``, ``dnn/layers.h``, ``dnn/input.h``):

* integers are packed: one control byte (low 4 bits = number of little-endian bytes that follow, bit 7 = negative);
* strings are a packed length followed by the bytes; every layer starts with its version string (``"con_4"``...);
* floats and doubles are a packed int64 mantissa and a packed int16 exponent (``value = m * 2**e``);
* tensors are a packed version (2), four packed sizes ``n, k, nr, nc`` and then ``n*k*nr*nc`` raw little-endian
  float32 values;
* ``add_layer`` wrappers write their sub-network first, so layer records appear from the input to the output, each
  followed by bookkeeping (flags and empty gradient tensors) that this reader skips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from toonlift.errors import CheckpointError

LAYER_TAGS = (
    "input_rgb_image_sized",
    "loss_metric_2",
    "max_pool_2",
    "avg_pool_2",
    "add_prev_",
    "affine_",
    "relu_",
    "con_4",
    "fc_2",
)
# a layer record starts with its version string: packed length (0x01, len) then the name
_TAG = re.compile(b"\\x01(?P<n>[\\x04-\\x15])(?P<tag>" + b"|".join(t.encode() for t in LAYER_TAGS) + b")")


@dataclass
class DlibLayer:
    """One layer record: its tag, integer fields in file order and its parameter tensor (if any)."""

    tag: str
    ints: list[int] = field(default_factory=list)
    floats: list[float] = field(default_factory=list)
    params: np.ndarray | None = None


class _Reader:
    def __init__(self, data: bytes, pos: int, source: str) -> None:
        self.data, self.pos, self.source = data, pos, source

    def _fail(self, what: str) -> CheckpointError:
        return CheckpointError(
            f"'{self.source}' is not a dlib network file this reader understands ({what} at byte {self.pos})."
        )

    def int(self) -> int:
        if self.pos >= len(self.data):
            raise self._fail("unexpected end of file")
        ctrl = self.data[self.pos]
        size = ctrl & 0x0F
        if size == 0 or size > 8 or self.pos + 1 + size > len(self.data):
            raise self._fail(f"bad integer control byte {ctrl:#x}")
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if ctrl & 0x80 else value

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        return float(mantissa) * 2.0**exponent

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise self._fail(f"tensor version {version}, expected 2")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        end = self.pos + 4 * count
        if count < 0 or end > len(self.data):
            raise self._fail(f"tensor of shape {shape} runs past the end of the file")
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).astype(np.float32)
        self.pos = end
        return values.reshape(shape)


def read_dlib_layers(path: str | Path) -> list[DlibLayer]:
    """Every layer record of a dlib DNN file, from the input to the output.

    Raises:
        CheckpointError: the file is not a dlib network or holds layers this reader does not know.
    """
    p = Path(path)
    data = p.read_bytes()
    layers: list[DlibLayer] = []
    pos = 0
    while True:
        m = _TAG.search(data, pos)
        if m is None:
            break
        tag = m.group("tag").decode()
        if m.group("n")[0] != len(tag):  # the length byte must match, else it is a coincidence in raw data
            pos = m.start() + 1
            continue
        r = _Reader(data, m.end(), str(p))
        layer = DlibLayer(tag)
        if tag == "input_rgb_image_sized":
            layer.floats = [r.float() for _ in range(3)]  # mean red, green, blue
            layer.ints = [r.int(), r.int()]  # rows, columns
        elif tag == "loss_metric_2":
            layer.floats = [r.float(), r.float()]  # margin, distance threshold
        elif tag == "con_4":
            layer.params = r.tensor()
            layer.ints = [r.int() for _ in range(7)]  # filters, rows, cols, stride y/x, padding y/x
        elif tag == "affine_":
            layer.params = r.tensor()
        elif tag in ("max_pool_2", "avg_pool_2"):
            layer.ints = [r.int() for _ in range(6)]  # rows, cols, stride y/x, padding y/x
        elif tag == "fc_2":
            layer.ints = [r.int(), r.int()]  # outputs, inputs
            layer.params = r.tensor()
        layers.append(layer)
        pos = r.pos
    if not layers:
        raise CheckpointError(f"'{p}' holds no dlib DNN layers; expected dlib_face_recognition_resnet_model_v1.dat.")
    return layers
