"""Seed 002's coarse reconstruction of one portrait by analysis by synthesis on the ``head_rig`` backbone.

Start: the rig regressor's prediction when its weights are given (``CoarseRegressor``, safetensors), else the prior
mean face with the pose of a 2-D Procrustes fit (similarity: roll, scale, shift) of its landmarks to the detected
ones. Then Adam on the latent (identity, expression, pose, albedo, SH light) under 002's loss with its weights
(``losses.py``: ``ω_l L_lan + ω_p L_photo + ω_r L_reg``, ω_l 2e-3, ω_p 2.0, ω_r 3e-4, ω_id 1.2, ω_exp 1.0,
ω_tex 1.2e-3): first ``landmark_steps`` on landmarks + regulariser only (68 projected vertices, no rendering, about a
millisecond a step), then ``photo_steps`` with the photometric term over the face mask (rig coverage of the face
parts: skin, nose, brows, eyes, lips, mouth) at the fit resolution.

Each latent value is optimised in its own unit (``latent = start + unit * z``): identity and expression 1, pose
10 degrees / 0.01 camera units / 0.1 log-scale, albedo and light their prior spread, so one learning rate fits all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from toonlift.functional.camera import fov_to_intrinsics, project
from toonlift.plugins.head_rig.backbone import HeadRigBackbone, rig_camera_vertices
from toonlift.plugins.head_rig.latent import SLICES, split_latent
from toonlift.plugins.head_rig.prior import prior_moments
from toonlift.stages.rig_fit.losses import landmark_loss, photometric_loss, regulariser
from toonlift.synthetic.layout import PART
from toonlift.synthetic.render import FOV_DEG

WEIGHTS = {"w_l": 2e-3, "w_p": 2.0, "w_r": 3e-4, "w_id": 1.2, "w_exp": 1.0, "w_tex": 1.2e-3}  # 002 Sec. 4.1
FACE_PART_NAMES = ("skin", "nose", "brows", "sclera", "iris", "pupil", "lips", "mouth")


@dataclass
class CoarseFit:
    """The coarse stage's result: ``latent`` ``[53]``, landmark residuals (pixels at the fit size) and losses."""

    latent: Tensor
    start_residual: float
    residual: float
    losses: dict[str, float]
    start: str


def latent_units(prior_std: Tensor) -> Tensor:
    """``[53]`` the step unit of every latent value (see the module docstring)."""
    unit = prior_std.clone()
    unit[SLICES["identity"]] = 1.0
    unit[SLICES["expression"]] = 1.0
    p = SLICES["pose"].start
    unit[p : p + 3] = 10.0
    unit[p + 3 : p + 5] = 0.01
    unit[p + 5] = 0.1
    return unit


class LandmarkModel:
    """The rig's 68 landmark vertices alone: their mean, bases and camera, gathered once (a fit step then costs
    a few small products instead of touching the whole mesh)."""

    def __init__(self, rig: HeadRigBackbone) -> None:
        idx = rig.landmarks
        self.mean, self.identity, self.expression = (
            rig.mean[idx],
            rig.identity_basis[:, idx],
            rig.expression_basis[:, idx],
        )
        self.K = fov_to_intrinsics(FOV_DEG, rig.image_size)

    def __call__(self, latent: Tensor) -> Tensor:
        """``[B, 68, 2]`` projected landmarks of latents ``[B, 53]`` (pixels at the rig's size)."""
        lat = split_latent(latent)
        obj = self.mean + torch.einsum("bk,kvc->bvc", lat.identity, self.identity)
        obj = obj + torch.einsum("be,evc->bvc", lat.expression, self.expression)
        return project(rig_camera_vertices(obj, lat.pose), self.K.to(latent))[..., :2]


def landmark_points(rig: HeadRigBackbone, latent: Tensor) -> Tensor:
    """``[B, 68, 2]`` projected landmarks of latents ``[B, 53]`` at the rig's size, from the 68 vertices only."""
    return LandmarkModel(rig)(latent)


def procrustes_start(rig: HeadRigBackbone, latent: Tensor, target: Tensor) -> Tensor:
    """``latent`` ``[1, 53]`` posed by the 2-D similarity (Umeyama) from its landmarks to ``target`` ``[68, 2]``.

    The rotation becomes the roll (its sign checked against the rig by trying both), the scale the log-scale and the
    centroid shift ``tx, ty`` at the head's depth (1 camera unit)."""
    src = landmark_points(rig, latent)[0].double()
    tgt = target.double()
    a, b = src - src.mean(0), tgt - tgt.mean(0)
    cov = b.T @ a / len(a)
    u, s, vt = torch.linalg.svd(cov)
    d = torch.sign(torch.linalg.det(u @ vt))
    rot = u @ torch.diag(torch.stack([torch.ones_like(d), d])) @ vt
    scale = (s[0] + d * s[1]) / a.pow(2).sum(1).mean()
    angle = math.degrees(math.atan2(float(rot[1, 0]), float(rot[0, 0])))
    focal = float(fov_to_intrinsics(FOV_DEG, rig.image_size)[0, 0])
    p = SLICES["pose"].start
    best, best_err = latent, float("inf")
    for sign in (1.0, -1.0):
        cand = latent.clone()
        cand[0, p + 2] = latent[0, p + 2] + sign * angle
        cand[0, p + 5] = latent[0, p + 5] + math.log(float(scale))
        shift = landmark_points(rig, cand)[0].mean(0) - target.mean(0)
        cand[0, p + 3 : p + 5] -= shift.to(cand) / focal
        err = float((landmark_points(rig, cand)[0] - target).norm(dim=1).mean())
        if err < best_err:
            best, best_err = cand, err
    return best


