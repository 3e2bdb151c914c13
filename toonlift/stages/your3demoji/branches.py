"""The optimisation loops of Your3dEmoji (seed 001), each on one exemplar or one input.

* :func:`finetune_exemplar`: the 2D branch's one-shot fine-tune (JoJoGAN): a copy of a StyleGAN2 generator is
  trained so that style-mixed latents of the exemplar (Eq. 1, fine layers mixed with random latents) all render to
  the exemplar, measured by the L1 between the frozen discriminator's block activations (Eq. 4).
* :func:`tune_generator`: PTI's second step (Eq. 3): with the pivot latent fixed, tune a copy of the generator so
  that its render matches the target (perceptual + λ_L2 · MSE).
* :func:`dual_branch`: Eq. 5, with the 2D and 3D branches updated alternately.

Every loop takes an explicit ``torch.Generator`` seed, so a run repeats bit for bit on one machine.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import ConfigError, NonFiniteError
from toonlift.functional.oneshot import Distance, dual_branch_loss, feature_l1, mix_fine_layers

History = list[dict[str, float]]


def resize(image: Tensor, size: int) -> Tensor:
    """Images ``[B, 3, h, w]`` resized to ``size`` px (antialiased; unchanged when already that size)."""
    if image.shape[-1] == size and image.shape[-2] == size:
        return image
    return F.interpolate(image, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def _check(loss: Tensor, what: str, step: int) -> None:
    if not torch.isfinite(loss):
        raise NonFiniteError(f"{what}: the loss became {float(loss)} at step {step}; lower the learning rate.")


def finetune_exemplar(
    g: nn.Module,
    d: nn.Module,
    exemplar: Tensor,
    w_exemplar: Tensor,
    steps: int = 200,
    lr: float = 2e-3,
    alpha: float = 0.0,
    first_fine: int = 4,
    batch: int = 4,
    d_blocks: int | None = None,
    seed: int = 0,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[nn.Module, History]:
    """JoJoGAN's one-shot fine-tune of a copy of ``g`` on one exemplar (Your3dEmoji's 2D branch, Eq. 1 and 4).

    Args:
        g: a StyleGAN2 generator (kept unchanged; a trained copy is returned).
        d: its discriminator with ``block_features`` (frozen).
        exemplar: the style image ``[1, 3, H, W]`` in [-1, 1] (resized to the discriminator's size).
        w_exemplar: its inverted W+ ``[1, num_ws, w_dim]`` in ``g``.
        steps: Adam steps (JoJoGAN: 200-300).
        lr: learning rate (JoJoGAN: 2e-3, betas (0, 0.99)).
        alpha: Eq. 1's weight of the exemplar on the fine layers (JoJoGAN's default strength: 0).
        first_fine: first mixed W+ layer (JoJoGAN: 7 of 18; 4 of the 64-px generator's 10, the same share).
        batch: mixed latents per step (JoJoGAN: 4).
        d_blocks: discriminator blocks compared (``None``: all).
        seed: seed of the random latents.
        callback: ``callback(step, stats)`` after each step.
    """
    if steps < 0 or batch < 1:
        raise ConfigError(f"finetune_exemplar: needs steps >= 0 and batch >= 1, got {steps} and {batch}.")
    w_exemplar = w_exemplar.detach()
    g_style = copy.deepcopy(g).train().requires_grad_(True)
    d = d.eval().requires_grad_(False)
    blocks = d.feature_block_count() if d_blocks is None else d_blocks
    device = w_exemplar.device
    with torch.no_grad():
        target = d.block_features(resize(exemplar.to(device), d.resolution), blocks)
    opt = torch.optim.Adam(g_style.parameters(), lr=lr, betas=(0.0, 0.99))
    gen = torch.Generator().manual_seed(seed)
    history: History = []
    for i in range(steps):
        with torch.no_grad():
            w_rand = g.mapping(g.sample_z(batch, generator=gen, device="cpu").to(device))
        w = mix_fine_layers(w_exemplar, w_rand, alpha, first_fine)
        image = resize(g_style.synthesis(w, noise_mode="const").image, d.resolution)
        loss = feature_l1(d.block_features(image, blocks), target)
        _check(loss, "finetune_exemplar", i)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append({"feature_l1": float(loss.detach())})
        if callback is not None:
            callback(i, history[-1])
    return g_style.eval().requires_grad_(False), history


def tune_generator(
    g: nn.Module,
    ws: Tensor,
    target: Tensor,
    cond: Tensor | None,
    distance: Distance | None,
    steps: int = 100,
    lr: float = 3e-4,
    l2: float = 1.0,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[nn.Module, History]:
    """PTI's generator tuning (Your3dEmoji Eq. 3, λ_ID = 0): a copy of ``g`` trained so that ``g(ws, cond)`` matches
    ``target [B, 3, H, W]``; loss ``distance + l2 * MSE`` (PTI: LPIPS and L2, weights 1 and 1, lr 3e-4).

    Returns the tuned copy (eval, frozen) and the per-step losses.
    """
    if steps < 0 or (distance is None and l2 <= 0):
        raise ConfigError("tune_generator: needs steps >= 0 and a loss (a distance or l2 > 0).")
    ws, target = ws.detach(), target.detach()
    g_tuned = copy.deepcopy(g).train().requires_grad_(True)
    opt = torch.optim.Adam(g_tuned.parameters(), lr=lr)
    history: History = []
    for i in range(steps):
        image = g_tuned.synthesis(ws, cond, noise_mode="const").image
        p = distance(image, resize(target, image.shape[-1])).mean() if distance is not None else image.new_zeros(())
        m = F.mse_loss(image, resize(target, image.shape[-1]))
        loss = p + l2 * m
        _check(loss, "tune_generator", i)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append({"perceptual": float(p.detach()), "mse": float(m.detach()), "loss": float(loss.detach())})
        if callback is not None:
            callback(i, history[-1])
    return g_tuned.eval().requires_grad_(False), history


def dual_branch(
    g2d: nn.Module,
    w2d: Tensor,
    g3d: nn.Module,
    w3d: Tensor,
    cond: Tensor,
    exemplar: Tensor,
    distance: Distance,
    steps: int = 100,
    lr_3d: float = 3e-4,
    lr_2d: float = 1e-4,
    lambda_exemplar: float = 1.0,
    lambda_2d: float = 1.0,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[nn.Module, nn.Module, History]:
    """Your3dEmoji's dual-branch training (Eq. 5): copies of the 2D stylised generator and the 3D generator are
    updated alternately (even steps the 3D branch, odd steps the 2D branch; ``lr_2d = 0`` keeps the 2D branch fixed).

    Args:
        g2d: the stylised 2D generator (from :func:`finetune_exemplar`).
        w2d: the input's W+ in it ``[1, L2, D2]``.
        g3d: the 3D generator (PTI-tuned to the input).
        w3d: the input's latent in it.
        cond: the input's camera ``[1, 25]``.
        exemplar: the style exemplar ``[1, 3, H, W]``.
        distance: perceptual distance ``(a, b) -> [B]``.
        steps, lr_3d, lr_2d: Adam steps and learning rates.
        lambda_exemplar, lambda_2d: Eq. 5's λ1, λ2.

    Returns:
        ``(g3d_trained, g2d_trained, history)``.
    """
    w2d, w3d, exemplar = w2d.detach(), w3d.detach(), exemplar.detach()
    g3 = copy.deepcopy(g3d).train().requires_grad_(True)
    g2 = copy.deepcopy(g2d).train().requires_grad_(lr_2d > 0)
    opt3 = torch.optim.Adam(g3.parameters(), lr=lr_3d)
    opt2 = torch.optim.Adam(g2.parameters(), lr=lr_2d) if lr_2d > 0 else None
    history: History = []
    for i in range(steps):
        train_2d = opt2 is not None and i % 2 == 1
        img3 = g3.synthesis(w3d, cond, noise_mode="const").image
        img2 = resize(g2.synthesis(w2d, noise_mode="const").image, img3.shape[-1])
        if not train_2d:
            img2 = img2.detach()
        else:
            img3 = img3.detach()
        terms = dual_branch_loss(img2, img3, resize(exemplar, img3.shape[-1]), distance, lambda_exemplar, lambda_2d)
        _check(terms["total"], "dual_branch", i)
        opt = opt2 if train_2d else opt3
        opt.zero_grad(set_to_none=True)
        terms["total"].backward()
        opt.step()
        history.append({**{k: float(v.detach()) for k, v in terms.items()}, "branch": 2.0 if train_2d else 3.0})
        if callback is not None:
            callback(i, history[-1])
    return g3.eval().requires_grad_(False), g2.eval().requires_grad_(False), history
