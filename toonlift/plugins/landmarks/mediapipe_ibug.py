"""The correspondence from MediaPipe's 468 Face Mesh points to the 68 iBUG points, and how it was derived.

:data:`MESH_TO_IBUG` ``[68]`` gives, for each iBUG point, the Face Mesh index used in its place. It was derived
(:func:`derive_correspondence`, re-run by ``python benchmarks/derive_mediapipe_68.py``) on the synthetic world,
where the true 68 points are known: 48 photo renders at 256 px (seed 7, the world's poses halved; BlazeFace found
all 48), each face's 468 mesh points from :func:`toonlift.plugins.landmarks.mediapipe_runtime.face_mesh`, and for
each iBUG point the mesh index with the smallest median distance (pixels) over the faces. Mean error of the table
on those faces: 6.0 px (the faces are ~150 px wide); on scikit-image's astronaut it lies 3.5 px from dlib's 68 points
(512 px image). Jaw-contour points are the least defined: iBUG's contour follows the visible outline, the mesh's
oval is fixed on the skin, so they differ most with yaw. The table fits the world's landmark convention; a table
fitted to hand-labelled photos would differ on the contour and brows.
"""

from __future__ import annotations

import numpy as np

# fmt: off
MESH_TO_IBUG: tuple[int, ...] = (
    34, 227, 147, 192, 135, 170, 176, 148, 152, 377, 400, 395, 394, 416, 376, 447, 264,  # contour 0-16
    53, 105, 66, 65, 107, 336, 336, 296, 334, 283,  # brows 17-26 (22 and 23 share the inner brow point)
    6, 197, 5, 4, 240, 60, 2, 328, 305,  # nose 27-35
    163, 159, 158, 173, 26, 145, 398, 384, 386, 390, 374, 252,  # eyes 36-47
    76, 39, 37, 0, 267, 269, 306, 405, 314, 17, 84, 181,  # outer lips 48-59
    95, 81, 12, 311, 407, 317, 14, 178,  # inner lips 60-67
)
# fmt: on


def derive_correspondence(mesh: np.ndarray, ibug: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of the 68 points, the mesh index nearest it (median over faces) and that median distance.

    Args:
        mesh: ``[N, 468, 2]`` Face Mesh points of ``N`` faces (pixels).
        ibug: ``[N, 68, 2]`` the true iBUG points of the same faces.

    Returns:
        ``(indices [68], median distance [68])``.
    """
    d = np.linalg.norm(mesh[:, None, :, :] - ibug[:, :, None, :], axis=-1)  # [N, 68, 468]
    med = np.median(d, axis=0)  # [68, 468]
    idx = med.argmin(1)
    return idx, med[np.arange(68), idx]
