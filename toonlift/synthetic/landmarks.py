"""The 68 iBUG landmarks of the procedural head, chosen once as vertices of the mean shape.

iBUG order (0-based): 0-16 jaw from the image left (the subject's right) to the image right, 17-21 right brow
(outer to inner), 22-26 left brow (inner to outer), 27-30 nose bridge (top to tip), 31-35 nostril base (image left
to right), 36-41 right eye and 42-47 left eye (clockwise from the corner nearest the image left), 48-59 outer lips
and 60-67 inner lips (clockwise from the image-left corner). Being vertices, they follow identity and expression.
"""

from __future__ import annotations

import numpy as np

from toonlift.synthetic import layout as L
from toonlift.synthetic.head_shape import eye_centers

# Part each landmark lies on (for tests and for users checking a fit); inner-lip points may lie on "mouth" too.
LANDMARK_GROUPS = {
    "jaw": range(0, 17),
    "brows": range(17, 27),
    "nose": range(27, 36),
    "eyes": range(36, 48),
    "outer_lips": range(48, 60),
    "inner_lips": range(60, 68),
}


def _eye_ring(c: np.ndarray) -> list[tuple[float, float]]:
    """Six lid-margin points clockwise in the image from the corner nearest the image left (36 or 42)."""
    # The visible lid margin: the upper lid and the corners roll into the socket over the outer part of the almond
    # (0.85 of it), the lower lid is covered by the eyeball inside the almond (so it sits on the almond itself).
    aw, up, down = 0.85 * L.ALMOND_HALF_WIDTH, 0.85 * L.ALMOND_UP, L.ALMOND_DOWN
    k = np.sqrt(1 - 0.4**2)
    xs, ys = [-1, -0.4, 0.4, 1, 0.4, -0.4], [0, up * k, up * k, 0, -down * k, -down * k]
    return [(c[0] + sx * aw, c[1] + sy) for sx, sy in zip(xs, ys)]


def landmark_targets() -> tuple[np.ndarray, np.ndarray]:
    """Target object ``(x, y)`` of landmarks 17-67 ``[51, 2]`` and unit directions of the jaw 0-16 ``[17, 3]``."""
    a = np.linspace(-np.pi / 2, np.pi / 2, 17)
    jaw = np.stack([0.9 * np.sin(a), 0.1 - 0.98 * np.cos(a), np.zeros_like(a)], 1)
    jaw[:, 2] = np.sqrt(np.clip(1 - jaw[:, 0] ** 2 - jaw[:, 1] ** 2, 0.0, None))
    eyes = eye_centers()
    brow_y = eyes[0, 1] + L.BROW_LIFT
    xs = np.linspace(L.BROW_OUTER_X - 0.03, L.BROW_INNER_X + 0.03, 5)
    arch = brow_y + L.BROW_ARCH * np.sin(np.pi * (xs - L.BROW_INNER_X) / (L.BROW_OUTER_X - L.BROW_INNER_X))
    pts: list[tuple[float, float]] = [(-x, y) for x, y in zip(xs, arch)]
    pts += [(x, y) for x, y in zip(xs[::-1], arch[::-1])]
    pts += [(0.0, float(y)) for y in np.linspace(eyes[0, 1] - 0.02, L.NOSE_TIP_UY + 0.01, 4)]
    pts += [(x, L.NOSE_TIP_UY - 0.07) for x in (-0.075, -0.04, 0.0, 0.04, 0.075)]
    pts += _eye_ring(eyes[0]) + _eye_ring(eyes[1])
    w, m = L.MOUTH_HALF_WIDTH, L.MOUTH_Y
    outer_x = [-1, -0.66, -0.3, 0, 0.3, 0.66, 1, 0.66, 0.3, 0, -0.3, -0.66]
    outer_y = [0, 0.045, 0.058, 0.052, 0.058, 0.045, 0, -0.06, -0.075, -0.078, -0.075, -0.06]
    pts += [(w * sx, m + sy) for sx, sy in zip(outer_x, outer_y)]
    inner_x = [-0.85, -0.4, 0, 0.4, 0.85, 0.4, 0, -0.4]
    inner_y = [0, 0.01, 0.01, 0.01, 0, -0.01, -0.01, -0.01]
    pts += [(w * sx, m + sy) for sx, sy in zip(inner_x, inner_y)]
    return np.asarray(pts), jaw


def select_landmarks(skin_idx: np.ndarray, skin_dirs: np.ndarray, skin_pos: np.ndarray) -> np.ndarray:
    """Vertex indices ``[68]`` of the landmarks.

    Args:
        skin_idx: ``[N]`` global indices of the skin vertices.
        skin_dirs: ``[N, 3]`` their unit directions.
        skin_pos: ``[N, 3]`` their mean positions.
    """
    targets, jaw = landmark_targets()
    out = [int(skin_idx[np.argmin(((skin_dirs - d) ** 2).sum(1))]) for d in jaw]
    front = skin_dirs[:, 2] > 0.3
    cand_idx, cand_xy = skin_idx[front], skin_pos[front, :2]
    out += [int(cand_idx[np.argmin(((cand_xy - t) ** 2).sum(1))]) for t in targets]
    return np.asarray(out, dtype=np.int64)
