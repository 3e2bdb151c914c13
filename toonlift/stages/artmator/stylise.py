"""3DArtmator's stage 2 (seed 004, Eq. 4-9): fine-tune a copy ``G_trn`` of the original generator around the anchor.

Per step, one random view ``ϑ_i`` (yaw uniform in ``±yaw_range_deg``, pitch in ``±pitch_range_deg``): the
directional term ``1 − cos(E(G_trn(w*, ϑ_i)) − E(G_ori(w*, ϑ_i)), δ_guide)`` with ``δ_guide = E(I_ref) −
E(G_ori(w*, ϑ))`` (the ``directional`` loss plugin), plus the spatial term ``d(G_trn(w*, ϑ), I_ref)`` at the
artwork's view. ``L = λ3 L_dir + λ4 L_spa`` (paper: both 1, Adam lr 1e-5 on the full-size AniFaceGAN).
``lambda_spa = 0`` is the "directional loss only" ablation; ``lambda_dir = 0`` the "spatial only" one.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import Tensor, nn

from toonlift.errors import ConfigError, NonFiniteError
from toonlift.functional.oneshot import Distance
from toonlift.plugins.eg3d.backbone import EG3DBackbone


def random_views(g: EG3DBackbone, n: int, yaw_range_deg: float, pitch_range_deg: float, gen: torch.Generator) -> Tensor:
    """``n`` orbit cameras ``[n, 25]`` with yaw and pitch uniform in the given ranges (degrees)."""
    yaw = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(yaw_range_deg)
    pitch = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(pitch_range_deg)
    return g.orbit_cond(yaw, pitch).to(g.mapping_net.w_avg.device)


def directional_finetune(
    g_ori: EG3DBackbone,
    ws: Tensor,
    cond_ref: Tensor,
    artwork: Tensor,
    directional: nn.Module | None,
    distance: Distance | None,
    steps: int = 300,
    lr: float = 2e-4,
    lambda_dir: float = 1.0,
    lambda_spa: float = 1.0,
    yaw_range_deg: float = 36.0,
    pitch_range_deg: float = 10.0,
    views_per_step: int = 1,
    seed: int = 0,
) -> tuple[EG3DBackbone, list[dict[str, float]]]:
    """Train a copy of ``g_ori`` (kept frozen) towards the artwork's style; returns ``(G_trn, history)``.

    Args:
        g_ori: the original generator.
        ws: the anchor ``[1, num_ws, w_dim]`` (stage 1).
        cond_ref: the artwork's camera ``[1, 25]``.
        artwork: ``[1, 3, H, W]`` in [-1, 1].
        directional: the ``directional`` loss plugin (``guide`` and ``forward``); ``None`` only with
            ``lambda_dir = 0``.
        distance: the spatial perceptual distance ``(a, b) -> [B]``; ``None`` only with ``lambda_spa = 0``.
        steps, lr: Adam steps and learning rate.
        lambda_dir, lambda_spa: Eq. 9's λ3, λ4.
        yaw_range_deg, pitch_range_deg: the sampled views.
        views_per_step: the paper's N = 1.
        seed: seed of the view stream.
    """
    if (directional is None and lambda_dir > 0) or (distance is None and lambda_spa > 0):
        raise ConfigError("directional_finetune: a term with a positive weight needs its loss (directional/distance).")
    if lambda_dir <= 0 and lambda_spa <= 0:
        raise ConfigError("directional_finetune: at least one of lambda_dir and lambda_spa must be positive.")
    ws, artwork = ws.detach(), artwork.detach()
    g_ori = g_ori.eval().requires_grad_(False)
    g_trn = copy.deepcopy(g_ori).train().requires_grad_(True)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        anchor_view = g_ori.synthesis(ws, cond_ref, noise_mode="const").image
        guide = directional.guide(artwork.to(anchor_view), anchor_view) if lambda_dir > 0 else None
    opt = torch.optim.Adam(g_trn.parameters(), lr=lr)
    history: list[dict[str, float]] = []
    for i in range(steps):
        loss = ws.new_zeros(())
        stats: dict[str, float] = {}
        if lambda_dir > 0:
            views = random_views(g_ori, views_per_step, yaw_range_deg, pitch_range_deg, gen)
            w = ws.expand(views_per_step, -1, -1)
            with torch.no_grad():
                original = g_ori.synthesis(w, views, noise_mode="const").image
            stylised = g_trn.synthesis(w, views, noise_mode="const").image
            l_dir = directional(stylised, original, guide)
            loss = loss + lambda_dir * l_dir
            stats["dir"] = float(l_dir.detach())
        if lambda_spa > 0:
            l_spa = distance(g_trn.synthesis(ws, cond_ref, noise_mode="const").image, artwork).mean()
            loss = loss + lambda_spa * l_spa
            stats["spa"] = float(l_spa.detach())
        if not torch.isfinite(loss):
            raise NonFiniteError(f"directional_finetune: the loss became {float(loss)} at step {i}; lower lr.")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append({**stats, "loss": float(loss.detach())})
    return g_trn.eval().requires_grad_(False), history
