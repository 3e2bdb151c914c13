"""Image tensors to files: ``[-1, 1]`` float tensors to uint8, grids, atomic PNG writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from toonlift.utils.io import atomic_path


def to_uint8(images: Tensor) -> np.ndarray:
    """``[B, C, H, W]`` or ``[C, H, W]`` in ``[-1, 1]`` to ``uint8`` HWC (B, H, W, C or H, W, C), rounding."""
    x = images.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.movedim(-3, -1).numpy()


def make_grid(images: Tensor, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0) -> Tensor:
    """Tile ``[B, C, H, W]`` images into one ``[C, H', W']`` image with ``nrow`` images per row."""
    b, c, h, w = images.shape
    nrow = nrow or int(np.ceil(np.sqrt(b)))
    ncol = int(np.ceil(b / nrow))
    grid = images.new_full((c, ncol * (h + padding) + padding, nrow * (w + padding) + padding), pad_value)
    for i in range(b):
        r, col = divmod(i, nrow)
        y, x = r * (h + padding) + padding, col * (w + padding) + padding
        grid[:, y : y + h, x : x + w] = images[i]
    return grid


def save_image(image: Tensor, path: str | Path) -> Path:
    """Save one ``[C, H, W]`` image in ``[-1, 1]`` (C = 1 or 3) as PNG/JPEG, atomically."""
    arr = to_uint8(image)
    if arr.shape[-1] == 1:
        arr = arr[..., 0]
    path = Path(path)
    with atomic_path(path) as tmp:
        Image.fromarray(arr).save(tmp, format=(path.suffix.lstrip(".") or "png").upper().replace("JPG", "JPEG"))
    return path


def save_grid(images: Tensor, path: str | Path, nrow: int | None = None) -> Path:
    """Save ``[B, C, H, W]`` images in ``[-1, 1]`` as one grid image."""
    return save_image(make_grid(images, nrow=nrow), path)
