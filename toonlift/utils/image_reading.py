"""Read image files one way everywhere: every command and data module decodes images through this module.

The rule, stated once:

* **Pixel formats**: 8-bit RGB/grayscale as stored; 16-bit and 32-bit integer grayscale PNG (Pillow modes ``I;16*``
  and ``I``) scaled from ``[0, 65535]`` to ``[0, 255]`` (Pillow's ``convert("RGB")`` clips them at 255 instead, which
  turns most pixels white); float images (``F``) read as ``[0, 1]``; CMYK converted; palette images expanded.
* **Transparency** (RGBA, LA, palette with a transparent colour): composited on a stated background, ``"white"``
  (the default: cartoon data sets with transparent backgrounds would otherwise get black or garbage backgrounds) or
  ``"black"``; ``"drop"`` keeps the colour channels as they are.
* **Orientation**: the EXIF orientation tag is applied (a portrait photo taken sideways is read upright).
* **Size**: an image smaller than :data:`MIN_IMAGE_SIDE` pixels on its short side is refused with a
  :class:`~toonlift.errors.DataError` naming the file: upscaling a 1x1 or 8x8 image invents the data it trains on.
* **Corrupt files**: a file Pillow cannot decode (truncated, not an image, a decompression bomb) is one
  :class:`~toonlift.errors.DataError` naming the file; a missing file or a folder given as an image is another.

Resizing, when asked for, is a centre square crop then a Lanczos (default), box ("area") or bicubic filter -- the
anti-aliased filters FID comparisons expect (stylegan2-ada's ``dataset_tool`` uses box/Lanczos).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from toonlift.errors import DataError

MIN_IMAGE_SIDE = 16
"""Images whose short side is below this many pixels are refused (see the module docstring)."""

RESIZE_FILTERS: dict[str, int] = {
    "lanczos": Image.Resampling.LANCZOS,
    "area": Image.Resampling.BOX,
    "box": Image.Resampling.BOX,
    "bicubic": Image.Resampling.BICUBIC,
}

ALPHA_MODES: tuple[str, ...] = ("white", "black", "drop")

# what Pillow raises for a file it cannot decode (truncated data raises OSError, bad headers SyntaxError/ValueError)
_DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


def _sixteen_bit_to_rgb(img: Image.Image) -> Image.Image:
    """16-bit (``I;16*``) or 32-bit integer (``I``, how Pillow opens some 16-bit PNGs) grayscale to 8-bit RGB."""
    arr = np.asarray(img).astype(np.float64)
    # mode "I" comes from 16-bit PNGs: values are 0..65535. A mode-"I" image whose values fit in 0..255 is 8-bit data.
    scale = 255.0 / 65535.0 if (img.mode.startswith("I;16") or arr.max(initial=0) > 255) else 1.0
    arr8 = np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
    return Image.fromarray(arr8, mode="L").convert("RGB")


def to_rgb(img: Image.Image, alpha: str = "white") -> Image.Image:
    """Convert any Pillow image to upright 8-bit RGB by the rule of the module docstring.

    Args:
        img: the decoded image, any mode.
        alpha: ``"white"`` / ``"black"`` composite transparency on that colour, ``"drop"`` ignores it.
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
    elif mode in ("PA", "LA", "RGBa", "La") or (mode == "L" and "transparency" in img.info):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        if alpha == "drop":
            return img.convert("RGB")
        background = Image.new("RGB", img.size, (255, 255, 255) if alpha == "white" else (0, 0, 0))
        background.paste(img, mask=img.getchannel("A"))
        return background
    return img.convert("RGB")


def center_square_resize(img: Image.Image, resolution: int, resize_filter: str = "lanczos") -> Image.Image:
    """Centre-crop to a square of the short side, then resize to ``resolution`` x ``resolution``."""
    if resize_filter not in RESIZE_FILTERS:
        raise ValueError(f"resize_filter must be one of {sorted(RESIZE_FILTERS)}, got {resize_filter!r}")
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))
    if side != resolution:
        img = img.resize((resolution, resolution), RESIZE_FILTERS[resize_filter])
    return img


def _decode(data: bytes, name: str, alpha: str, min_side: int) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            rgb = to_rgb(img, alpha)
    except _DECODE_ERRORS as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(
            f"The image '{name}' cannot be read: it is corrupt, truncated or not an image file ({detail}). Replace "
            "it with a valid PNG, JPEG or WebP file."
        ) from err
    w, h = rgb.size
    if min(w, h) < min_side:
        raise DataError(
            f"The image '{name}' is {w}x{h} pixels; images smaller than {min_side} px on a side are refused, "
            "because upscaling them invents the pixels a model would learn from. Use a larger image (ideally at "
            "least the model's resolution) or remove this one."
        )
    return rgb


def read_image_bytes(data: bytes, name: str, alpha: str = "white", min_side: int = MIN_IMAGE_SIDE) -> Image.Image:
    """Decode image bytes (a file or a zip member called ``name`` in messages) to upright 8-bit RGB.

    Raises:
        DataError: the bytes are not a decodable image, or the image is smaller than ``min_side``.
    """
    return _decode(data, name, alpha, min_side)


def read_image_file(path: str | Path, alpha: str = "white", min_side: int = MIN_IMAGE_SIDE) -> Image.Image:
    """Read an image file to upright 8-bit RGB by the rule of the module docstring.

    Raises:
        DataError: the path is missing or a folder, the file is not a decodable image, or it is too small.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise DataError(f"The image '{p}' is a folder, not an image file; give the path of a PNG, JPEG or WebP file.")
    if not p.is_file():
        raise DataError(f"The image '{p}' does not exist; check the path (relative paths start at '{Path.cwd()}').")
    try:
        data = p.read_bytes()
    except OSError as err:
        raise DataError(f"The image '{p}' cannot be opened ({err.strerror or err}); check its permissions.") from err
    return _decode(data, str(p), alpha, min_side)


def read_image_array(
    source: str | Path | bytes,
    resolution: int | None = None,
    alpha: str = "white",
    resize_filter: str = "lanczos",
    name: str | None = None,
    min_side: int = MIN_IMAGE_SIDE,
) -> np.ndarray:
    """An image as a ``uint8`` array ``[H, W, 3]`` (``[resolution, resolution, 3]`` when ``resolution`` is given).

    Args:
        source: a path, or the file's bytes (then ``name`` is what messages call it).
        resolution: if given, centre-crop to a square and resize to this side.
        alpha: background of transparent pixels (``"white"``, ``"black"``) or ``"drop"``.
        resize_filter: one of :data:`RESIZE_FILTERS`.
        name: the file's name in messages when ``source`` is bytes.
        min_side: smallest accepted short side in pixels.
    """
    if isinstance(source, bytes):
        rgb = read_image_bytes(source, name or "<bytes>", alpha, min_side)
    else:
        rgb = read_image_file(source, alpha, min_side)
    if resolution is not None:
        rgb = center_square_resize(rgb, resolution, resize_filter)
    return np.asarray(rgb, dtype=np.uint8)


def read_image_tensor(
    source: str | Path | bytes,
    resolution: int | None = None,
    alpha: str = "white",
    resize_filter: str = "lanczos",
    name: str | None = None,
) -> torch.Tensor:
    """An image as a float tensor ``[1, 3, H, W]`` in ``[-1, 1]`` (``H = W = resolution`` when given)."""
    arr = read_image_array(source, resolution, alpha, resize_filter, name)
    return torch.from_numpy(np.array(arr, copy=True)).permute(2, 0, 1)[None].float().div(127.5).sub(1.0)
