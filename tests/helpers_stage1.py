"""Shared helpers of the Stage-1 tests: generated image folders of every pixel format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def smooth_rgb(seed: int, size: int = 40, height: int | None = None) -> np.ndarray:
    """A smooth random colour image ``[H, W, 3]`` uint8 (blobs, so resizing is meaningful)."""
    rng = np.random.default_rng(seed)
    h = height or size
    yy, xx = np.mgrid[0:h, 0:size] / max(h, size)
    img = np.zeros((h, size, 3))
    for c in range(3):
        fx, fy, ph = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 6.28)
        img[..., c] = 0.5 + 0.5 * np.sin(fx * 6.28 * xx + ph) * np.cos(fy * 6.28 * yy)
    return (img * 255).round().astype(np.uint8)


def write_image_folder(root: Path, n: int = 8, size: int = 40, nested: bool = True) -> Path:
    """``n`` PNG/JPEG images (in a sub-folder when ``nested``) under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        folder = root / "sub" if nested and i % 2 else root
        folder.mkdir(exist_ok=True)
        ext = "jpg" if i % 3 == 2 else "png"
        Image.fromarray(smooth_rgb(i, size)).save(folder / f"img{i:03d}.{ext}")
    return root
