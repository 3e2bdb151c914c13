"""Decode any common image file into a square RGB ``uint8`` array of a fixed size.

Handles the modes real data sets contain: RGBA / LA / palette-with-transparency (alpha composited on a background
colour, or dropped), grayscale, 16-bit grayscale PNG (``I;16`` / ``I``: scaled from ``[0, 65535]``, not clipped),
CMYK JPEG, and EXIF orientation. Resizing is a centre square crop then a Lanczos (default) or box ("area") filter,
which are the anti-aliased filters FID comparisons expect (stylegan2-ada's ``dataset_tool`` uses box/Lanczos).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp")

RESIZE_FILTERS: dict[str, int] = {
    "lanczos": Image.Resampling.LANCZOS,
    "area": Image.Resampling.BOX,
    "box": Image.Resampling.BOX,
    "bicubic": Image.Resampling.BICUBIC,
}

ALPHA_MODES: tuple[str, ...] = ("white", "black", "drop")


def is_image_name(name: str) -> bool:
    """Whether a file name has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS


def _sixteen_bit_to_rgb(img: Image.Image) -> Image.Image:
    """16-bit (``I;16*``) or 32-bit integer (``I``, how Pillow opens some 16-bit PNGs) grayscale to 8-bit RGB.

    Pillow's ``convert("RGB")`` clips these modes at 255 instead of scaling, which turns most pixels white.
    """
    arr = np.asarray(img).astype(np.float64)
    # mode "I" comes from 16-bit PNGs: values are 0..65535. A mode-"I" image whose values fit in 0..255 is 8-bit data.
    scale = 255.0 / 65535.0 if (img.mode.startswith("I;16") or arr.max(initial=0) > 255) else 1.0
    arr8 = np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    return Image.fromarray(arr8, mode="L").convert("RGB")


def to_rgb(img: Image.Image, alpha: str = "white") -> Image.Image:
    """Convert any Pillow image to 8-bit RGB.

    Args:
        img: the decoded image, any mode.
        alpha: what to do with transparency: ``"white"`` / ``"black"`` composite on that colour (cartoon data sets
            with transparent backgrounds would otherwise get black or garbage backgrounds), ``"drop"`` keeps the
            colour channels as they are.
    """
    if alpha not in ALPHA_MODES:
        raise ValueError(f"alpha must be one of {ALPHA_MODES}, got {alpha!r}")
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        if mode == "F":  # float images: assume [0, 1]
            arr = np.clip(np.rint(np.asarray(img) * 255.0), 0, 255).astype(np.uint8)
            return Image.fromarray(arr, mode="L").convert("RGB")
        return _sixteen_bit_to_rgb(img)
    if mode == "P":
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
    elif mode in ("PA", "LA", "RGBa", "La"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        if alpha == "drop":
            return img.convert("RGB")
        background = Image.new("RGB", img.size, (255, 255, 255) if alpha == "white" else (0, 0, 0))
        background.paste(img, mask=img.getchannel("A"))
        return background
    return img.convert("RGB")


def center_square_resize(img: Image.Image, resolution: int, resize_filter: str = "lanczos") -> Image.Image:
    """Centre-crop to a square of the short side, then resize to ``resolution`` x ``resolution``.

    Args:
        img: RGB image.
        resolution: output side in pixels.
        resize_filter: one of :data:`RESIZE_FILTERS`.
    """
    if resize_filter not in RESIZE_FILTERS:
        raise ValueError(f"resize_filter must be one of {sorted(RESIZE_FILTERS)}, got {resize_filter!r}")
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    if side != resolution:
        img = img.resize((resolution, resolution), RESIZE_FILTERS[resize_filter])
    return img


def read_bytes(source: Path, member: str | None, zip_handle: zipfile.ZipFile | None = None) -> bytes:
    """Bytes of a file on disk (``member`` None) or of a member of the zip ``source``."""
    if member is None:
        return source.read_bytes()
    if zip_handle is not None:
        return zip_handle.read(member)
    with zipfile.ZipFile(source) as zf:
        return zf.read(member)


def decode_image(data: bytes, resolution: int, alpha: str = "white", resize_filter: str = "lanczos") -> np.ndarray:
    """Decode image bytes to a ``[resolution, resolution, 3]`` ``uint8`` array (raises on a corrupt file)."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        rgb = to_rgb(img, alpha)
    return np.asarray(center_square_resize(rgb, resolution, resize_filter), dtype=np.uint8)


def validate_image(data: bytes) -> tuple[int, int]:
    """Fully decode ``data`` and return its ``(width, height)``; raises any decoder error."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        return img.size
