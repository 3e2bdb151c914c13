"""Eye-landmark snapping (seed 002, Sec. 3.2): move each detected eye landmark onto the parsed eye region's boundary.

Landmark detectors trained on photos miss cartoon eyes (larger, rounder, often outside the photo prior), while a
face parser still segments them. 002 therefore snaps "each eye landmark to the nearest point of the segmented eye
boundary". Here the boundary of a binary eye mask is its pixels with a 4-neighbour outside the mask; each eye's six
iBUG points (36-41 right eye in the image's left half, 42-47 the other) are snapped to the boundary of the connected
eye region nearest to their centroid, never farther than ``max_distance`` pixels (a missed or spurious region leaves
the points where they were).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EYE_INDICES: tuple[tuple[int, ...], tuple[int, ...]] = (tuple(range(36, 42)), tuple(range(42, 48)))


def region_boundary(mask: np.ndarray) -> np.ndarray:
    """Bool ``[H, W]``: pixels of ``mask`` ``[H, W]`` with a 4-neighbour outside it (the image edge is outside)."""
    m = np.asarray(mask, bool)
    inner = ndimage.binary_erosion(m, structure=ndimage.generate_binary_structure(2, 1), border_value=0)
    return m & ~inner


def snap_eye_landmarks(points: np.ndarray, eye_mask: np.ndarray, max_distance: float = 8.0) -> np.ndarray:
    """Snap the 12 eye landmarks of ``points`` ``[68, 2]`` (pixels ``(x, y)``) to the boundary of ``eye_mask``.

    Args:
        points: ``[68, 2]`` iBUG landmarks in pixels of the mask's image (pixel centres on integers).
        eye_mask: ``[H, W]`` bool, the parsed eye regions (both eyes; sclera + iris, as a parser's "eye" labels).
        max_distance: a point whose nearest boundary pixel lies farther than this (pixels) is left as it is.

    Returns:
        ``[68, 2]`` float64 copy of ``points`` with the eye points moved; the other 56 points are unchanged.
    """
    out = np.array(points, dtype=np.float64, copy=True)
    labels, count = ndimage.label(np.asarray(eye_mask, bool))
    if count == 0:
        return out
    edge = region_boundary(labels > 0)
    for idx in EYE_INDICES:
        eye = out[list(idx)]  # [6, 2]
        centre = eye.mean(0)
        # the region for this eye: the labelled component whose boundary comes nearest to the points' centroid
        ys, xs = np.nonzero(edge)
        d_centre = np.hypot(xs - centre[0], ys - centre[1])
        region = labels[ys[d_centre.argmin()], xs[d_centre.argmin()]]
        sel = labels[ys, xs] == region
        bx, by = xs[sel].astype(np.float64), ys[sel].astype(np.float64)  # [N] boundary pixels of that region
        d = np.hypot(eye[:, None, 0] - bx[None], eye[:, None, 1] - by[None])  # [6, N]
        nearest = d.argmin(1)
        near_enough = d[np.arange(len(idx)), nearest] <= max_distance
        eye[near_enough] = np.stack([bx[nearest], by[nearest]], 1)[near_enough]
        out[list(idx)] = eye
    return out


__all__ = ["EYE_INDICES", "region_boundary", "snap_eye_landmarks"]
