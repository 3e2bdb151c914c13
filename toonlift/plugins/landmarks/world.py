"""The synthetic world's true 68 landmarks as a detector (registry name ``synthetic_gt``): the oracle the real
detectors are scored against, and the landmark source for training on world renders.

It does not look at the pixels: it takes the faces' factors (``FaceParams``) beside the images and projects the
68 landmark vertices exactly as the world's renderer does, with the renderer's visibility flags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.plugins.landmarks.base import LandmarkDetector, Landmarks, landmark_box, world_example_images
from toonlift.synthetic.render import DOMAINS, FaceRenderer
from toonlift.synthetic.sampler import FaceParams, sample_params


class WorldLandmarkDetector(LandmarkDetector):
    """Ground-truth landmarks of synthetic faces (``forward(image, params)``).

    Args:
        domain: the domain the images were rendered in (``"photo"``, ``"cartoon"`` or ``"ink"``): the cartoon
            domains draw the toon-transformed head, whose landmarks differ.
    """

    @classmethod
    def example_args(cls, workdir: Path) -> dict[str, Any]:
        del workdir
        return {"domain": "photo"}

    def example_inputs(self, batch: int = 2) -> tuple[Any, ...]:
        params = sample_params(0, range(batch))
        return world_example_images(params, self.domain, 32), params

    def __init__(self, domain: str = "photo") -> None:
        super().__init__()
        if domain not in DOMAINS:
            raise ConfigError(f"synthetic_gt domain must be one of {', '.join(DOMAINS)}, got '{domain}'.")
        self.domain = domain
        self._renderer = FaceRenderer()

    def forward(self, image: Tensor, params: FaceParams) -> Landmarks:  # type: ignore[override]
        """True landmarks of the faces ``params`` drawn in ``image`` ``[B, 3, H, W]`` (square)."""
        if not isinstance(params, FaceParams) or len(params) != image.shape[0]:
            raise ConfigError(
                "synthetic_gt needs the faces' FaceParams (one per image) beside the images: it reads the world's "
                "truth, not the pixels. Use a real detector (dlib68) for images without factors."
            )
        size = image.shape[-1]
        out = self._renderer(params, self.domain, size, outputs=("landmarks", "landmarks_visible"))
        points = out["landmarks"].to(device=image.device, dtype=image.dtype)
        b = points.shape[0]
        return Landmarks(
            points=points,
            found=torch.ones(b, dtype=torch.bool, device=image.device),
            score=torch.ones(b, dtype=image.dtype, device=image.device),
            box=landmark_box(points),
            visible=out["landmarks_visible"].to(image.device),
        )
