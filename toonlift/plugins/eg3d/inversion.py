"""Invert images with known cameras into an EG3D generator's W (or W+), as the StyleGAN2-ADA projector does and the
EG3D projectors in use do (``oneThousand1000/EG3D-projector``): the camera is given, the tri-plane noise stays
constant, only the latent moves.

Start at the mean ``w`` of ``n_mean_latent`` codes mapped with the frontal camera; Adam with the learning rate
``lr0 * rampup * cosine rampdown`` (:func:`toonlift.functional.lr_schedule.get_lr`) and Gaussian latent noise of
strength ``std(w) * noise_strength * max(0, 1 - t / noise_ramp)^2``. Loss: ``lpips`` (optional, any module with
``distance(pred, target) -> [B]``) + ``mse`` times the pixel MSE of the image + ``raw_mse`` times the MSE of the
neural render against the target resized to it. Rendering is deterministic, so the result re-renders exactly with
``G.synthesis(ws, cond)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import ConfigError, NonFiniteError
from toonlift.functional.lr_schedule import get_lr
from toonlift.plugins.eg3d.backbone import EG3DBackbone


@dataclass
class InversionResult:
    """What :func:`invert` returns.

    Attributes:
        ws: W+ ``[B, num_ws, w_dim]`` (the same ``w`` on every layer unless ``w_plus``).
        image: ``G.synthesis(ws, cond).image`` ``[B, 3, H, W]``.
        depth: its depth ``[B, 1, h, w]`` at the neural resolution.
        history: per step ``{"loss", "lpips", "mse", "raw_mse", "lr"}``.
    """

    ws: Tensor
    image: Tensor
    depth: Tensor
    history: list[dict[str, float]] = field(default_factory=list)


def invert(
    g: EG3DBackbone,
    target: Tensor,
    cond: Tensor,
    steps: int = 500,
    lr: float = 0.01,
    lpips: nn.Module | None = None,
    mse: float = 1.0,
    raw_mse: float = 0.0,
    w_plus: bool = False,
    noise_strength: float = 0.05,
    noise_ramp: float = 0.75,
    n_mean_latent: int = 10000,
    generator: torch.Generator | None = None,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> InversionResult:
    """Invert ``target [B, 3, H, W]`` in ``[-1, 1]`` seen from cameras ``cond [B, 25]`` (the generator is frozen)."""
    if target.dim() != 4 or target.shape[1] != 3 or target.shape[-1] != g.resolution:
        raise ConfigError(
            f"invert: target must be images [B, 3, {g.resolution}, {g.resolution}] in [-1, 1] (this generator's "
            f"size), got {tuple(target.shape)}."
        )
    if steps < 1 or (lpips is None and mse <= 0 and raw_mse <= 0):
        raise ConfigError("invert: needs steps >= 1 and at least one loss (lpips, mse > 0 or raw_mse > 0).")
    device = g.mapping_net.w_avg.device
    g.requires_grad_(False)
    b = target.shape[0]
    target, cond = target.to(device), cond.to(device)
    target_raw = F.interpolate(target, size=(g.neural_resolution,) * 2, mode="bilinear", antialias=True)
    with torch.no_grad():
        z = torch.randn(n_mean_latent, g.z_dim, generator=generator, device=device)
        w_samples = g.mapping(z, g.default_cond(1).expand(n_mean_latent, -1))[:, 0]
        w_mean = w_samples.mean(0)
        w_std = float((w_samples - w_mean).square().sum(1).mean().sqrt())
    latent = w_mean.expand(b, -1).clone()
    if w_plus:
        latent = latent.unsqueeze(1).repeat(1, g.num_ws, 1)
    latent.requires_grad_(True)
    opt = torch.optim.Adam([latent], lr=lr, betas=(0.9, 0.999))
    history: list[dict[str, float]] = []
    for i in range(steps):
        t = i / steps
        opt.param_groups[0]["lr"] = step_lr = get_lr(t, lr)
        strength = w_std * noise_strength * max(0.0, 1.0 - t / noise_ramp) ** 2
        noisy = latent + torch.randn(latent.shape, generator=generator, device=device) * strength
        out = g.synthesis(noisy, cond, noise_mode="const")
        p_loss = lpips.distance(out.image, target).sum() if lpips is not None else out.image.new_zeros(())
        m_loss = F.mse_loss(out.image, target)
        r_loss = F.mse_loss(out.image_raw, target_raw)
        loss = p_loss + mse * m_loss + raw_mse * r_loss
        if not torch.isfinite(loss):
            raise NonFiniteError(f"invert: the loss became {loss.item()} at step {i}; lower lr or check the target.")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        parts = {"loss": loss, "lpips": p_loss, "mse": m_loss, "raw_mse": r_loss}
        stats = {k: float(v.detach()) for k, v in parts.items()}
        history.append({**stats, "lr": step_lr})
        if callback is not None:
            callback(i, history[-1])
    with torch.no_grad():
        ws = g.broadcast_ws(latent.detach()).contiguous()
        out = g.synthesis(ws, cond, noise_mode="const")
    return InversionResult(ws=ws, image=out.image, depth=out.depth, history=history)
