"""A FACS-style rig of 57 named expression templates on the template (mean) head, for seed 002's rigging step.

The first 12 are the world's blendshapes (:data:`toonlift.synthetic.expression_basis.EXPRESSION_NAMES`), unchanged.
Then come left/right splits of the symmetric ones by a smooth side mask (the two halves sum to the original), and
new regional fields in the style of the ARKit / ICT-FaceKit set: jaw sideways and forward, mouth sideways, upper-lip
raise and lower-lip depress, stretch, dimple, press, funnel, lip rolls, nose sneer, cheek and eye squint, eye looks
(the eyeballs rotate about their centres) and brow inner-up, down and outer-up. ``_left`` is the subject's left
(``x > 0``). Weights are in ``[0, 1]``; every template is a displacement field with compact support.

The new fields move skin vertices (and the eyeballs for the looks); the hair shell and neck stay, as for the world's
blendshapes the visible hair and the neck do. Each name carries its nearest FACS action unit(s) in :data:`FACS_AU`.
"""

from __future__ import annotations

import numpy as np

from toonlift.synthetic import layout as L
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.synthetic.geometry import bump, smoothstep
from toonlift.synthetic.head_shape import eye_centers
from toonlift.synthetic.identity_basis import feature_z

SPLIT = ("mouth_frown", "brow_frown", "cheek_puff", "eye_wide")  # world shapes that also come as left/right halves
LOOK_DEGREES = 20.0

FACS_AU = {
    "jaw_open": "AU26/27",
    "smile": "AU12",
    "mouth_frown": "AU15",
    "blink": "AU45",
    "brow_raise": "AU1+2",
    "brow_frown": "AU4",
    "lip_pucker": "AU18",
    "cheek_puff": "AU34",
    "eye_wide": "AU5",
    "jaw_sideways": "AU30",
    "jaw_forward": "AU29",
    "mouth_sideways": "AU14/AD81",
    "mouth_upper_up": "AU10",
    "mouth_lower_down": "AU16",
    "mouth_stretch": "AU20",
    "mouth_dimple": "AU14",
    "mouth_press": "AU24",
    "lip_funnel": "AU22",
    "mouth_roll": "AU28",
    "nose_sneer": "AU9",
    "cheek_squint": "AU6",
    "eye_squint": "AU7",
    "eye_look": "AU61-64",
    "brow_inner_up": "AU1",
    "brow_down": "AU4",
    "brow_outer_up": "AU2",
}


def _sides() -> tuple[tuple[str, float], ...]:
    return (("left", 1.0), ("right", -1.0))


def _rotate(rel: np.ndarray, axis: int, angle: float) -> np.ndarray:
    """Offsets ``R rel - rel`` of points ``rel`` ``[N, 3]`` rotated by ``angle`` about coordinate axis ``axis``:
    about x, +angle tips the front (+z) up (+y); about y, +angle turns the front toward +x."""
    c, s = np.cos(angle), np.sin(angle)
    out = rel.copy()
    if axis == 0:
        out[:, 1], out[:, 2] = rel[:, 1] * c + rel[:, 2] * s, -rel[:, 1] * s + rel[:, 2] * c
    else:
        out[:, 0], out[:, 2] = rel[:, 0] * c + rel[:, 2] * s, -rel[:, 0] * s + rel[:, 2] * c
    return out - rel


