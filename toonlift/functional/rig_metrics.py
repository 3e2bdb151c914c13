"""Semantic measures of a rig's expressions on 68 iBUG landmarks (0-based), and the vertex error of a transferred rig.

Each ratio is scale-free, so a template head and a face of another size can be compared (seed 002's point: a
transferred blink should close a big cartoon eye as far as the template's blink closes the template's eye):

* eye closure: lid aperture after / before (mean of the two upper/lower lid pairs of the eye),
* jaw opening: how much the inner-lip gap (landmarks 62-66) grows, divided by the neutral mouth width (48-54),
* mouth-corner travel: how far the corner moves, divided by the neutral mouth width.
"""

from __future__ import annotations

import numpy as np

LID_PAIRS = {"right": ((37, 41), (38, 40)), "left": ((43, 47), (44, 46))}  # the subject's right eye: 36-41
CORNERS = {"right": 48, "left": 54}  # the subject's right mouth corner is landmark 48 (image left)


def _dist(p: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(p[..., a, :] - p[..., b, :], axis=-1)


def eye_closure(neutral: np.ndarray, posed: np.ndarray, side: str) -> float:
    """Aperture of eye ``side`` (the subject's ``"left"`` / ``"right"``) of ``posed`` over ``neutral`` ``[68, 3]``."""
    pairs = LID_PAIRS[side]
    return float(np.mean([_dist(posed, a, b) for a, b in pairs]) / np.mean([_dist(neutral, a, b) for a, b in pairs]))


def jaw_opening(neutral: np.ndarray, posed: np.ndarray) -> float:
    """Growth of the inner-lip gap from ``neutral`` to ``posed`` over the neutral mouth width (``[68, 3]`` each)."""
    return float((_dist(posed, 62, 66) - _dist(neutral, 62, 66)) / _dist(neutral, 48, 54))


def corner_travel(neutral: np.ndarray, posed: np.ndarray, side: str) -> float:
    """Distance the mouth corner ``side`` moves, over the neutral mouth width (landmarks ``[68, 3]``)."""
    i = CORNERS[side]
    return float(np.linalg.norm(posed[i] - neutral[i]) / _dist(neutral, 48, 54))


def vertex_error(offsets: np.ndarray, truth: np.ndarray, reference: np.ndarray, tol: float = 1e-4) -> float:
    """Mean distance ``|offsets - truth|`` over the vertices the truth or ``reference`` moves by more than ``tol``.

    Args:
        offsets: ``[V, 3]`` a transferred template's offsets on the face.
        truth: ``[V, 3]`` the face's true offsets.
        reference: ``[V, 3]`` the template's own offsets (its region counts even where the truth is still).
    """
    region = (np.linalg.norm(truth, axis=1) > tol) | (np.linalg.norm(reference, axis=1) > tol)
    if not region.any():
        return 0.0
    return float(np.linalg.norm(offsets - truth, axis=1)[region].mean())
