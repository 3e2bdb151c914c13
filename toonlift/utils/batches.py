"""What image-training modules accept as a batch: an image tensor, or a dict holding one under ``"image"``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from toonlift.errors import DataError


def batch_images(batch: Any) -> Tensor:
    """The ``[B, 3, H, W]`` images of a batch from any toonlift data module.

    Image folders yield tensors; the synthetic world yields dicts of ground truth with the image under ``"image"``.
    """
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, Mapping) and isinstance(batch.get("image"), Tensor):
        return batch["image"]
    raise DataError(
        f"Expected a batch of images (a tensor, or a dict with an 'image' tensor), got {type(batch).__name__}"
        f"{' with keys ' + str(sorted(batch)) if isinstance(batch, Mapping) else ''}. If the data module returns "
        "selected ground truth only, include 'image' in its outputs."
    )


def batch_cond(batch: Any) -> Tensor | None:
    """The ``[B, cond_dim]`` conditioning (camera) of a batch, or ``None`` when the data module gives none.

    Data modules of camera-labelled images return dicts with the camera under ``"cond"``.
    """
    if isinstance(batch, Mapping) and isinstance(batch.get("cond"), Tensor):
        return batch["cond"]
    return None
