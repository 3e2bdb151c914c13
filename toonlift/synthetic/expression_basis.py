"""The expression blendshapes: named FACS-like displacement fields with compact support (each moves only its region).

Weights are in ``[0, 1]`` (1 = the full action) and combine linearly. ``_left``/``_right`` are the *subject's*
sides: ``_left`` acts on ``x > 0``, which is the image right in a frontal view. Eyeballs and the neck never move;
the hair shell moves with the skin only where it is hidden inside the head.
"""

from __future__ import annotations

import numpy as np

from toonlift.synthetic import layout as L
from toonlift.synthetic.geometry import bump, smoothstep
from toonlift.synthetic.head_shape import almond_distance, ball_front, eye_centers
from toonlift.synthetic.identity_basis import feature_z

EXPRESSION_NAMES = (
    "jaw_open",
    "smile_left",
    "smile_right",
    "mouth_frown",
    "blink_left",
    "blink_right",
    "brow_raise_left",
    "brow_raise_right",
    "brow_frown",
    "lip_pucker",
    "cheek_puff",
    "eye_wide",
)


def _jaw_open(p: np.ndarray) -> np.ndarray:
    """Rotate the lower face about a hinge near the ears; the lips part along the mouth line."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    outside = np.maximum(np.abs(x) - L.MOUTH_HALF_WIDTH, 0.0)
    line = L.MOUTH_Y + 0.3 * outside  # the parting line climbs toward the hinge beyond the mouth corners
    width = 0.012 + 0.3 * outside
    w = smoothstep(line + width, line - width, y) * smoothstep(-0.25, 0.05, z) * smoothstep(0.78, 0.6, np.abs(x))
    hinge = np.array([0.0, -0.05, -0.3])
    a = 0.22
    rel = p - hinge
    rot = np.stack(
        [rel[:, 0], rel[:, 1] * np.cos(a) - rel[:, 2] * np.sin(a), rel[:, 1] * np.sin(a) + rel[:, 2] * np.cos(a)], 1
    )
    d = (rot - rel) * w[:, None]
    mouth = bump(p, (0.0, L.MOUTH_Y, feature_z(0.0, L.MOUTH_Y)), (L.MOUTH_HALF_WIDTH, 0.03, 0.15))
    d[:, 2] -= 0.09 * mouth  # the parted band sinks into the mouth cavity
    return d


def _blink(p: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Slide the upper lid down to just below the eye centre, in front of the eyeball."""
    d = np.zeros_like(p)
    near = (np.abs(p[:, 0] - c[0]) < 0.3) & (p[:, 2] > c[2] - 0.2)
    dist = almond_distance(p, c)
    w = smoothstep(3.0, 1.2, dist) * near
    lid_line = c[1] - 0.75 * L.ALMOND_DOWN
    drop = -0.95 * np.clip(p[:, 1] - lid_line, 0.0, L.ALMOND_UP + 0.75 * L.ALMOND_DOWN)
    moved = p.copy()
    moved[:, 1] += drop
    front, over = ball_front(moved, c, L.EYE_RADIUS + L.LID_THICKNESS + 0.004)
    dz = np.where(over, np.maximum(front - p[:, 2], 0.0), 0.0)
    top_first = 1.0 + np.clip((p[:, 1] - c[1]) / L.ALMOND_UP, 0.0, 1.0)  # the lid closes from the top
    d[:, 1] = drop * w
    d[:, 2] = dz * w * top_first
    return d


def expression_basis(points: np.ndarray, movable: np.ndarray) -> np.ndarray:
    """Expression blendshapes ``[E, N, 3]`` (``E = len(EXPRESSION_NAMES)``).

    Args:
        points: ``[N, 3]`` mean positions the fields are evaluated at (skin positions under hair-shell vertices).
        movable: ``[N]`` weight in ``[0, 1]`` per vertex (0 for eyeballs, neck and visible hair).
    """
    x, y = points[:, 0], points[:, 1]
    side = np.sign(x)
    mirrored = np.stack([np.abs(x), y, points[:, 2]], 1)
    eyes = eye_centers()
    mouth_z = feature_z(0.0, L.MOUTH_Y)
    out = np.zeros((len(EXPRESSION_NAMES), points.shape[0], 3))
    f = {name: out[i] for i, name in enumerate(EXPRESSION_NAMES)}

    f["jaw_open"][:] = _jaw_open(points)
    for name, s in (("smile_left", 1.0), ("smile_right", -1.0)):
        corner = bump(points, (s * L.MOUTH_HALF_WIDTH, L.MOUTH_Y, mouth_z - 0.04), (0.16, 0.13, 0.25))
        cheek = bump(points, (s * 0.33, -0.22, feature_z(0.33, -0.22)), (0.18, 0.15, 0.3))
        f[name][:] = corner[:, None] * [s * 0.03, 0.045, -0.02] + cheek[:, None] * [0.0, 0.03, 0.015]
    corners = bump(mirrored, (L.MOUTH_HALF_WIDTH, L.MOUTH_Y, mouth_z - 0.04), (0.15, 0.12, 0.25))
    f["mouth_frown"][:, 1] = -0.04 * corners
    f["mouth_frown"][:, 0] = 0.01 * corners * side
    f["blink_right"][:] = _blink(points, eyes[0])
    f["blink_left"][:] = _blink(points, eyes[1])
    brow_y = eyes[0, 1] + L.BROW_LIFT
    brow_z = feature_z(0.27, brow_y)
    for name, s in (("brow_raise_left", 1.0), ("brow_raise_right", -1.0)):
        f[name][:, 1] = 0.05 * bump(points, (s * 0.27, brow_y + 0.02, brow_z), (0.25, 0.14, 0.3))
    inner = bump(mirrored, (0.13, brow_y - 0.02, feature_z(0.13, brow_y)), (0.14, 0.1, 0.3))
    f["brow_frown"][:] = inner[:, None] * np.stack([-0.025 * side, -0.03 * np.ones_like(x), 0.01 * np.ones_like(x)], 1)
    lips = bump(points, (0.0, L.MOUTH_Y, mouth_z), (0.3, 0.16, 0.25))
    f["lip_pucker"][:] = lips[:, None] * np.stack([-0.35 * x, -0.1 * (y - L.MOUTH_Y), 0.07 * np.ones_like(x)], 1)
    puff = bump(mirrored, (0.4, -0.38, feature_z(0.4, -0.38)), (0.22, 0.22, 0.35))
    f["cheek_puff"][:] = puff[:, None] * np.stack([0.06 * side, np.zeros_like(x), 0.04 * np.ones_like(x)], 1)
    for c in eyes:
        lid = bump(points, (c[0], c[1] + L.ALMOND_UP, c[2] + L.EYE_RADIUS), (0.14, 0.07, 0.2))
        f["eye_wide"][:, 1] += 0.022 * lid
    out *= movable[None, :, None]
    return out
