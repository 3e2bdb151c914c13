"""The mean shape of the procedural head: skin surface, eye sockets and eyeballs, hair shell, neck.

The skin is a warped latitude/longitude sphere pushed into a head by smooth, compactly supported displacement
fields (jaw taper, chin, cheekbones, brow ridge, nose, lips, ears); the eyes are separate spheres sitting in
almond-shaped openings of the skin; the hair is a second shell that floats above the skin where the hair mask is 1
and sinks inside the head elsewhere (so it is closed and never shows where there is no hair).
"""

from __future__ import annotations

import numpy as np

from toonlift.synthetic import layout as L
from toonlift.synthetic.geometry import bump, smoothstep


def skull_normal(u: np.ndarray) -> np.ndarray:
    """Outward normals ``[N, 3]`` of the skull ellipsoid at unit directions ``u``."""
    n = u / np.square(np.asarray(L.SKULL))
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def _nose(u: np.ndarray) -> np.ndarray:
    """Forward (+z) height of the nose: a ridge from the bridge to the tip, then falling to the upper lip."""
    ux, uy = u[:, 0], u[:, 1]
    t = np.clip((0.16 - uy) / (0.16 - L.NOSE_TIP_UY), 0.0, 1.0)
    height = 0.05 + 0.16 * t**1.6
    width = 0.045 + 0.055 * t
    lateral = np.clip(1.0 - (ux / width) ** 2, 0.0, None) ** 3
    top = smoothstep(0.22, 0.12, uy)
    below = smoothstep(L.NOSE_TIP_UY - 0.09, L.NOSE_TIP_UY - 0.01, uy)
    return height * lateral * top * below * (u[:, 2] > 0)


def unsocketed_skin(u: np.ndarray) -> np.ndarray:
    """Skin positions ``[N, 3]`` at unit directions ``u`` without the eye sockets (defines where the eyes sit)."""
    uv = u[:, :2]
    front = u[:, 2] > 0
    p = u * np.asarray(L.SKULL)
    taper = smoothstep(-0.05, -0.85, u[:, 1])  # narrower jaw than skull
    p[:, 0] *= 1.0 - 0.24 * taper
    side = np.sign(u[:, 0])
    chin = bump(u, (0.0, -0.86, 0.5), (0.36, 0.26, 0.6))
    p[:, 2] += 0.07 * chin
    p[:, 1] -= 0.03 * chin
    mirrored = np.stack([np.abs(u[:, 0]), u[:, 1], u[:, 2]], 1)  # features mirrored into the x >= 0 half
    cheek = bump(mirrored, (0.5, -0.02, 0.8), (0.3, 0.22, 0.5)) * front
    p[:, 0] += 0.03 * cheek * side
    p[:, 2] += 0.03 * cheek
    p[:, 2] += 0.045 * bump(u, (0.0, 0.3, 0.95), (0.62, 0.13, 0.5))  # brow ridge
    p[:, 2] += _nose(u)
    alae = bump(np.stack([np.abs(uv[:, 0]), uv[:, 1]], 1), (0.075, L.NOSE_TIP_UY - 0.035), (0.06, 0.05)) * front
    p[:, 2] += 0.065 * alae
    p[:, 2] += 0.04 * bump(uv, (0.0, -0.38), (0.26, 0.18)) * front  # philtrum / maxilla
    upper = bump(uv, (0.0, L.MOUTH_Y + 0.035), (L.MOUTH_HALF_WIDTH + 0.02, 0.045)) * front
    lower = bump(uv, (0.0, L.MOUTH_Y - 0.045), (L.MOUTH_HALF_WIDTH - 0.01, 0.05)) * front
    seam = bump(uv, (0.0, L.MOUTH_Y), (L.MOUTH_HALF_WIDTH, 0.014)) * front
    p[:, 2] += 0.05 * upper + 0.055 * lower - 0.035 * seam
    ear = bump(mirrored, (0.97, 0.0, -0.12), (0.3, 0.2, 0.2))
    p[:, 0] += 0.085 * ear * side
    p[:, 2] -= 0.04 * ear
    return p


def eye_centers() -> np.ndarray:
    """Eyeball centres ``[2, 3]`` (subject's right eye first, at ``-x``) of the mean head."""
    d = np.array([[-L.EYE_DIR_X, L.EYE_DIR_Y, 0.0], [L.EYE_DIR_X, L.EYE_DIR_Y, 0.0]])
    d[:, 2] = np.sqrt(1.0 - d[:, 0] ** 2 - d[:, 1] ** 2)
    c = unsocketed_skin(d)
    c[:, 2] -= L.EYE_SINK * L.EYE_RADIUS
    return c


def almond_distance(p: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Scaled distance ``[N]`` of points to an eye's almond opening (1 on the lid margin, < 1 inside)."""
    dx = (p[:, 0] - center[0]) / L.ALMOND_HALF_WIDTH
    dy = p[:, 1] - center[1]
    dy = np.where(dy > 0, dy / L.ALMOND_UP, dy / L.ALMOND_DOWN)
    return dx**2 + dy**2


def ball_front(p: np.ndarray, center: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Depth ``z`` of the front of a sphere above points' ``(x, y)``, and whether the point is over the sphere."""
    rho2 = (p[:, 0] - center[0]) ** 2 + (p[:, 1] - center[1]) ** 2
    inside = rho2 < radius**2
    return center[2] + np.sqrt(np.clip(radius**2 - rho2, 0.0, None)), inside


def _smooth_max(a: np.ndarray, b: np.ndarray, k: float = 0.012) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return a * (1 - h) + b * h + k * h * (1 - h)


def skin_surface(u: np.ndarray) -> np.ndarray:
    """Mean skin positions ``[N, 3]`` at unit directions: the un-socketed skin with lids over the eyeballs."""
    p = unsocketed_skin(u)
    for c in eye_centers():
        near = (np.abs(p[:, 0] - c[0]) < 0.3) & (u[:, 2] > 0.3)
        lid_z, over = ball_front(p, c, L.EYE_RADIUS + L.LID_THICKNESS)
        cover = np.where(over & near, _smooth_max(p[:, 2], lid_z), p[:, 2])
        opening = smoothstep(1.0, 0.55, almond_distance(p, c)) * near
        p[:, 2] = (1 - opening) * cover + opening * (c[2] + 0.3 * L.EYE_RADIUS)
    return p


def hair_offset(u: np.ndarray) -> np.ndarray:
    """Signed distance ``[N]`` of the hair shell along the skull normal: outside under hair, deep inside elsewhere."""
    h = L.hair_mask(u)
    return (0.12 + 0.04 * u[:, 1]) * h - 0.3 * (1.0 - h)


def hair_surface(u: np.ndarray) -> np.ndarray:
    """Mean hair-shell positions ``[N, 3]`` at unit directions."""
    return skin_surface(u) + skull_normal(u) * hair_offset(u)[:, None]
