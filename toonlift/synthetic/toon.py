"""The fixed "toon" shape transforms: the same person, drawn as a cartoon (larger eyes, smaller nose, rounder face).

Each is an affine map of the identity coefficients, ``c_toon = c * GAIN + SHIFT``, so the cartoon of a face keeps its
individual variation (every coefficient still matters) while the whole population moves toward the style.

* ``toon`` (domains ``cartoon`` and ``ink``): eyes +3.2 sd, just outside the photo prior's +-2.5 sd clip.
* ``toon+`` (domain ``toon+``): a stronger exaggeration, eyes +5.5 sd and wider set, a shorter nose and chin, a
  rounder and larger head: the eyes lie far outside the photo prior, as real cartoons' do (seed 002's Table 1 eye
  errors), so a coarse fit with a photo-like prior under-fits them.
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


# The stronger "toon+" style (domain ``toon+``), same form.
TOON_PLUS_SHIFT = {
    "eye_size": 5.5,
    "eye_spacing": 1.4,
    "nose_length": -2.6,
    "nose_width": -1.6,
    "nose_bridge": -2.2,
    "cheek_fullness": 2.2,
    "jaw_width": 1.4,
    "chin_length": -2.0,
    "head_width": 1.0,
    "lip_fullness": -0.9,
    "mouth_width": -0.9,
    "hair_volume": 1.0,
}
TOON_PLUS_GAIN = {"eye_size": 0.5, "nose_length": 0.5, "nose_width": 0.5, "nose_bridge": 0.4}
# Which transform each rendering domain applies (``None``: the photo identity as sampled).
DOMAIN_STYLE = {"photo": None, "cartoon": "toon", "ink": "toon", "toon+": "toon+"}


def _gain_shift(identity: Tensor, style: str) -> tuple[Tensor, Tensor]:
    gain, shift = (TOON_GAIN, TOON_SHIFT) if style == "toon" else (TOON_PLUS_GAIN, TOON_PLUS_SHIFT)
    return (
        identity.new_tensor([gain.get(n, 1.0) for n in IDENTITY_NAMES]),
        identity.new_tensor([shift.get(n, 0.0) for n in IDENTITY_NAMES]),
    )


def toon_plus_identity(identity: Tensor) -> Tensor:
    """Apply the stronger ``toon+`` transform to identity coefficients ``[B, K]``."""
    gain, shift = _gain_shift(identity, "toon+")
    return identity * gain + shift


def domain_identity(identity: Tensor, domain: str) -> Tensor:
    """The identity coefficients ``[B, K]`` a face is rendered with in ``domain`` (see :data:`DOMAIN_STYLE`)."""
    style = DOMAIN_STYLE.get(domain, "toon")
    if style is None:
        return identity
    gain, shift = _gain_shift(identity, style)
    return identity * gain + shift


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