def face_part_mask(rig: HeadRigBackbone) -> Tensor:
    """``[1, V, 1]`` 1 on the vertices of the face parts (``FACE_PART_NAMES``), else 0."""
    ids = torch.tensor([PART[n] for n in FACE_PART_NAMES])
    return torch.isin(rig.vertex_parts, ids).float()[None, :, None]


def regressor_start(path: str | Path, image: Tensor) -> Tensor:
    """``[1, 53]``: a ``CoarseRegressor`` export (``load_coarse_regressor``: safetensors + JSON sidecar, or a
    ``rig_fit`` checkpoint) applied to ``image`` ``[1, 3, S, S]``, resized to the size it was trained at.

    Raises:
        CheckpointError: the file is not a regressor export (no ``arch``, or tensors that do not fit).
    """
    import json

    from toonlift.stages.rig_fit.regressor import load_coarse_regressor
    from toonlift.utils.io import sidecar_path

    net = load_coarse_regressor(path)
    side = sidecar_path(path)
    size = 64  # RigFitModule's default image size
    if Path(path).suffix == ".safetensors" and side.is_file():
        size = int(json.loads(side.read_text()).get("hparams", {}).get("image_size", size))
    small = torch.nn.functional.interpolate(image.float(), size=(size, size), mode="area")
    with torch.no_grad():
        return net(small)


def coarse_fit(
    rig: HeadRigBackbone,
    image: Tensor,
    landmarks: Tensor,
    start: Tensor | None = None,
    landmark_steps: int = 150,
    photo_steps: int = 30,
    lr: float = 0.05,
) -> CoarseFit:
    """Fit the rig to ``image`` ``[1, 3, S, S]`` (``S`` = the rig's size) and its ``landmarks`` ``[68, 2]`` (pixels).

    ``start`` ``[1, 53]`` (e.g. the regressor's) replaces the prior mean; the Procrustes pose is applied either way
    when no start is given."""
    mean, std = prior_moments(rig.prior_domain)
    target = landmarks.float()
    if start is None:
        init = procrustes_start(rig, mean.clone()[None], target)
        kind = "prior mean + Procrustes pose"
    else:
        init = start.detach().float().reshape(1, -1).clone()
        kind = "regressor"
    unit = latent_units(std)
    z = torch.zeros_like(init, requires_grad=True)
    adam = _Adam(z, lr)
    s = image.shape[-1]
    face = face_part_mask(rig)
    e = SLICES["expression"]
    points = LandmarkModel(rig)
    start_residual = float((points(init)[0] - target).norm(dim=1).mean())
    losses: dict[str, float] = {}
    coverage = torch.zeros(())
    for step in range(landmark_steps + photo_steps):
        lat = init + unit * z
        lat = torch.cat([lat[:, : e.start], lat[:, e].clamp(0, 1), lat[:, e.stop :]], 1)
        reg = regulariser(lat, mean, std, WEIGHTS["w_id"], WEIGHTS["w_exp"], WEIGHTS["w_tex"])
        if step < landmark_steps:
            lan = landmark_loss(points(lat), target[None], s)
            photo = torch.zeros(())
        else:
            out = rig.synthesis(lat[:, None])
            lan = landmark_loss(out.landmarks, target[None], s)
            if (step - landmark_steps) % 10 == 0:  # the face-part coverage moves little between steps
                coverage = _render_attribute(rig, out, face)
            photo = photometric_loss(out.image, image, out.mask * coverage)
        loss = WEIGHTS["w_l"] * lan + WEIGHTS["w_p"] * photo + WEIGHTS["w_r"] * reg
        z.grad = None
        loss.backward()
        adam.step()
        losses = {k: float(v.detach()) for k, v in (("landmark", lan), ("photometric", photo), ("regulariser", reg))}
    with torch.no_grad():
        lat = init + unit * z
        lat[:, e] = lat[:, e].clamp(0, 1)
        residual = float((points(lat)[0] - target).norm(dim=1).mean())
    return CoarseFit(lat[0].detach(), start_residual, residual, losses, kind)


class _Adam:
    """Adam (Kingma & Ba 2015; betas 0.9, 0.999, eps 1e-8) on one tensor. Written out because constructing
    ``torch.optim.Adam`` imports ``torch._dynamo`` the first time, which costs seconds in a one-shot command."""

    def __init__(self, param: Tensor, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.param, self.lr, self.betas, self.eps, self.t = param, lr, betas, eps, 0
        self.m, self.v = torch.zeros_like(param), torch.zeros_like(param)

    @torch.no_grad()
    def step(self) -> None:
        g = self.param.grad
        b1, b2 = self.betas
        self.t += 1
        self.m.mul_(b1).add_(g, alpha=1 - b1)
        self.v.mul_(b2).addcmul_(g, g, value=1 - b2)
        m_hat = self.m / (1 - b1**self.t)
        v_hat = self.v / (1 - b2**self.t)
        self.param.sub_(self.lr * m_hat / (v_hat.sqrt() + self.eps))


def _render_attribute(rig: HeadRigBackbone, out, attribute: Tensor) -> Tensor:
    """``[1, 1, S, S]`` a per-vertex attribute ``[1, V, 1]`` interpolated over the rendered pixels (no gradient)."""
    from toonlift.functional.rasterize import interpolate, rasterize

    with torch.no_grad():
        K = fov_to_intrinsics(FOV_DEG, rig.image_size).to(out.vertices)
        frags = rasterize(project(out.vertices.detach(), K), rig.faces, rig.image_size)
        return (interpolate(attribute.to(out.vertices), rig.faces, frags)[..., 0] > 0.5).float()[:, None]


__all__ = ["CoarseFit", "WEIGHTS", "coarse_fit", "face_part_mask", "landmark_points", "procrustes_start"]
