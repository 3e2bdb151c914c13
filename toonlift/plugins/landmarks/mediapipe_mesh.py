"""MediaPipe Face Mesh as a 68-point detector (registry name ``mediapipe``): BlazeFace finds the faces, Face Mesh
places 468 points on the largest one, :data:`~toonlift.plugins.landmarks.mediapipe_ibug.MESH_TO_IBUG` picks 68.

The models come from the ``mediapipe`` 0.10.21 wheel and run in a TFLite runtime (``mediapipe_runtime``); the dense
468 points are available through :meth:`MediaPipeLandmarkDetector.dense`. Licence: Apache-2.0 (models and code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
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
from toonlift.plugins.landmarks.mediapipe_ibug import MESH_TO_IBUG
from toonlift.plugins.landmarks.mediapipe_runtime import (
    DETECTOR_FILE,
    MESH_FILE,
    detect_faces,
    face_mesh,
    interpreter_class,
    packaged_model,
)
from toonlift.synthetic.sampler import sample_params

MESH_POINTS = 468


class MediaPipeLandmarkDetector(LandmarkDetector):
    """BlazeFace + Face Mesh (468 points) mapped to the 68 iBUG points.

    Args:
        threshold: BlazeFace score needed to accept a face.
        refine: re-crops around the previous mesh before the final one (0 = the detector's box only).
        min_face_probability: Face Mesh's own face probability needed to keep the points.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {}

    @classmethod
    def unavailable(cls) -> str | None:
        """A reason when the mediapipe wheel's models or a TFLite runtime are not installed (optional extras)."""
        try:
            packaged_model(DETECTOR_FILE), packaged_model(MESH_FILE), interpreter_class()
        except (WeightsNotFoundError, ConfigError) as err:
            return str(err)
        return None

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        return (world_example_images(sample_params(0, range(batch)), "photo", 128),)

    def __init__(self, threshold: float = 0.5, refine: int = 1, min_face_probability: float = 0.5) -> None:
        super().__init__()
        if not 0 < threshold < 1 or not 0 <= min_face_probability < 1 or refine < 0:
            raise ConfigError(
                "mediapipe detector needs 0 < threshold < 1, 0 <= min_face_probability < 1 and refine >= 0; got "
                f"{threshold}, {min_face_probability}, {refine}."
            )
        self.threshold, self.refine, self.min_face_probability = float(threshold), int(refine), min_face_probability
        packaged_model(DETECTOR_FILE), packaged_model(MESH_FILE), interpreter_class()  # fail early, clearly

    def dense(self, image: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(points [B, 468, 3] pixels, found [B], box [B, 4])`` of the largest face in each image."""
        b = image.shape[0]
        points = np.zeros((b, MESH_POINTS, 3), np.float32)
        found = np.zeros(b, bool)
        box = np.zeros((b, 4), np.float32)
        for i, im in enumerate(to_uint8_images(image)):
            faces = detect_faces(im, self.threshold)
            if not faces:
                continue
            pts, prob = face_mesh(im, faces[0][0], self.refine)
            if prob < self.min_face_probability:
                continue
            points[i], found[i], box[i] = pts, True, faces[0][0]
        dev, dt = image.device, image.dtype
        return (
            torch.from_numpy(points).to(dev, dt),
            torch.from_numpy(found).to(dev),
            torch.from_numpy(box).to(dev, dt),
        )

    def forward(self, image: Tensor, *extra: object) -> Landmarks:
        """68 iBUG landmarks (pixels) of the largest face of each image ``[B, 3, H, W]`` in ``[-1, 1]``."""
        del extra
        dense, found, box = self.dense(image)
        points = dense[:, list(MESH_TO_IBUG), :2] * found[:, None, None]
        return Landmarks(
            points=points,
            found=found,
            score=found.to(image.dtype),
            box=box,
            visible=found[:, None].expand(-1, NUM_LANDMARKS),
        )