def _new_fields(p: np.ndarray, skin: np.ndarray, eyes: dict[str, np.ndarray], base: dict) -> dict[str, np.ndarray]:
    """The regional fields that are not world blendshapes: name -> ``[N, 3]`` offsets (``skin`` ``[N]`` masks)."""
    x, y = p[:, 0], p[:, 1]
    one = np.ones_like(x)
    mz = feature_z(0.0, L.MOUTH_Y)
    side = {"left": smoothstep(-0.04, 0.04, x), "right": smoothstep(0.04, -0.04, x)}
    lips = bump(p, (0.0, L.MOUTH_Y, mz), (0.3, 0.16, 0.25))
    above = smoothstep(L.MOUTH_Y - 0.01, L.MOUTH_Y + 0.02, y)
    below = 1.0 - above
    jaw = np.linalg.norm(base["jaw_open"], axis=1)
    jaw = np.minimum(1.0, 2.0 * jaw / max(jaw.max(), 1e-12))  # the lower face that jaw_open moves
    eye_y = eyes["right"][1]
    brow_y = eye_y + L.BROW_LIFT
    f: dict[str, np.ndarray] = {}
    for name, s in _sides():
        f[f"jaw_{name}"] = jaw[:, None] * [s * 0.05, 0.0, 0.0]
    f["jaw_forward"] = jaw[:, None] * [0.0, 0.0, 0.04]
    for name, s in _sides():
        f[f"mouth_{name}"] = lips[:, None] * [s * 0.05, 0.0, 0.0]
    for name, s in _sides():
        m = lips * side[name]
        f[f"mouth_upper_up_{name}"] = (m * above)[:, None] * [0.0, 0.03, 0.005]
        f[f"mouth_lower_down_{name}"] = (m * below)[:, None] * [0.0, -0.03, 0.005]
        corner = bump(p, (s * L.MOUTH_HALF_WIDTH, L.MOUTH_Y, mz - 0.04), (0.15, 0.12, 0.25))
        f[f"mouth_stretch_{name}"] = corner[:, None] * [s * 0.04, -0.015, -0.01]
        f[f"mouth_dimple_{name}"] = corner[:, None] * [s * 0.015, 0.0, -0.03]
        press = -0.015 * np.tanh((y - L.MOUTH_Y) / 0.02)  # upper lip down, lower lip up
        f[f"mouth_press_{name}"] = (m * press)[:, None] * [0.0, 1.0, 0.0] + (m * 0.005)[:, None] * [0.0, 0.0, -1.0]
    f["lip_funnel"] = lips[:, None] * np.stack([-0.15 * x, 0.25 * (y - L.MOUTH_Y), 0.05 * one], 1)
    f["mouth_roll_upper"] = (lips * above)[:, None] * [0.0, -0.012, -0.02]
    f["mouth_roll_lower"] = (lips * below)[:, None] * [0.0, 0.012, -0.02]
    for name, s in _sides():
        wing = bump(p, (s * 0.12, L.MOUTH_Y + 0.22, feature_z(0.12, L.MOUTH_Y + 0.22)), (0.1, 0.12, 0.25))
        f[f"nose_sneer_{name}"] = wing[:, None] * [0.0, 0.03, 0.005]
        cheek = bump(p, (s * 0.3, eye_y - 0.17, feature_z(0.3, eye_y - 0.17)), (0.16, 0.1, 0.25))
        f[f"cheek_squint_{name}"] = cheek[:, None] * [0.0, 0.025, 0.01]
        c = eyes[name]
        lower = bump(p, (c[0], c[1] - L.ALMOND_DOWN - 0.01, c[2] + L.EYE_RADIUS), (0.13, 0.05, 0.2))
        lower *= p[:, 2] > c[2]  # only the lid in front of the eyeball
        f[f"eye_squint_{name}"] = lower[:, None] * [0.0, 0.018, 0.0]
    for name, s in _sides():
        f[f"brow_down_{name}"] = bump(p, (s * 0.27, brow_y, feature_z(0.27, brow_y)), (0.25, 0.14, 0.3))[:, None] * [
            -s * 0.01,
            -0.035,
            0.0,
        ]
        outer = bump(p, (s * 0.4, brow_y + 0.02, feature_z(0.4, brow_y)), (0.16, 0.14, 0.3))
        f[f"brow_outer_up_{name}"] = outer[:, None] * [0.0, 0.04, 0.0]
    mirrored = np.stack([np.abs(x), y, p[:, 2]], 1)
    inner = bump(mirrored, (0.12, brow_y + 0.02, feature_z(0.12, brow_y)), (0.14, 0.14, 0.3))
    f["brow_inner_up"] = inner[:, None] * [0.0, 0.045, 0.0]
    return {k: v * skin[:, None] for k, v in f.items()}


def _eye_looks(p: np.ndarray, kinds: np.ndarray, eyes: dict[str, np.ndarray], eye_kind: dict[str, int]) -> dict:
    """Eyeball rotations about their centres (the skin stays): look up, down, in (toward the nose) and out."""
    a = np.deg2rad(LOOK_DEGREES)
    f = {}
    for name, s in _sides():
        on = (kinds == eye_kind[name]).astype(np.float64)[:, None]
        rel = p - eyes[name]
        f[f"eye_look_up_{name}"] = on * _rotate(rel, 0, a)
        f[f"eye_look_down_{name}"] = on * _rotate(rel, 0, -a)
        f[f"eye_look_in_{name}"] = on * _rotate(rel, 1, -s * a)  # in = toward x = 0
        f[f"eye_look_out_{name}"] = on * _rotate(rel, 1, s * a)
    return f


def facs_templates(
    mean: np.ndarray, world_basis: np.ndarray, vertex_kinds: np.ndarray, kinds: dict[str, int]
) -> tuple[list[str], np.ndarray]:
    """The 57 templates ``(names, offsets [T, V, 3])`` on the head ``mean`` ``[V, 3]``.

    Args:
        mean: ``[V, 3]`` the template head (head units).
        world_basis: ``[12, V, 3]`` the world's blendshapes on it (kept unchanged as the first 12).
        vertex_kinds: ``[V]`` component per vertex; ``kinds`` maps ``skin``, ``eye_left``, ``eye_right`` to codes.
    """
    p = np.asarray(mean, np.float64)
    base = {n: np.asarray(world_basis[i], np.float64) for i, n in enumerate(EXPRESSION_NAMES)}
    centres = eye_centers()
    eyes = {"right": centres[0], "left": centres[1]}
    names, fields = list(EXPRESSION_NAMES), [base[n] for n in EXPRESSION_NAMES]
    left = smoothstep(-0.04, 0.04, p[:, 0])[:, None]
    for n in SPLIT:
        names += [f"{n}_left", f"{n}_right"]
        fields += [base[n] * left, base[n] * (1.0 - left)]
    skin = (vertex_kinds == kinds["skin"]).astype(np.float64)
    new = _new_fields(p, skin, eyes, base)
    new.update(_eye_looks(p, vertex_kinds, eyes, {"left": kinds["eye_left"], "right": kinds["eye_right"]}))
    names += list(new)
    fields += list(new.values())
    return names, np.stack(fields).astype(np.float32)
