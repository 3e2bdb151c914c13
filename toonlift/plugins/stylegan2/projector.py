"""GAN inversion of real photos (the StyleGAN2 projector, Karras et al. 2020, Appendix D; rosinality ``projector.py``).

Optimises a latent (one ``w`` or W+) and the per-layer noise maps with Adam so that ``G(w, noise)`` matches the
target under LPIPS, plus the noise regulariser (auto-correlation of every noise map at every octave) and an optional
pixel MSE. Reference schedule: ``lr(t) = lr0 * rampup(t) * cosine_rampdown(t)`` (ramp-up 5 %, ramp-down 25 %), start
at the mean of ``n_mean_latent`` mapped codes, Gaussian latent noise of strength
``std(w) * 0.05 * max(0, 1 - t / 0.75) ** 2``, noise maps re-normalised to zero mean / unit std after every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import ConfigError, NonFiniteError
from toonlift.functional.lr_schedule import get_lr
from toonlift.plugins.stylegan2.generator import StyleGAN2Backbone


def noise_regularization(noises: list[Tensor]) -> Tensor:
    """Sum over maps and octaves (down to 8x8) of the squared mean horizontal and vertical auto-correlation."""
    loss = noises[0].new_zeros(())
    for noise in noises:
        size = noise.shape[2]
        while True:
            loss = loss + (noise * noise.roll(1, dims=3)).mean().pow(2) + (noise * noise.roll(1, dims=2)).mean().pow(2)
            if size <= 8:
                break
            noise = noise.reshape(-1, 1, size // 2, 2, size // 2, 2).mean([3, 5])  # 2x2 box average
            size //= 2
    return loss


@torch.no_grad()
def normalize_noises_(noises: list[Tensor]) -> None:
    """Re-centre every noise map to zero mean and unit std, in place."""
    for noise in noises:
        noise.sub_(noise.mean()).div_(noise.std())


def _box_downsample(img: Tensor, size: int) -> Tensor:
    """``[B, C, H, H] -> [B, C, size, size]`` by averaging ``H/size`` blocks (the projector's 256 px LPIPS input)."""
    h = img.shape[2]
    if h == size:
        return img
    f = h // size
    return img.reshape(img.shape[0], img.shape[1], size, f, size, f).mean([3, 5])


@dataclass
class ProjectionResult:
    """What :func:`project` returns.

    Attributes:
        latent: the optimised latent, ``[B, w_dim]`` (w) or ``[B, num_ws, w_dim]`` (W+).
        ws: the same as W+ ``[B, num_ws, w_dim]``.
        noises: the optimised noise maps (one per layer, ``[B, 1, r, r]``).
        image: ``G(ws, noises)`` ``[B, 3, size, size]`` in ``[-1, 1]`` (not clamped).
        history: per step ``{"loss", "lpips", "noise", "mse", "lr"}``.
    """

    latent: Tensor
    ws: Tensor
    noises: list[Tensor]
    image: Tensor
    history: list[dict[str, float]] = field(default_factory=list)


def project(
    G: StyleGAN2Backbone,  # noqa: N803 - the paper's name
    target: Tensor,
    lpips: nn.Module,
    steps: int = 1000,
    lr: float = 0.1,
    noise_strength: float = 0.05,
    noise_ramp: float = 0.75,
    noise_regularize: float = 1e5,
    mse: float = 0.0,
    w_plus: bool = False,
    n_mean_latent: int = 10000,
    optimize_noise: bool = True,
    generator: torch.Generator | None = None,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> ProjectionResult:
    """Invert images into ``G``'s latent space.

    Args:
        G: the generator (kept frozen).
        target: images ``[B, 3, H, W]`` in ``[-1, 1]`` (resized to ``min(G.size, 256)`` for LPIPS).
        lpips: a perceptual distance with ``distance(pred, target) -> [B]`` (e.g. ``LPIPSLoss``).
        steps: optimisation steps (1000 in the reference).
        lr: peak learning rate.
        noise_strength: latent noise at the start, relative to the spread of ``w``.
        noise_ramp: fraction of the run over which the latent noise decays to zero.
        noise_regularize: weight of :func:`noise_regularization`.
        mse: weight of a pixel MSE term.
        w_plus: optimise one ``w`` per layer (W+) instead of a single ``w``.
        n_mean_latent: codes averaged for the starting latent and the latent spread.
        optimize_noise: also optimise the noise maps (reference: yes). When ``False`` the generator's constant
            noise buffers are used and left untouched, so ``G.synthesis(latent, noise_mode="const")`` (what VLDA
            renders) reproduces the projected image exactly.
        generator: random generator for the starting noise maps and the latent noise.
        callback: called as ``callback(step, stats)`` after every step.
    """
    if target.dim() != 4 or target.shape[1] != 3:
        raise ConfigError(f"project: target must be images [B, 3, H, W] in [-1, 1], got {tuple(target.shape)}")
    if steps < 1:
        raise ConfigError(f"project: steps must be >= 1, got {steps}")
    device = G.input.input.device
    G.requires_grad_(False)
    batch = target.shape[0]
    percept_size = min(G.size, 256)
    target = F.interpolate(target.to(device), size=(percept_size, percept_size), mode="area")
    with torch.no_grad():
        w_samples = G.get_latent(torch.randn(n_mean_latent, G.style_dim, generator=generator, device=device))
        w_mean = w_samples.mean(0)
        w_std = ((w_samples - w_mean).pow(2).sum() / n_mean_latent).sqrt().item()
    latent = w_mean.detach().clone().unsqueeze(0).repeat(batch, 1)
    if w_plus:
        latent = latent.unsqueeze(1).repeat(1, G.num_ws, 1)
    latent.requires_grad_(True)
    params = [latent]
    if optimize_noise:
        noises = [n.normal_(generator=generator) for n in G.make_noise(batch, device=device)]
        for n in noises:
            n.requires_grad_(True)
        params += noises
    else:  # the constant buffers ([1, 1, r, r], broadcast over the batch); never re-normalised in place
        noises = [getattr(G.noises, f"noise_{i}").expand(batch, -1, -1, -1) for i in range(G.num_layers)]
    opt = torch.optim.Adam(params, lr=lr)
    history: list[dict[str, float]] = []
    for i in range(steps):
        t = i / steps
        step_lr = get_lr(t, lr)
        opt.param_groups[0]["lr"] = step_lr
        strength = w_std * noise_strength * max(0.0, 1.0 - t / noise_ramp) ** 2
        jitter = torch.randn(latent.shape, generator=generator, device=device) * strength
        img = G.synthesis(latent + jitter, noise=noises).image
        img = _box_downsample(img, percept_size)
        p_loss = lpips.distance(img, target).sum()
        n_loss = noise_regularization(noises) if optimize_noise else img.new_zeros(())
        m_loss = F.mse_loss(img, target)
        loss = p_loss + noise_regularize * n_loss + mse * m_loss
        if not torch.isfinite(loss):
            raise NonFiniteError(f"project: the loss became {loss.item()} at step {i}; lower lr or check the target")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if optimize_noise:
            normalize_noises_(noises)
        stats = {"loss": loss.item(), "lpips": p_loss.item(), "noise": n_loss.item(), "mse": m_loss.item()}
        stats["lr"] = step_lr
        history.append(stats)
        if callback is not None:
            callback(i, stats)
    latent = latent.detach()
    noises = [n.detach() for n in noises]
    with torch.no_grad():
        ws = G.broadcast_ws(latent).contiguous()
        image = G.synthesis(ws, noise=noises).image
    return ProjectionResult(latent=latent, ws=ws, noises=noises, image=image, history=history)
