"""The identity basis: named, smooth shape displacement fields, one per coefficient (a coefficient of 1 is about
one standard deviation of human variation).

Every field is evaluated at each vertex's *anchor*: the mean skin position under it (skin and hair-shell vertices,
so the hidden part of the hair shell follows the skin), the eyeball centre (eyeball vertices, so eyes move rigidly;
only ``eye_size`` scales them about their centre) or the vertex itself (neck).
"""

from __future__ import annotations

import numpy as np

from toonlift.synthetic import layout as L
from toonlift.synthetic.geometry import bump, smoothstep
from toonlift.synthetic.head_shape import eye_centers, skull_normal

IDENTITY_NAMES = (
    "head_width",
    "head_height",
    "face_depth",
    "jaw_width",
    "chin_length",
    "cheek_fullness",
    "nose_length",
    "nose_width",
    "nose_bridge",
    "eye_size",
    "eye_spacing",
    "brow_height",
    "lip_fullness",
    "mouth_width",
    "ear_size",
    "forehead_slope",
    "hair_volume",
)


def feature_z(x: float, y: float) -> float:
    """Mean skin depth at the front of the face above object ``(x, y)`` (used to centre regional bumps)."""
    from toonlift.synthetic.head_shape import unsocketed_skin

    u = np.array([[x, y, np.sqrt(max(1.0 - x * x - y * y, 0.0))]])
    return float(unsocketed_skin(u)[0, 2])


def _mirror(q: np.ndarray) -> np.ndarray:
    return np.stack([np.abs(q[:, 0]), q[:, 1], q[:, 2]], 1)


def identity_basis(
    anchor: np.ndarray, points: np.ndarray, kind: np.ndarray, hair_dirs: np.ndarray | None = None
) -> np.ndarray:
    """Identity displacement fields ``[K, N, 3]`` (``K = len(IDENTITY_NAMES)``).

    Args:
        anchor: ``[N, 3]`` positions the fields are evaluated at (see module docstring).
        points: ``[N, 3]`` mean vertex positions (eyeballs scale about their centre with ``eye_size``).
        kind: ``[N]`` vertex kind codes from :data:`toonlift.synthetic.head_model.KINDS`.
        hair_dirs: ``[N, 3]`` unit directions of hair-shell vertices (rows of other kinds are ignored).
    """
    from toonlift.synthetic.head_model import KINDS

    n = anchor.shape[0]
    q = anchor
    x, y, z = q[:, 0], q[:, 1], q[:, 2]
    side = np.sign(x)
    mq = _mirror(q)
    eyes = eye_centers()
    nose_z, mouth_z = feature_z(0.0, L.NOSE_TIP_UY), feature_z(0.0, L.MOUTH_Y)
    out = np.zeros((len(IDENTITY_NAMES), n, 3))
    f = {name: out[i] for i, name in enumerate(IDENTITY_NAMES)}

    f["head_width"][:, 0] = 0.09 * x
    f["head_height"][:, 1] = 0.07 * y
    f["face_depth"][:, 2] = 0.07 * z
    f["jaw_width"][:, 0] = 0.14 * x * smoothstep(-0.1, -0.7, y)
    chin = smoothstep(L.MOUTH_Y - 0.05, -0.9, y) * smoothstep(-0.3, 0.2, z)
    f["chin_length"][:, 1] = -0.07 * chin
    f["chin_length"][:, 2] = 0.02 * chin
    cheek = bump(mq, (0.5, -0.3, 0.45), (0.3, 0.3, 0.4))
    f["cheek_fullness"][:, 0] = 0.05 * cheek * side
    f["cheek_fullness"][:, 2] = 0.03 * cheek
    tip = bump(q, (0.0, L.NOSE_TIP_UY, nose_z), (0.13, 0.16, 0.25))
    f["nose_length"][:, 1] = -0.035 * tip
    f["nose_length"][:, 2] = 0.05 * tip
    f["nose_width"][:, 0] = 1.0 * x * bump(q, (0.0, -0.17, nose_z - 0.06), (0.18, 0.2, 0.3))
    f["nose_bridge"][:, 2] = 0.045 * bump(q, (0.0, 0.0, nose_z - 0.1), (0.08, 0.2, 0.25))
    for c in eyes:
        # Scale about the eye centre inside R0 (eyeball and lids together, or the ball pokes through the lids);
        # beyond R0 the in-plane push stays R0-long and tapers off slowly, so the skin stretches without folding.
        rel = q - c
        r_xy = np.linalg.norm(rel[:, :2] * [1.0, 1.2], axis=1)
        skin = ~np.isin(kind, (KINDS["eye_right"], KINDS["eye_left"]))
        r0 = 0.16
        front = smoothstep(-0.45, -0.25, rel[:, 2])  # the back of the head stays put
        push = np.minimum(1.0, r0 / np.maximum(r_xy, 1e-9)) * smoothstep(0.5, r0, r_xy) * front
        region = np.where(skin, smoothstep(0.3, 0.19, np.linalg.norm(rel * [1.0, 1.15, 0.8], axis=1)), 0.0)
        is_eye = kind == (KINDS["eye_left"] if c[0] > 0 else KINDS["eye_right"])
        lid_z = smoothstep(r0 + 0.08, r0, r_xy) * front  # lids follow the ball's front only over the ball
        size = np.stack([rel[:, 0] * push, rel[:, 1] * push, rel[:, 2] * lid_z], 1) * skin[:, None]
        f["eye_size"] += 0.18 * size + 0.18 * (points - c) * is_eye[:, None]
        f["eye_spacing"][:, 0] += 0.04 * np.sign(c[0]) * np.maximum(region, is_eye)
    brow_y = eyes[0, 1] + L.BROW_LIFT
    f["brow_height"][:, 1] = 0.035 * bump(mq, (0.27, brow_y, feature_z(0.27, brow_y)), (0.28, 0.13, 0.3))
    lips = bump(q, (0.0, L.MOUTH_Y, mouth_z), (0.25, 0.12, 0.2))
    f["lip_fullness"][:, 1] = 0.25 * (y - L.MOUTH_Y) * lips
    f["lip_fullness"][:, 2] = 0.035 * lips
    f["mouth_width"][:, 0] = 0.35 * x * bump(q, (0.0, L.MOUTH_Y, mouth_z), (0.3, 0.13, 0.25))
    ear = bump(mq, (0.9, 0.0, -0.12), (0.3, 0.3, 0.3))
    f["ear_size"][:, 0] = 0.09 * ear * side
    f["ear_size"][:, 2] = -0.02 * ear
    f["forehead_slope"][:, 2] = -0.07 * smoothstep(0.2, 0.8, y) * smoothstep(0.0, 0.5, z)
    if hair_dirs is not None:
        is_hair = kind == KINDS["hair"]
        if is_hair.any():
            dirs = hair_dirs[is_hair]
            f["hair_volume"][is_hair] = 0.07 * skull_normal(dirs) * L.hair_mask(dirs)[:, None]
    # The neck keeps only the global scalings (head_width/height/depth, jaw) so it stays a clean capsule.
    keep = {"head_width", "head_height", "face_depth", "jaw_width"}
    for name in IDENTITY_NAMES:
        if name not in keep:
            f[name][kind == KINDS["neck"]] = 0.0
    return out
