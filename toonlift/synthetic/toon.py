"""The fixed "toon" shape transform: the same person, drawn as a cartoon (larger eyes, smaller nose, rounder face).

It is an affine map of the identity coefficients, ``c_toon = c * TOON_GAIN + TOON_SHIFT``, so the cartoon of a face
keeps its individual variation (every coefficient still matters) while the whole population moves toward the style.
"""

from __future__ import annotations

from torch import Tensor

from toonlift.synthetic.identity_basis import IDENTITY_NAMES

# Shift (in standard deviations) of the coefficients the style changes; the rest keep their value.
TOON_SHIFT = {
    "eye_size": 3.2,
    "eye_spacing": 0.6,
    "nose_length": -1.8,
    "nose_width": -1.2,
    "nose_bridge": -1.5,
    "cheek_fullness": 1.6,
    "jaw_width": 1.0,
    "chin_length": -1.2,
    "head_width": 0.6,
    "lip_fullness": -0.6,
    "mouth_width": -0.5,
    "hair_volume": 0.8,
}
# The style also damps identity variation of the features it exaggerates (cartoons are more uniform).
TOON_GAIN = {"eye_size": 0.6, "nose_length": 0.6, "nose_width": 0.6, "nose_bridge": 0.5}


def toon_identity(identity: Tensor) -> Tensor:
    """Apply the toon transform to identity coefficients ``[B, K]`` (``K = len(IDENTITY_NAMES)``)."""
    gain = identity.new_tensor([TOON_GAIN.get(n, 1.0) for n in IDENTITY_NAMES])
    shift = identity.new_tensor([TOON_SHIFT.get(n, 0.0) for n in IDENTITY_NAMES])
    return identity * gain + shift


def toon_identity_inverse(identity: Tensor) -> Tensor:
    """Inverse of :func:`toon_identity` (the photo identity of a cartoon's coefficients)."""
    gain = identity.new_tensor([TOON_GAIN.get(n, 1.0) for n in IDENTITY_NAMES])
    shift = identity.new_tensor([TOON_SHIFT.get(n, 0.0) for n in IDENTITY_NAMES])
    return (identity - shift) / gain
