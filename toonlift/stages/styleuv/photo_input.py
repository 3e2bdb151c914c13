"""``toonlift styleuv --image PHOTO``: a real photo's face inverted into the generator's W+.

The photo goes through the same steps as ``toonlift avatar``'s (``rig_fit/photo_face.py``): toonlift's one image
reader, dlib's HOG face detector (the largest face, or ``--face N``), 68 landmarks, and a square crop framed like
the head rig's mean face, which is how the synthetic world (and so the shipped photo generator) frames its heads.
The crop, resized to the generator's side, is then inverted by toonlift's StyleGAN2 projector
(``plugins/stylegan2/projector.py``) with the settings the inverted ``(w, f)`` pairs were made with
(``vlda/synthetic_truth.py``): the face analyser's perceptual distance plus a pixel MSE, constant noise (so
``G.synthesis(w, noise_mode="const")`` reproduces the projection), one ``w`` broadcast to W+ (the codes F_3D was
trained on) unless ``per_layer`` asks for a free W+ code. ``lpips_weights`` swaps the analyser for LPIPS (a user's
FFHQ generator).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import ConfigError

CROP = 256  # the face crop's side before it is resized to the generator's


@dataclass
class PhotoInversion:
    """A photo's face in the generator's latent space.

    Attributes:
        w_plus: ``[1, num_ws, w_dim]`` the projected code.
        crop: ``[1, 3, 256, 256]`` the framed face crop in ``[-1, 1]``.
        target: ``[1, 3, S, S]`` the crop at the generator's side ``S`` (what was inverted).
        projection: ``[1, 3, S, S]`` ``G(w_plus)`` with constant noise, in ``[-1, 1]`` (not clamped).
        info: the photo, the face box, the projector's settings and its residuals (first and last step's loss and
            pixel MSE; the final L1 of the projection against the crop).
        notes: lines to print (several faces found).
    """

    w_plus: Tensor
    crop: Tensor
    target: Tensor
    projection: Tensor
    info: dict
    notes: list[str] = field(default_factory=list)


def face_crop(path: str | Path, face: int | None = None, detector: str = "dlib68") -> tuple[Tensor, dict, list[str]]:
    """``(crop [1, 3, 256, 256] in [-1, 1], info, notes)``: the photo's chosen face, framed like the rig's mean face.

    Raises:
        DataError: the image is missing, a folder, corrupt or too small; no face is found; ``face`` is not one of
            the faces found; the landmark detector finds no face in the box.
        ConfigError: an unknown ``detector``.
    """
    from toonlift.stages.rig_fit.avatar import make_detector
    from toonlift.stages.rig_fit.photo_face import choose_face, crop_face, detect_faces, read_photo

    det = make_detector(detector)  # an unknown name is refused before the image is read
    photo = read_photo(path)
    chosen, note = choose_face(detect_faces(photo), face, str(path), command="toonlift styleuv --image")
    crop = crop_face(photo, chosen, det, CROP)
    info = {"image": str(path), "face_box": [round(v, 1) for v in chosen.box], "detector": detector}
    return crop.image, info, [note] if note else []


def project_crop(
    generator: nn.Module,
    crop: Tensor,
    steps: int = 200,
    per_layer: bool = False,
    lpips_weights: str | None = None,
    seed: int = 0,
) -> tuple[Tensor, Tensor, Tensor, dict]:
    """``(w_plus [1, L, D], target [1, 3, S, S], G(w_plus), info)``: ``crop`` inverted into ``generator``.

    Raises:
        ConfigError: ``steps`` < 1.
    """
    from toonlift.plugins.stylegan2.projector import project

    if steps < 1:
        raise ConfigError(f"toonlift styleuv: --steps must be >= 1 (projector steps for --image), got {steps}.")
    if lpips_weights is not None:
        from toonlift.plugins.losses.lpips import LPIPSLoss

        distance: nn.Module = LPIPSLoss(backbone_weights=lpips_weights)
        mse, name = 0.0, "lpips"
    else:
        from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss

        distance, mse, name = AnalyserPerceptualLoss(), 1.0, "analyser perceptual + pixel mse"
    target = F.interpolate(crop.float(), size=(generator.size, generator.size), mode="area")
    with torch.enable_grad():  # the command runs under no_grad; the projector optimises
        result = project(
            generator, target, distance.eval(), steps=steps, lr=0.1, mse=mse, w_plus=per_layer,
            optimize_noise=False, noise_regularize=0.0, n_mean_latent=4096,
            generator=torch.Generator().manual_seed(seed),
        )  # fmt: skip
    w_plus = result.ws.detach()
    with torch.no_grad():
        image = generator.synthesis(w_plus, noise_mode="const").image
    first, last = result.history[0], result.history[-1]
    info = {
        "steps": steps,
        "per_layer_w": per_layer,
        "distance": name,
        "loss_first": first["loss"],
        "loss_last": last["loss"],
        "mse_first": first["mse"],
        "mse_last": last["mse"],
        "l1": float((image.clamp(-1, 1) - target).abs().mean()),
        "seed": seed,
    }
    return w_plus, target, image, info


def invert_photo(
    path: str | Path,
    generator: nn.Module,
    steps: int = 200,
    face: int | None = None,
    detector: str = "dlib68",
    per_layer: bool = False,
    lpips_weights: str | None = None,
    seed: int = 0,
) -> PhotoInversion:
    """The photo at ``path``: its face found, framed and inverted into ``generator`` (see the module docstring)."""
    if steps < 1:  # before the detector's work
        raise ConfigError(f"toonlift styleuv: --steps must be >= 1 (projector steps for --image), got {steps}.")
    crop, info, notes = face_crop(path, face, detector)
    w_plus, target, image, proj = project_crop(generator, crop, steps, per_layer, lpips_weights, seed)
    return PhotoInversion(w_plus, crop, target, image, {**info, "projection": proj}, notes)


__all__ = ["CROP", "PhotoInversion", "face_crop", "invert_photo", "project_crop"]
