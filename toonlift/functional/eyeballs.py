"""Eyeballs that follow the lids: rigid eyeball motion for a rig, and eyeballs carried with a face's eye openings.

Eyeballs are separate closed components. Two rules keep them consistent with the lids around them:

* :func:`rigid_eyeball_offsets` -- a template's eyeball motion (e.g. a look: a turn about the template's eye
  centre) is a rigid motion; on another face it must be the same turn about *that* face's eyeball centre (naive
  offsets would turn it about the template's centre and shear a bigger eye). Kabsch's fit of the template's
  motion, re-applied about the target's centroid, with its translation scaled by the eye-size ratio.
* :func:`follow_lids` -- when a face's eye openings move or grow (a Laplacian refinement onto landmarks moves the
  lids but not the eyeballs), each eyeball follows the similarity (scale + translation) that best maps the lid
  ring before onto the lid ring after, so it stays seated behind the lids.
"""

from __future__ import annotations

import numpy as np

from toonlift.errors import ConfigError


def similarity_fit(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Least-squares ``(s, t)`` with ``target ~ s * source + t`` (``[N, 3]`` each, no rotation)."""
    ps, pt = source.mean(0), target.mean(0)
    denom = float(np.sum((source - ps) ** 2))
    s = float(np.sum((target - pt) * (source - ps)) / denom) if denom > 0 else 1.0
    return s, pt - s * ps


def kabsch(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rotation ``R`` ``[3, 3]`` and translation of centroids ``t`` ``[3]`` best mapping ``source`` onto
    ``target`` (``[N, 3]`` each): ``target ~ R (source - mean(source)) + mean(source) + t``."""
    ps, pt = source.mean(0), target.mean(0)
    u, _, vt = np.linalg.svd((target - pt).T @ (source - ps))
    d = np.sign(np.linalg.det(u @ vt))
    r = u @ np.diag([1.0, 1.0, d]) @ vt
    return r, pt - ps


def sphere_centre(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere ``(centre [3], radius)`` through ``points`` ``[N, 3]`` (``|x|^2 = 2 c.x + k``)."""
    a = np.hstack([2 * points, np.ones((len(points), 1))])
    sol, *_ = np.linalg.lstsq(a, np.sum(points**2, 1), rcond=None)
    c = sol[:3]
    return c, float(np.sqrt(max(sol[3] + c @ c, 0.0)))


def rigid_eyeball_offsets(
    template: np.ndarray,
    template_offsets: np.ndarray,
    target: np.ndarray,
    offsets: np.ndarray,
    eyeballs: list[np.ndarray],
) -> np.ndarray:
    """``offsets`` ``[T, V, 3]`` with each eyeball's rows replaced by the template's eyeball motion made rigid and
    re-applied about the target eyeball's own centre: the same rotation, and the centre's displacement scaled by
    the radius ratio.

    Args:
        template: ``[V, 3]`` the template's neutral.
        template_offsets: ``[T, V, 3]`` the template's blendshape offsets.
        target: ``[V, 3]`` the target's neutral.
        offsets: ``[T, V, 3]`` the transferred offsets (their eyeball rows are replaced).
        eyeballs: index arrays of each eyeball's vertices (spheres).
    """
    template, target = np.asarray(template, np.float64), np.asarray(target, np.float64)
    out = np.array(offsets, dtype=np.float64, copy=True)
    for ids in eyeballs:
        ids = np.asarray(ids, np.int64)
        if len(ids) < 4:
            raise ConfigError(f"An eyeball needs at least 4 vertices, got {len(ids)}.")
        p, q = template[ids], target[ids]
        (cp, rp), (cq, rq) = sphere_centre(p), sphere_centre(q)
        rel = q - cq  # [N, 3] about the target's own centre
        for k in range(len(out)):
            moved = p + np.asarray(template_offsets[k], np.float64)[ids]
            r, t = kabsch(p, moved)
            shift = r @ (cp - p.mean(0)) + p.mean(0) + t - cp  # where the template's centre goes
            out[k, ids] = rel @ r.T - rel + (rq / rp) * shift
    return out


def follow_lids(
    before: np.ndarray, after: np.ndarray, eyeballs: list[np.ndarray], rings: list[np.ndarray]
) -> np.ndarray:
    """``after`` ``[V, 3]`` with each eyeball (index arrays ``eyeballs``) moved from its place in ``before`` by the
    similarity that maps its lid ring (index arrays ``rings``, same order) in ``before`` onto ``after``."""
    if len(eyeballs) != len(rings):
        raise ConfigError(f"follow_lids needs one lid ring per eyeball; got {len(eyeballs)} and {len(rings)}.")
    out = np.array(after, dtype=np.float64, copy=True)
    for ball, ring in zip(eyeballs, rings):
        s, t = similarity_fit(before[ring], after[ring])
        out[ball] = s * before[ball] + t
    return out
