"""The landmark-detector interface: face images in, 68 iBUG landmarks (pixels) per image out.

Every detector answers in one layout, the 68 points of iBUG 300-W (0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes,
48-67 mouth), in pixel coordinates with pixel centres on integers (``x`` right, ``y`` down; toonlift's camera and
dlib agree). A detector that finds no face in an image says so in ``found`` instead of guessing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from toonlift.plugins.examples import PluginExample
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import FaceParams

NUM_LANDMARKS = 68
# iBUG groups, the rows of 002's Table 1 (eyes, nose, brow, mouth, contour)
GROUPS: dict[str, tuple[int, ...]] = {
    "contour": tuple(range(0, 17)),
    "brow": tuple(range(17, 27)),
    "nose": tuple(range(27, 36)),
    "eyes": tuple(range(36, 48)),
    "mouth": tuple(range(48, 68)),
}


@dataclass
class Landmarks:
    """What a detector returns for a batch of ``B`` images.

    Attributes:
        points: ``[B, 68, 2]`` pixel ``(x, y)``; zeros where ``found`` is false.
        found: ``[B]`` bool, a face was found.
        score: ``[B]`` detector confidence (1 for ground truth, 0 where nothing was found).
        box: ``[B, 4]`` face box ``(x0, y0, x1, y1)`` in pixels (the landmarks' extent for ground truth).
        visible: ``[B, 68]`` bool, the point is not hidden (ground truth knows it; detectors say all true).
    """

    points: Tensor
    found: Tensor
    score: Tensor
    box: Tensor
    visible: Tensor


def to_uint8_images(image: Tensor) -> list[np.ndarray]:
    """``[B, 3, H, W]`` in ``[-1, 1]`` to a list of ``[H, W, 3]`` uint8 RGB arrays (what C++ detectors take)."""
    x = ((image.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return [np.ascontiguousarray(im.permute(1, 2, 0).cpu().numpy()) for im in x]


def world_example_images(params: FaceParams, domain: str, size: int) -> Tensor:
    """World renders ``[B, 3, size, size]`` of ``params`` in the current default floating dtype (the world renders
    in float32 whatever the default is; the contract tests ask for float64 inputs)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        image = FaceRenderer()(params, domain, size, outputs=())["image"]
    finally:
        torch.set_default_dtype(old)
    return image.to(old)


def landmark_box(points: Tensor) -> Tensor:
    """``[B, 4]`` extent ``(x0, y0, x1, y1)`` of landmarks ``[B, K, 2]``."""
    return torch.cat([points.amin(1), points.amax(1)], dim=1)


class LandmarkDetector(PluginExample, nn.Module, ABC):
    """Abstract 68-point landmark detector (entry-point group ``toonlift.landmark_detectors``).

    ``forward(image, *extra)`` takes images ``[B, 3, H, W]`` in ``[-1, 1]`` (and whatever ``example_inputs`` shows
    a detector needs besides) and returns :class:`Landmarks` in the image's floating dtype.
    """

    num_landmarks: int = NUM_LANDMARKS

    @abstractmethod
    def forward(self, image: Tensor, *extra: object) -> Landmarks:
        """Landmarks of the largest face in each image."""
