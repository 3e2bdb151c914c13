"""MediaPipe's face models from the ``mediapipe`` 0.10.21 wheel, run by a TFLite interpreter (no MediaPipe import).

Why not ``mediapipe.solutions``: 0.10.21 is the last release that ships the models, and it requires ``numpy<2`` and
``protobuf<5`` while toonlift runs on numpy 2. The ``.tflite`` files themselves need neither: they are read from the
installed wheel's folder (found with ``importlib.util.find_spec``, nothing imported; install it with
``pip install --no-deps mediapipe==0.10.21``) and run by ``ai-edge-litert`` (Google's TFLite runtime, numpy-2
wheels) or ``tflite-runtime``. Models (Apache-2.0):

* ``face_detection_short_range.tflite`` (BlazeFace): 128x128 RGB in ``[-1, 1]``; 896 anchors (strides 8, 16, 16,
  16; two anchors per cell; fixed unit size; centres at cell centres), regressors ``[896, 16]`` (box centre offset,
  size, six key points, in input pixels) and logits ``[896, 1]``.
* ``face_landmark.tflite`` (Face Mesh): 192x192 RGB in ``[0, 1]``; 468 ``(x, y, z)`` in crop pixels and a face
  logit.

The attention variant (478 points with irises) needs MediaPipe's custom ops and does not run outside MediaPipe.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from toonlift.errors import ConfigError, WeightsNotFoundError

DETECTOR_FILE = "modules/face_detection/face_detection_short_range.tflite"
MESH_FILE = "modules/face_landmark/face_landmark.tflite"
_HELP = (
    "MediaPipe's face models ship inside the mediapipe 0.10.21 wheel (Apache-2.0; later releases ship none): "
    "pip install --no-deps mediapipe==0.10.21 (toonlift reads the .tflite files only, so its numpy<2 pin does not "
    "matter), plus a TFLite runtime: pip install ai-edge-litert."
)


def packaged_model(relative: str) -> Path:
    """Path of a model file inside the installed ``mediapipe`` wheel (not imported), or a clear error."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsNotFoundError(f"The mediapipe package (for {Path(relative).name}) is not installed. {_HELP}")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise WeightsNotFoundError(f"{path} is missing: this mediapipe release ships no models. {_HELP}")
    return path


def interpreter_class() -> Any:
    """The TFLite ``Interpreter`` class of ``ai-edge-litert`` or ``tflite-runtime``, or a clear error."""
    for module in ("ai_edge_litert.interpreter", "tflite_runtime.interpreter"):
        if importlib.util.find_spec(module.split(".")[0]) is not None:
            return importlib.import_module(module).Interpreter
    raise ConfigError(f"No TFLite runtime is installed for MediaPipe's face models. {_HELP}")


@lru_cache(maxsize=4)
def load_interpreter(path: str) -> Any:
    """A ready interpreter for a ``.tflite`` file (one per process and file; single-threaded)."""
    it = interpreter_class()(model_path=path, num_threads=1)
    it.allocate_tensors()
    return it


def run(it: Any, x: np.ndarray) -> list[np.ndarray]:
    """Run an interpreter on one float32 input; outputs in the model's order."""
    it.set_tensor(it.get_input_details()[0]["index"], np.ascontiguousarray(x, dtype=np.float32))
    it.invoke()
    return [it.get_tensor(o["index"]).copy() for o in it.get_output_details()]


@lru_cache(maxsize=1)
def blazeface_anchors() -> np.ndarray:
    """The 896 anchor centres ``[896, 2]`` (unit coordinates) of the short-range BlazeFace model."""
    rows = []
    for stride, per_cell in ((8, 2), (16, 6)):  # the three stride-16 layers share their cells: 3 x 2 anchors
        n = 128 // stride
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], 1)
        rows.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(rows)


def resize(img: np.ndarray, box: tuple[float, float, float, float], size: int) -> np.ndarray:
    """Crop ``box`` ``(x0, y0, x1, y1)`` (pixels, may leave the image: zero padding) of ``[H, W, 3]`` uint8 and
    resize it to ``[size, size, 3]`` float32 in ``[0, 1]`` (bilinear, antialiased)."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    src = np.pad(img, ((pad, pad), (pad, pad), (0, 0))) if pad else img
    crop = src[y0 + pad : y1 + pad, x0 + pad : x1 + pad]
    t = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None].float() / 255.0
    t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return t[0].permute(1, 2, 0).numpy()


def detect_faces(img: np.ndarray, threshold: float = 0.5, iou: float = 0.3) -> list[tuple[tuple[float, ...], float]]:
    """Faces ``((x0, y0, x1, y1), score)`` in pixels of a ``[H, W, 3]`` uint8 image, largest first (BlazeFace)."""
    h, w = img.shape[:2]
    side = max(h, w)  # letterbox into a square so the detector sees the true aspect
    ox, oy = (side - w) / 2, (side - h) / 2
    x = resize(img, (-ox, -oy, w + ox, h + oy), 128) * 2 - 1
    it = load_interpreter(str(packaged_model(DETECTOR_FILE)))
    outs = run(it, x[None])
    reg = next(o for o in outs if o.shape[-1] == 16)[0]  # [896, 16]
    logit = next(o for o in outs if o.shape[-1] == 1)[0, :, 0]
    score = 1 / (1 + np.exp(-np.clip(logit.astype(np.float64), -100, 100)))
    anchors = blazeface_anchors()
    cx, cy = reg[:, 0] / 128 + anchors[:, 0], reg[:, 1] / 128 + anchors[:, 1]
    bw, bh = reg[:, 2] / 128, reg[:, 3] / 128
    boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1) * side - np.array([ox, oy, ox, oy])
    keep = []
    for i in np.argsort(-score):
        if score[i] < threshold:
            break
        if all(_iou(boxes[i], boxes[j]) < iou for j in keep):
            keep.append(i)
    found = [(tuple(float(v) for v in boxes[i]), float(score[i])) for i in keep]
    return sorted(found, key=lambda f: -(f[0][2] - f[0][0]) * (f[0][3] - f[0][1]))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / max(union, 1e-12)


def square_box(box: tuple[float, ...], scale: float) -> tuple[float, float, float, float]:
    """The square of side ``scale * max(width, height)`` centred on ``box``."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = scale * max(box[2] - box[0], box[3] - box[1]) / 2
    return cx - half, cy - half, cx + half, cy + half


def face_mesh(img: np.ndarray, box: tuple[float, ...], refine: int = 1) -> tuple[np.ndarray, float]:
    """468 points ``[468, 3]`` (image pixels ``x, y``; ``z`` in the same scale) and the face probability, from a
    face box: a square crop 1.5x the box, then ``refine`` re-crops around the previous points' extent."""
    it = load_interpreter(str(packaged_model(MESH_FILE)))
    crop = square_box(box, 1.5)
    for step in range(refine + 1):
        side = crop[2] - crop[0]
        outs = run(it, resize(img, crop, 192)[None])
        pts = next(o for o in outs if o.size == 1404).reshape(468, 3) * (side / 192)
        pts[:, 0] += crop[0]
        pts[:, 1] += crop[1]
        flag = float(next(o for o in outs if o.size == 1).ravel()[0])
        if step < refine:
            crop = square_box((*pts[:, :2].min(0), *pts[:, :2].max(0)), 1.5)
    return pts, 1 / (1 + np.exp(-np.clip(flag, -100, 100)))
