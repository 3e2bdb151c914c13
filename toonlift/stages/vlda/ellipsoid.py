"""The ellipsoid depth prior of GAN2Shape (``init_ellipsoid``): a spherical cap fitted to the face mask's box.

Inside a disc around the mask's bounding box centre (stretched vertically by the box aspect ratio) the depth is a
sphere cap of radius 0.4 whose apex is at ``near`` (0.91) and whose rim reaches ``far`` (1.02); outside it is ``far``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from toonlift.errors import DataError

# GAN2Shape's cap: sphere radius, apex depth and rim depth (relief 0.11), in the renderer's depth units.
PRIOR_RADIUS = 0.4
PRIOR_NEAR = 0.91
PRIOR_FAR = 1.02


def mask_box(mask: Tensor, threshold: float = 0.7) -> tuple[float, float, float, float]:
    """Bounding box ``(min_y, max_y, min_x, max_x)`` in pixels of ``mask >= threshold`` (``mask`` ``[H, W]``).

    Raises:
        DataError: the mask is empty at this threshold.
    """
    on = mask >= threshold
    rows = torch.nonzero(on.any(dim=1)).flatten()
    cols = torch.nonzero(on.any(dim=0)).flatten()
    if rows.numel() == 0:
        raise DataError(
            f"The face mask is empty (no pixel >= {threshold}); the ellipsoid prior needs a face region. Give a mask "
            "that covers the face, or lower the threshold."
        )
    return float(rows[0]), float(rows[-1]), float(cols[0]), float(cols[-1])


def face_box_adjust(
    box: tuple[float, float, float, float], height: int, category: str = "face"
) -> tuple[float, float, float, float]:
    """GAN2Shape's per-category box adjustment.

    ``"face"`` (CelebA): the box reaches the bottom row and is narrowed by 1/12 of its width on each side;
    ``"synface"``: the top moves up by 1/6 of the height; ``"none"``: unchanged.
    """
    min_y, max_y, min_x, max_x = box
    if category == "face":
        width = max_x - min_x
        return min_y, float(height - 1), min_x + width / 12.0, max_x - width / 12.0
    if category == "synface":
        return min_y - (max_y - min_y) / 6.0, max_y, min_x, max_x
    if category == "none":
        return box
    raise ValueError(f"category must be 'face', 'synface' or 'none', got {category!r}")


def ellipsoid_depth(
    height: int,
    width: int,
    box: tuple[float, float, float, float],
    radius: float = PRIOR_RADIUS,
    near: float = PRIOR_NEAR,
    far: float = PRIOR_FAR,
    device: torch.device | str | None = None,
) -> Tensor:
    """The ellipsoid prior ``[H, W]`` for a face box ``(min_y, max_y, min_x, max_x)`` in pixels.

    Args:
        height: map height.
        width: map width.
        box: face box; the disc has the box's half width as radius and is stretched vertically by
            ``(max_y - min_y) / (max_x - min_x)``.
        radius: sphere radius in depth units (0.4).
        near: depth at the apex (0.91).
        far: depth of the rim and the background (1.02).
        device: device of the result.

    Note:
        The reference stretches rows about the image centre ``H/2``; here they are stretched about the box centre so
        the ellipse stays centred on the face for boxes off the image centre (identical for centred boxes).
    """
    if not 0.0 < far - near < radius:
        raise ValueError(f"need 0 < far - near < radius, got near={near}, far={far}, radius={radius}")
    min_y, max_y, min_x, max_x = box
    if max_x <= min_x or max_y <= min_y:
        raise DataError(f"The face box {box} is degenerate (zero width or height); the mask covers too few pixels.")
    r_pixel = (max_x - min_x) / 2.0
    ratio = (max_y - min_y) / (max_x - min_x)
    cy, cx = (max_y + min_y) / 2.0, (max_x + min_x) / 2.0
    rows = torch.arange(height, device=device, dtype=torch.float32)[:, None]
    cols = torch.arange(width, device=device, dtype=torch.float32)[None, :]
    dist = torch.sqrt(((rows - cy) / ratio) ** 2 + (cols - cx) ** 2)  # [H, W] pixels in the un-stretched disc
    # the cap's chord half-width: where a sphere of `radius` with apex at `near` reaches depth `far`
    chord = math.sqrt(radius**2 - (radius - (far - near)) ** 2)
    rho = dist / r_pixel * chord
    cap = radius - torch.sqrt((radius**2 - rho**2).abs()) + near
    return torch.where(dist <= r_pixel, cap, torch.full_like(cap, far))


def ellipsoid_from_mask(
    mask: Tensor,
    category: str = "face",
    threshold: float = 0.7,
    radius: float = PRIOR_RADIUS,
    near: float = PRIOR_NEAR,
    far: float = PRIOR_FAR,
) -> Tensor:
    """The ellipsoid prior ``[H, W]`` of a face mask ``[H, W]`` (see :func:`ellipsoid_depth`)."""
    h, w = mask.shape[-2:]
    box = face_box_adjust(mask_box(mask.reshape(h, w), threshold), h, category)
    return ellipsoid_depth(h, w, box, radius, near, far, device=mask.device)
