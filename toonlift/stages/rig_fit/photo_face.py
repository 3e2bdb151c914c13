"""A portrait's face for ``toonlift avatar``: read, detect, choose, crop to the rig's framing, 68 landmarks.

Faces are found by dlib's HOG frontal detector (in the ``dlib-bin`` wheel, no download); with several, the largest is
taken and the command says so, or ``--face N`` picks one (0 = largest). The chosen face is cropped square so that
its landmarks sit where the ``head_rig`` mean face's frontal landmarks sit in a render of the same size (same centroid
and spread), which keeps the fitted pose near the world's (``tx, ty, log-scale`` near 0). Landmarks come from a
registered ``toonlift.landmark_detectors`` plugin run on a loose crop around the chosen box, so the detector sees
one face whichever it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from toonlift.errors import DataError
from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.plugins.head_rig.backbone import HeadRigBackbone, rig_camera_vertices
from toonlift.plugins.head_rig.latent import split_latent
from toonlift.plugins.head_rig.prior import prior_moments
from toonlift.plugins.landmarks.dlib68 import hog_face_detector
from toonlift.synthetic.render import FOV_DEG
from toonlift.utils.image_reading import read_image_file

MIN_SCORE = 0.3  # HOG detections below this are dropped (on scikit-image's astronaut a badge scores 0.12)


@dataclass
class FaceBox:
    """One detection: ``box`` ``(x0, y0, x1, y1)`` in photo pixels and the HOG score."""

    box: tuple[float, float, float, float]
    score: float

    @property
    def area(self) -> float:
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])


@dataclass
class FaceCrop:
    """The chosen face in the rig's framing.

    Attributes:
        image: ``[1, 3, S, S]`` crop in ``[-1, 1]``.
        landmarks: ``[68, 2]`` detected landmarks in crop pixels (pixel centres on integers).
        origin: ``(x0, y0)`` photo pixel of the crop's top-left corner.
        side: the crop's side in photo pixels (the crop is resized from ``side`` to ``S``).
        box: the detector's face box in photo pixels.
        photo_landmarks: ``[68, 2]`` the same landmarks in photo pixels.
    """

    image: Tensor
    landmarks: Tensor
    origin: tuple[int, int]
    side: int
    box: tuple[float, float, float, float]
    photo_landmarks: Tensor


def read_photo(path: str | Path) -> np.ndarray:
    """``[H, W, 3]`` uint8 RGB of ``path`` through toonlift's one image reader (refuses unreadable files)."""
    return np.asarray(read_image_file(path), dtype=np.uint8)


def detect_faces(photo: np.ndarray, min_score: float = MIN_SCORE) -> list[FaceBox]:
    """Every face dlib's HOG detector finds in ``photo`` ``[H, W, 3]`` uint8, largest first.

    Small photos are upsampled once (faces down to ~40 px); photos over 800 px on their short side are searched at
    half size (the detector's cost grows with the area; portraits' faces are large there)."""
    detector = hog_face_detector()
    h, w = photo.shape[:2]
    scale = 0.5 if min(h, w) > 800 else 1.0
    im = photo if scale == 1.0 else np.asarray(Image.fromarray(photo).resize((round(w * scale), round(h * scale))))
    rects, scores, _ = detector.run(np.ascontiguousarray(im), 1 if min(h, w) < 400 else 0, 0.0)
    found = [
        FaceBox((r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale), float(s))
        for r, s in zip(rects, scores)
        if s >= min_score
    ]
    return sorted(found, key=lambda f: -f.area)


def choose_face(
    faces: list[FaceBox], index: int | None, name: str, command: str = "toonlift avatar"
) -> tuple[FaceBox, str | None]:
    """The face to reconstruct and the note to print when there was a choice (``command`` names the caller).

    Raises:
        DataError: no face, or ``index`` outside the faces found.
    """
    if not faces:
        raise DataError(
            f"No face was found in '{name}' (dlib's frontal face detector, score >= {MIN_SCORE}). {command} "
            "needs a portrait with one clearly visible, roughly frontal human face of at least ~40 pixels; a "
            "cartoon, an animal or a strongly turned head is not detected."
        )
    if index is not None:
        if not 0 <= index < len(faces):
            raise DataError(
                f"--face {index} asks for face {index} of '{name}', but {len(faces)} face(s) were found "
                f"(numbered 0..{len(faces) - 1} from the largest); choose one of those."
            )
        return faces[index], f"{len(faces)} faces found in '{name}'; using face {index} as asked (--face)."
    if len(faces) > 1:
        b = faces[0].box
        return faces[0], (
            f"{len(faces)} faces found in '{name}'; using the largest (box {b[0]:.0f},{b[1]:.0f} - {b[2]:.0f},"
            f"{b[3]:.0f}); pass --face N (0 = largest) to choose another."
        )
    return faces[0], None


