"""3DArtmator's stage 1 (seed 004, Eq. 2-3): the anchor latent whose render by the *original* generator reproduces
the artwork's pose and content, ``argmin λ1 d(G_ori(w, ϑ), I_ref) + λ2 ‖G_ori(w, ϑ) − I_ref‖²``, and the joint
latent-and-camera search of its Fig. 10 (the orbit yaw and pitch are optimised with the latent).

The paper optimises ``z`` from a random start (lr 2e-2); ``space="w"`` starts at the mean ``w`` instead (the EG3D
projectors' choice), ``space="z"`` follows the paper (the code is mapped with the frontal camera, as EG3D samples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from toonlift.errors import ConfigError, NonFiniteError
from toonlift.functional.oneshot import Distance
from toonlift.plugins.eg3d.backbone import EG3DBackbone


@dataclass
class AnchorResult:
    """Stage 1's answer.

    Attributes:
        ws: the anchor W+ ``[1, num_ws, w_dim]``.
        cond: the camera it was fitted at ``[1, 25]`` (the searched one with ``search_camera``).
        yaw_deg: the orbit yaw of ``cond`` (degrees; the given one without the search).
        pitch_deg: the orbit pitch.
        image: ``G_ori(ws, cond)`` ``[1, 3, H, W]``.
        history: per step ``{"loss", "perceptual", "l2", "yaw", "pitch"}``.
    """

    ws: Tensor
    cond: Tensor
    yaw_deg: float
    pitch_deg: float
    image: Tensor
    history: list[dict[str, float]] = field(default_factory=list)


def anchor_search(
    g: EG3DBackbone,
    artwork: Tensor,
    distance: Distance,
    cond: Tensor | None = None,
    steps: int = 300,
    lr: float = 0.02,
    lambda_perceptual: float = 1.0,
    lambda_l2: float = 1.0,
    space: str = "w",
    search_camera: bool = False,
    init_yaw_deg: float = 0.0,
    init_pitch_deg: float = 0.0,
    camera_lr: float = 0.01,
    seed: int = 0,
) -> AnchorResult:
    """Find the anchor of ``artwork [1, 3, H, W]`` (in [-1, 1], this generator's size) in the frozen ``g``.

    Args:
        g: the original generator.
        artwork: the exemplar.
        distance: perceptual distance ``(a, b) -> [B]`` (Eq. 2's LPIPS).
        cond: the artwork's camera ``[1, 25]`` (the paper's manually given view); ``None`` with ``search_camera``
            starts from the orbit camera at ``init_yaw_deg``, ``init_pitch_deg``.
        steps, lr: Adam steps and learning rate (paper: lr 2e-2).
        lambda_perceptual, lambda_l2: Eq. 2's λ1, λ2 (paper: 1, 1).
        space: ``"w"`` (start at the mean w) or ``"z"`` (random code, the paper's).
        search_camera: also optimise the orbit yaw and pitch (Fig. 10).
        camera_lr: learning rate of the angles (radians).
        seed: seed of the random code and the mean-w estimate.
    """
    if space not in ("w", "z"):
        raise ConfigError(f"anchor_search: space must be 'w' or 'z', got {space!r}.")
    if cond is None and not search_camera:
        raise ConfigError("anchor_search: give the artwork's camera (cond), or search for it (search_camera=True).")
    if artwork.ndim != 4 or artwork.shape[0] != 1 or artwork.shape[-1] != g.resolution:
        raise ConfigError(
            f"anchor_search: the artwork must be one image [1, 3, {g.resolution}, {g.resolution}], got "
            f"{tuple(artwork.shape)}."
        )
    device = g.mapping_net.w_avg.device
    g.requires_grad_(False)
    gen = torch.Generator().manual_seed(seed)
    frontal = g.default_cond(1).to(device)
    if space == "z":
        latent = g.sample_z(1, generator=gen, device="cpu").to(device)
    else:
        with torch.no_grad():
            z = g.sample_z(2000, generator=gen, device="cpu").to(device)
            latent = g.mapping(z, frontal.expand(2000, -1))[:, 0].mean(0, keepdim=True)
    latent.requires_grad_(True)
    params: list[dict] = [{"params": [latent], "lr": lr}]
    angles = torch.tensor([math.radians(init_yaw_deg), math.radians(init_pitch_deg)], device=device)
    if search_camera:
        angles.requires_grad_(True)
        params.append({"params": [angles], "lr": camera_lr})
    opt = torch.optim.Adam(params)
    target = artwork.to(device)
    history: list[dict[str, float]] = []

    def render(lat: Tensor, ang: Tensor) -> tuple[Tensor, Tensor]:
        ws = g.mapping(lat, frontal) if space == "z" else g.broadcast_ws(lat)
        c = g.orbit_cond(ang[:1], ang[1:]) if (search_camera or cond is None) else cond.to(device)
        return ws, c

    for i in range(steps):
        ws, c = render(latent, angles)
        image = g.synthesis(ws, c, noise_mode="const").image
        p = distance(image, target).mean()
        l2 = F.mse_loss(image, target)
        loss = lambda_perceptual * p + lambda_l2 * l2
        if not torch.isfinite(loss):
            raise NonFiniteError(f"anchor_search: the loss became {float(loss)} at step {i}; lower lr.")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        yaw, pitch = (math.degrees(float(a)) for a in angles.detach())
        history.append(
            {
                "loss": float(loss.detach()),
                "perceptual": float(p.detach()),
                "l2": float(l2.detach()),
                "yaw": yaw,
                "pitch": pitch,
            }
        )
    with torch.no_grad():
        ws, c = render(latent.detach(), angles.detach())
        ws = ws.contiguous()
        image = g.synthesis(ws, c, noise_mode="const").image
    yaw, pitch = (math.degrees(float(a)) for a in angles.detach())
    return AnchorResult(ws, c.detach(), yaw, pitch, image, history)
