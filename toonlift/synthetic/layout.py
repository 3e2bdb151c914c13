"""The fixed layout of the procedural face: where the features sit, in head units (object space).

Object space: ``x`` to the image right when the head faces the camera (the subject's *left*), ``y`` up, ``z`` toward
the viewer. The skull is an ellipsoid of half-height 1. Every feature position the shape, the bases and the
landmarks use is here, so they cannot drift apart.
"""

from __future__ import annotations

import numpy as np

# Skull ellipsoid semi-axes (x, y, z).
SKULL = (0.76, 1.0, 0.92)

# Eyes: centre direction on the unit sphere (x, y); eyeball radius; opening (almond) half-width/heights.
EYE_DIR_X = 0.30
EYE_DIR_Y = 0.10
EYE_RADIUS = 0.125
EYE_SINK = 0.78  # eyeball centre sits EYE_SINK * radius behind the un-socketed skin
ALMOND_HALF_WIDTH = 0.108
ALMOND_UP = 0.058  # upper lid height above the eye centre
ALMOND_DOWN = 0.042  # lower lid depth below the eye centre
LID_THICKNESS = 0.014

# Mouth line height (object y) and half width; nose tip direction height.
MOUTH_Y = -0.47
MOUTH_HALF_WIDTH = 0.19
NOSE_TIP_UY = -0.2

# Brow arch: inner and outer x, baseline height above the eye centre, arch height, band thickness.
BROW_INNER_X = 0.09
BROW_OUTER_X = 0.44
BROW_LIFT = 0.2
BROW_ARCH = 0.045
BROW_THICKNESS = 0.05

# Neck: an elongated closed capsule below the head.
NECK_CENTER = (0.0, -1.5, -0.2)
NECK_RADII = (0.33, 1.05, 0.36)

# Part labels. 0 is the background of rendered label maps; every vertex has one of 1..N_PARTS-1.
PART_NAMES = (
    "background",
    "skin",
    "nose",
    "brows",
    "sclera",
    "iris",
    "pupil",
    "lips",
    "mouth",
    "hair",
    "ears",
    "neck",
)
PART = {name: i for i, name in enumerate(PART_NAMES)}
# The "face region" of a parser (BiSeNet labels 1-13 in GAN2Shape): everything but background, hair and neck.
FACE_PARTS = tuple(PART[n] for n in ("skin", "nose", "brows", "sclera", "iris", "pupil", "lips", "mouth", "ears"))


def hairline(u: np.ndarray) -> np.ndarray:
    """Height of the hairline on the unit sphere as a function of azimuth: high on the forehead, low at the back."""
    az = np.arctan2(u[:, 0], u[:, 2])
    return 0.07 + 0.44 * np.cos(az) + 0.14 * np.sin(az) ** 2


def hair_mask(u: np.ndarray) -> np.ndarray:
    """Smooth 0..1 hair coverage of unit directions ``[N, 3]`` (1 above the hairline)."""
    from toonlift.synthetic.geometry import smoothstep

    return smoothstep(-0.03, 0.07, u[:, 1] - hairline(u))