def _square_crop(photo: np.ndarray, x0: int, y0: int, side: int, size: int) -> np.ndarray:
    """``[size, size, 3]`` uint8: the photo's square ``(x0, y0, side)`` (edge pixels repeated outside it), resized."""
    h, w = photo.shape[:2]
    ys = np.clip(np.arange(y0, y0 + side), 0, h - 1)
    xs = np.clip(np.arange(x0, x0 + side), 0, w - 1)
    patch = photo[ys[:, None], xs[None, :]]
    return np.asarray(Image.fromarray(patch).resize((size, size), Image.Resampling.LANCZOS))


def to_crop(points: Tensor, origin: tuple[int, int], side: int, size: int) -> Tensor:
    """Photo pixels ``[..., 2]`` to crop pixels of a ``size`` crop (pixel centres on integers in both)."""
    o = torch.tensor(origin, dtype=points.dtype)
    return (points - o + 0.5) * (size / side) - 0.5


@lru_cache(maxsize=4)
def mean_face_landmarks(size: int) -> Tensor:
    """``[68, 2]`` the frontal landmarks of the rig's prior-mean face rendered at ``size`` pixels."""
    rig = HeadRigBackbone(image_size=size, detail="low")
    mean, _ = prior_moments("photo")
    lat = mean.clone()[None]
    lat[:, 47:] = 0  # frontal, centred, unit scale
    obj = rig.object_vertices(split_latent(lat))
    cam = rig_camera_vertices(obj[:, rig.landmarks], lat[:, 47:])
    return project(cam, fov_to_intrinsics(FOV_DEG, size))[0, :, :2]


def crop_face(photo: np.ndarray, face: FaceBox, detector, size: int = 256) -> FaceCrop:
    """Landmarks of ``face`` by ``detector`` (a ``LandmarkDetector``) and the ``size`` crop in the rig's framing.

    Raises:
        DataError: the landmark detector finds no face inside the chosen box's neighbourhood.
    """
    x0, y0, x1, y1 = face.box
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)
    loose_side = int(round(4 * half))  # 2x the box on each side: one whole face, however the detector frames it
    lx, ly = int(round(cx - loose_side / 2)), int(round(cy - loose_side / 2))
    loose_size = min(512, max(256, loose_side))
    loose = _square_crop(photo, lx, ly, loose_side, loose_size)
    image = torch.from_numpy(loose.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    found = detector(image)
    if not bool(found.found[0]):
        raise DataError(
            f"The landmark detector '{type(detector).__name__}' found no face around the detected box "
            f"{tuple(round(v) for v in face.box)}; try the other detector (--detector dlib68|mediapipe)."
        )
    pts = found.points[0].double()  # [68, 2] loose-crop pixels
    photo_pts = (pts + 0.5) * (loose_side / loose_size) - 0.5 + torch.tensor([lx, ly], dtype=pts.dtype)
    ref = mean_face_landmarks(size).double()
    spread = lambda p: (p - p.mean(0)).pow(2).sum(1).mean().sqrt()  # noqa: E731
    side = int(round(size * float(spread(photo_pts) / spread(ref))))
    origin_f = photo_pts.mean(0) - (ref.mean(0) + 0.5) * side / size
    origin = (int(round(float(origin_f[0]))), int(round(float(origin_f[1]))))
    crop = _square_crop(photo, origin[0], origin[1], side, size)
    return FaceCrop(
        image=torch.from_numpy(crop.copy()).permute(2, 0, 1)[None].float() / 127.5 - 1,
        landmarks=to_crop(photo_pts, origin, side, size).float(),
        origin=origin,
        side=side,
        box=face.box,
        photo_landmarks=photo_pts.float(),
    )


__all__ = ["FaceBox", "FaceCrop", "choose_face", "crop_face", "detect_faces", "mean_face_landmarks", "read_photo"]
