"""Image files of a data set (a folder or a zip): names, bytes, and decoding by :mod:`toonlift.utils.image_reading`.

Pixel formats, transparency, EXIF orientation, the smallest accepted size and the corrupt-file message are those of
:mod:`toonlift.utils.image_reading`, the one image reader of toonlift; this module adds what a data set needs on top:
which file names are images and how bytes come out of a folder or a zip.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from toonlift.utils.image_reading import (  # noqa: F401 - re-exported: the data modules' names for these
    ALPHA_MODES,
    MIN_IMAGE_SIDE,
    RESIZE_FILTERS,
    center_square_resize,
    read_image_array,
    read_image_bytes,
    to_rgb,
)

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp")


def is_image_name(name: str) -> bool:
    """Whether a file name has one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS


def read_bytes(source: Path, member: str | None, zip_handle: zipfile.ZipFile | None = None) -> bytes:
    """Bytes of a file on disk (``member`` None) or of a member of the zip ``source``."""
    if member is None:
        return source.read_bytes()
    if zip_handle is not None:
        return zip_handle.read(member)
    with zipfile.ZipFile(source) as zf:
        return zf.read(member)


def decode_image(
    data: bytes, resolution: int, alpha: str = "white", resize_filter: str = "lanczos", name: str = "<image>"
) -> np.ndarray:
    """Decode image bytes to a ``[resolution, resolution, 3]`` ``uint8`` array.

    Raises:
        DataError: corrupt, or smaller than :data:`MIN_IMAGE_SIDE` (the message names ``name``).
    """
    return read_image_array(data, resolution, alpha, resize_filter, name=name)


def validate_image(data: bytes, name: str = "<image>") -> tuple[int, int]:
    """Fully decode ``data`` (oriented as it will be read) and return its ``(width, height)``.

    Raises:
        DataError: the bytes are not a decodable image (the size rule is left to the caller, which lists every
            file it skips in one warning).
    """
    return read_image_bytes(data, name, min_side=1).size
