"""``toonlift avatar``: one portrait -> a textured, rigged 3D cartoon face (seed 002, end to end).

Phases (each timed; ``metrics.json`` and the printout give the seconds):

1. **detect**: the photo through toonlift's one image reader; dlib's HOG frontal detector; the largest face (said
   so when there are several) or ``--face N``; a clear refusal when there is none.
2. **landmarks**: 68 points by a ``toonlift.landmark_detectors`` plugin (``--detector dlib68|mediapipe``) on the
   chosen face; the crop is framed like the rig's mean face (``photo_face.py``); optional eye-landmark snapping to
   a parsed eye region (``--parser-weights``: BiSeNet's eye labels).
3. **coarse**: analysis by synthesis of the ``head_rig`` latent at ``--fit-size`` (``photo_fit.py``), from the
   regressor (``--regressor``) or the prior mean with a Procrustes pose.
4. **fine**: ``refine_to_landmarks`` (002 Eq. 9-11) at the 256-px crop; eyeballs refitted as spheres.
5. **texture**: projection into the crop + background diffusion (002 Eq. 12) into the rig's UV texture.
6. **rig**: the 57 FACS templates moved onto the fitted neutral face by deformation transfer (as ``rig-viewer``).
7. **files**: written by ``avatar_files.py`` into a temporary folder beside ``--out``, renamed at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.plugins.head_rig.backbone import HeadRigBackbone, rig_camera_vertices
from toonlift.plugins.head_rig.latent import SLICES, split_latent
from toonlift.plugins.landmarks.base import GROUPS
from toonlift.stages.rig_fit.photo_face import FaceCrop, choose_face, crop_face, detect_faces
from toonlift.stages.rig_fit.photo_fit import CoarseFit, coarse_fit, landmark_points, regressor_start
from toonlift.stages.rig_fit.photo_texture import bake_texture, head_region, refit_eyeballs
from toonlift.stages.rig_fit.refine import GATED, refine_to_landmarks

DETECTORS = ("dlib68", "mediapipe")
CROP = 256  # the crop every residual is reported in


@dataclass
class Avatar:
    """Everything ``toonlift avatar`` computed for one portrait (tensors on the CPU).

    Attributes:
        rig: the ``head_rig`` backbone at the crop's size (faces, UVs, templates).
        crop: the chosen face (:class:`FaceCrop`, 256-px crop).
        coarse: the coarse fit (latent, residuals at the fit size).
        latent: ``[53]`` the fitted latent.
        coarse_vertices: ``[V, 3]`` coarse mesh, object space (head units; export frame).
        fine_vertices: ``[V, 3]`` refined mesh with refitted eyeballs, object space (the fitted expression).
        neutral_vertices: ``[V, 3]`` ``fine_vertices`` without the fitted expression (the rig's neutral).
        camera_vertices: ``[V, 3]`` ``fine_vertices`` in the crop's camera.
        texture: ``[3, T, T]`` in ``[-1, 1]``; ``known``: ``[T, T]`` texels taken from the photo.
        fine_landmarks: ``[68, 2]`` the refined mesh's landmarks in crop pixels.
        residuals: landmark residuals (mean pixels of the 256-px crop): ``start``, ``coarse``, ``fine`` and
            ``coarse_<group>``, ``fine_<group>`` for 002's Table 1 groups (contour, brow, nose, eyes, mouth).
        times: seconds per phase.
        notes: what was printed (several faces, snapping, ...).
        eyes: per-eye sphere refits.
        photo_image: ``[1, 3, 256, 256]`` the photo's crop (``crop.image`` is the cartoon when one was made).
        cartoon: what cartoonisation did (generators, projection error, images), or ``None``.
    """

    rig: HeadRigBackbone
    crop: FaceCrop
    coarse: CoarseFit
    latent: Tensor
    coarse_vertices: Tensor
    fine_vertices: Tensor
    neutral_vertices: Tensor
    camera_vertices: Tensor
    texture: Tensor
    known: Tensor
    fine_landmarks: Tensor
    residuals: dict[str, float]
    times: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    eyes: list[dict] = field(default_factory=list)
    photo_image: Tensor | None = None
    cartoon: dict | None = None


def make_detector(name: str):
    """The landmark detector plugin ``name`` (``dlib68`` or ``mediapipe``) with its default weights."""
    if name not in DETECTORS:
        raise ConfigError(f"Unknown landmark detector '{name}'; choose one of {', '.join(DETECTORS)}.")
    if name == "dlib68":
        from toonlift.plugins.landmarks.dlib68 import DlibLandmarkDetector

        return DlibLandmarkDetector()
    from toonlift.plugins.landmarks.mediapipe_mesh import MediaPipeLandmarkDetector

    return MediaPipeLandmarkDetector()


def snap_to_parsed_eyes(crop: FaceCrop, parser_weights: str) -> tuple[Tensor, str]:
    """Landmarks of ``crop`` with the eye points snapped to BiSeNet's eye labels (4, 5), and a note."""
    from toonlift.functional.eye_snap import snap_eye_landmarks
    from toonlift.plugins.parsers.bisenet import BiSeNetFaceParser

    parser = BiSeNetFaceParser(weights=parser_weights).eval()
    with torch.no_grad():
        labels = parser.labels(crop.image)[0].numpy()
    eyes = (labels == 4) | (labels == 5)
    snapped = snap_eye_landmarks(crop.landmarks.numpy(), eyes)
    moved = float(np.abs(snapped - crop.landmarks.numpy()).sum(1).max())
    return torch.from_numpy(snapped).float(), f"eye landmarks snapped to the parsed eyes (largest move {moved:.1f} px)"


def _residual(points: Tensor, target: Tensor) -> float:
    return float((points - target).norm(dim=-1).mean())


def reconstruct(
    photo: np.ndarray,
    name: str = "photo",
    face: int | None = None,
    detector: str = "dlib68",
    regressor: str | None = None,
    parser_weights: str | None = None,
    fit_size: int = 128,
    landmark_steps: int = 150,
    photo_steps: int = 20,
    texture_size: int = 512,
    detail: str = "high",
    cartoon: dict | None = None,
    log: Callable[[str], None] = print,
) -> Avatar:
    """Phases 1-5 of the module docstring on ``photo`` ``[H, W, 3]`` uint8 (``name`` names it in messages).

    ``detail``: the rig mesh (``"high"`` 12,714 vertices, ``"low"`` 6,026 with the same coefficients).
    ``cartoon``: keyword arguments of :func:`~toonlift.stages.rig_fit.cartoonise.cartoonise` (``generator``,
    ``cartoon_generator``, ``steps``, ``lpips_weights``) to reconstruct the portrait's cartoon instead of the photo
    (002's order); the cartoon's own landmarks are used when the detector finds them."""
    times: dict[str, float] = {}
    notes: list[str] = []
    t = time.perf_counter()
    chosen, note = choose_face(detect_faces(photo), face, name)
    if note:
        log(note)
        notes.append(note)
    times["detect"] = time.perf_counter() - t

    t = time.perf_counter()
    crop = crop_face(photo, chosen, make_detector(detector), CROP)
    photo_image = crop.image
    times["landmarks"] = time.perf_counter() - t
    cartoon_info = None
    if cartoon is not None:
        t = time.perf_counter()
        crop, cartoon_info, note = _cartoon_crop(crop, cartoon, make_detector(detector))
        log(note)
        notes.append(note)
        times["cartoonise"] = time.perf_counter() - t
    t = time.perf_counter()
    target = crop.landmarks
    if parser_weights is not None:
        target, note = snap_to_parsed_eyes(crop, parser_weights)
        notes.append(note)
        log(note)
    times["landmarks"] += time.perf_counter() - t

    t = time.perf_counter()
    rig_fit = HeadRigBackbone(image_size=fit_size, detail=detail)
    small = torch.nn.functional.interpolate(crop.image, size=(fit_size, fit_size), mode="area")
    small_target = (target + 0.5) * (fit_size / CROP) - 0.5
    start = None if regressor is None else regressor_start(regressor, small)
    coarse = coarse_fit(rig_fit, small, small_target, start, landmark_steps, photo_steps)
    times["coarse"] = time.perf_counter() - t

    t = time.perf_counter()
    rig = HeadRigBackbone(image_size=CROP, detail=detail)
    latent = coarse.latent
    ref = refine_to_landmarks(rig, latent, target, **GATED)  # the gated fine stage (docs/rig.md)
    if ref.gated:
        note = f"fine stage gated: the coarse fit is within {GATED['gate_px']} px of the landmarks, so it is kept"
        notes.append(note)
        log(note)
    fine, eyes = refit_eyeballs(rig, ref.coarse_object_vertices, ref.object_vertices)
    if getattr(ref, "latent", None) is not None:  # the pose the refinement placed the mesh with
        latent = ref.latent.detach().reshape(-1).float()
    lat = split_latent(latent[None])
    with torch.no_grad():
        expression = torch.einsum("be,evc->bvc", lat.expression, rig.expression_basis)[0]
        camera = rig_camera_vertices(fine[None], lat.pose)[0]
    times["fine"] = time.perf_counter() - t

    t = time.perf_counter()
    texture, known = bake_texture(rig, camera, crop.image, texture_size, region=head_region(target, CROP))
    times["texture"] = time.perf_counter() - t

    coarse_points = landmark_points(rig, latent[None])[0]
    residuals = {
        "start": coarse.start_residual * CROP / fit_size,  # the coarse fit's starting point
        "coarse": _residual(coarse_points, target),
        "fine": _residual(ref.landmarks, target),
        "fine_gated": float(bool(getattr(ref, "gated", False))),
    }
    for group, rows in GROUPS.items():  # 002's Table 1 groups
        residuals[f"coarse_{group}"] = _residual(coarse_points[list(rows)], target[list(rows)])
        residuals[f"fine_{group}"] = _residual(ref.landmarks[list(rows)], target[list(rows)])
    return Avatar(
        rig=rig,
        crop=crop,
        coarse=coarse,
        latent=latent,
        coarse_vertices=ref.coarse_object_vertices,
        fine_vertices=fine,
        neutral_vertices=fine - expression,
        camera_vertices=camera,
        texture=texture,
        known=known,
        fine_landmarks=ref.landmarks,
        residuals=residuals,
        times=times,
        notes=notes,
        eyes=eyes,
        photo_image=photo_image,
        cartoon=cartoon_info,
    )


def _cartoon_crop(crop: FaceCrop, options: dict, detector) -> tuple[FaceCrop, dict, str]:
    """The crop replaced by its cartoon, with the cartoon's own landmarks when ``detector`` finds them there."""
    from toonlift.stages.rig_fit.cartoonise import cartoonise

    image, info = cartoonise(crop.image, **options)
    found = detector(image)
    own = bool(found.found[0])
    if own:  # a detection of another face (or of a blob) would be far from the photo's landmarks
        shift = float((found.points[0].float() - crop.landmarks).norm(dim=1).mean())
        own = shift < 0.1 * CROP
    info["landmarks"] = "detected on the cartoon" if own else "the photo's (none detected on the cartoon)"
    landmarks = found.points[0].float() if own else crop.landmarks
    note = (
        f"cartoonised through {Path(str(options['cartoon_generator'])).name} (projection L1 "
        f"{info['projection_l1']:.3f}); landmarks: {info['landmarks']}"
    )
    return replace(crop, image=image, landmarks=landmarks), info, note


def expression_weights(avatar: Avatar) -> Tensor:
    """``[12]`` the fitted blendshape weights (the first 12 morph targets are the world's blendshapes)."""
    return avatar.latent[SLICES["expression"]].clamp(0, 1)


__all__ = ["Avatar", "DETECTORS", "expression_weights", "make_detector", "reconstruct"]
