"""Ground-truth depth for GAN images: invert synthetic faces with known depth into a generator's W space.

A GAN trained on the synthetic world has no depth of its own. For a synthetic sample with known parameters, the
projector (:func:`toonlift.plugins.stylegan2.projector.project`, one ``w``, the generator's constant noise)
finds ``w`` with ``G(w) ≈ render(params)``; the renderer's depth and foreground of those parameters then serve as
ground truth for VLDA run on ``w``. The truth may come from another domain than the projection target: the cartoon
depth of the same parameters is the truth for a cartoon generator fine-tuned from the photo one, at the same ``w``.
How far ``G(w)`` is from the target is kept (:attr:`SyntheticTargets.residual`) and must be reported next to any
depth score: the truth is only as good as the inversion.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toonlift.errors import ConfigError
from toonlift.plugins.stylegan2.projector import project
from toonlift.synthetic.layout import FACE_PARTS
from toonlift.synthetic.render import DOMAINS, FaceRenderer
from toonlift.synthetic.sampler import sample_params
from toonlift.utils.images import make_grid, save_image
from toonlift.utils.io import atomic_write_json, save_safetensors

FORMAT = "toonlift.synthetic_targets"
MASK_REGIONS = ("face", "head")


@dataclass
class SyntheticTargets:
    """Projected latents of synthetic faces with the ground truth of their parameters.

    Attributes:
        w: ``[N, w_dim]`` projected latents (one ``w`` each, not W+).
        target: ``[N, 3, S, S]`` synthetic renders used as projection targets, in ``[-1, 1]`` (``S`` = generator size).
        projected: ``[N, 3, S, S]`` ``G(w)`` with the generator's constant noise.
        depth: ``[N, T, T]`` ground-truth camera depth of ``truth_domain`` (renderer convention: 0.9-1.1, background
            1.1); ``T`` = ``gt_size`` (the VLDA ``image_size``), rendered natively at that size.
        mask: ``[N, T, T]`` float ``{0, 1}`` foreground of ``truth_domain`` (``mask_region``: face or head).
        truth_domain: domain of ``depth``/``mask``.
        seed: world seed of the samples.
        indices: sample indices in the world of ``seed``.
        residual: per-sample distances between ``projected`` and ``target`` (lists of floats): ``l1`` (mean
            absolute pixel error in ``[-1, 1]`` units), ``perceptual`` (the projection's perceptual distance), and
            the same for the starting point ``G(mean w)`` (``l1_start``, ``perceptual_start``).
        target_domain: domain of ``target``.
        pose: ``[N, 3]`` yaw, pitch, roll (degrees) of the samples.
        generator_hash: fingerprint of the generator's weights (:func:`generator_fingerprint`).
    """

    w: Tensor
    target: Tensor
    projected: Tensor
    depth: Tensor
    mask: Tensor
    truth_domain: str
    seed: int
    indices: list[int]
    residual: dict
    target_domain: str = "photo"
    pose: Tensor | None = None
    generator_hash: str = ""
    mask_region: str = "face"
    history: list[float] = field(default_factory=list)


def generator_fingerprint(generator: nn.Module) -> str:
    """First 16 hex digits of the SHA-256 of every tensor of ``generator.state_dict()`` (names and bytes)."""
    h = hashlib.sha256()
    for name, t in sorted(generator.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().float().numpy().tobytes())
    return h.hexdigest()[:16]


def _check_args(generator: nn.Module, count: int, steps: int, truth_domain: str, target_domain: str) -> None:
    for what, d in (("truth_domain", truth_domain), ("target_domain", target_domain)):
        if d not in DOMAINS:
            raise ConfigError(f"{what} must be one of {', '.join(DOMAINS)}; got {d!r}.")
    if not isinstance(count, int) or count < 1:
        raise ConfigError(f"count must be a positive number of faces, got {count!r}.")
    if not isinstance(steps, int) or steps < 1:
        raise ConfigError(f"steps must be >= 1 projection steps, got {steps!r}.")
    from toonlift.plugins.stylegan2 import StyleGAN2Backbone

    if not isinstance(generator, StyleGAN2Backbone):
        raise ConfigError(
            f"invert_synthetic_faces projects with the StyleGAN2 projector (noise maps, W space), so it needs a "
            f"StyleGAN2Backbone; got {type(generator).__name__}. Load one with "
            "toonlift.plugins.stylegan2.load_generator."
        )


def render_samples(
    seed: int,
    indices: list[int],
    domain: str,
    size: int,
    device: torch.device | None = None,
    mask_region: str = "face",
) -> dict[str, Tensor]:
    """``{"image" [N,3,S,S], "depth" [N,S,S], "mask" [N,S,S], "pose" [N,3]}`` of samples ``indices`` of ``seed``.

    ``mask_region``: ``"face"`` (the parser's face region: skin, nose, brows, eyes, lips, mouth, ears; no hair or
    neck, like GAN2Shape's BiSeNet labels) or ``"head"`` (every rendered pixel of the head mesh).
    """
    if mask_region not in MASK_REGIONS:
        raise ConfigError(f"mask_region must be one of {', '.join(MASK_REGIONS)}; got {mask_region!r}.")
    params = sample_params(seed, indices)
    out = FaceRenderer(device=device or "cpu")(params, domain, size, ("depth", "mask", "parts", "pose"))
    mask = out["mask"][:, 0]
    if mask_region == "face":
        mask = torch.isin(out["parts"], out["parts"].new_tensor(FACE_PARTS)).float()
    return {"image": out["image"], "depth": out["depth"][:, 0], "mask": mask, "pose": out["pose"]}


def invert_synthetic_faces(
    generator: nn.Module,
    count: int,
    seed: int,
    truth_domain: str = "photo",
    target_domain: str = "photo",
    steps: int = 200,
    perceptual: nn.Module | None = None,
    device: torch.device | str | None = None,
    gt_size: int | None = None,
    mse: float = 1.0,
    lr: float = 0.1,
    batch_size: int = 8,
    first: int = 0,
    mask_region: str = "face",
) -> SyntheticTargets:
    """Project samples ``first .. first + count - 1`` of world ``seed`` into ``generator``'s W space.

    Args:
        generator: a :class:`~toonlift.plugins.stylegan2.StyleGAN2Backbone` (kept frozen).
        count: number of faces.
        seed: world seed (the training set of ``configs/synthetic_photo_gan.yaml`` is seed 0: use another one).
        truth_domain: domain whose depth/mask is the ground truth (``photo`` for the photo generator, ``cartoon``
            for a cartoon generator fine-tuned from it and run at the same ``w``).
        target_domain: domain of the projection targets (the generator's own domain).
        steps: projector steps.
        perceptual: a module with ``distance(pred, target) -> [B]``; default the synthetic analyser's
            :class:`~toonlift.plugins.losses.analyser_perceptual.AnalyserPerceptualLoss` (no downloaded weights).
        device: where to run (default: the generator's device).
        gt_size: side of the ground-truth maps (VLDA's ``image_size``); default the generator's size. The truth is
            rendered at that size rather than resized, so depth edges stay exact.
        mse: weight of the pixel MSE term per sample (next to the perceptual distance).
        lr: the projector's peak learning rate.
        batch_size: faces projected together (each has its own latent; Adam treats them independently).
        first: index of the first sample.
        mask_region: foreground scored by SIDE/MAD: ``"face"`` (face parts, no hair or neck: the region VLDA's
            prior and parser cover, as Unsup3d's synthetic faces) or ``"head"`` (the whole head mesh).

    Returns:
        The latents, targets, projections, ground truth and residuals.
    """
    _check_args(generator, count, steps, truth_domain, target_domain)
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}.")
    if mask_region not in MASK_REGIONS:
        raise ConfigError(f"mask_region must be one of {', '.join(MASK_REGIONS)}; got {mask_region!r}.")
    gt_size = int(gt_size or generator.size)
    if gt_size < 8:
        raise ConfigError(f"gt_size must be >= 8 pixels, got {gt_size}.")
    if device is not None:
        generator = generator.to(device)
    dev = generator.input.input.device
    generator = generator.eval().requires_grad_(False)
    if perceptual is None:
        from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss

        perceptual = AnalyserPerceptualLoss()
    perceptual = perceptual.to(dev).eval()
    indices = list(range(first, first + count))
    targets = render_samples(seed, indices, target_domain, generator.size, dev, mask_region)
    truth = targets if (truth_domain == target_domain and gt_size == generator.size) else None
    if truth is None:
        truth = render_samples(seed, indices, truth_domain, gt_size, dev, mask_region)
    ws, projected, history = [], [], []
    for lo in range(0, count, batch_size):
        chunk = targets["image"][lo : lo + batch_size]
        g = torch.Generator(device=dev).manual_seed(seed * 100003 + first + lo)
        # project() sums the perceptual distance over the batch but averages the MSE: scale the MSE by the batch
        # so that each face sees the same balance whatever the chunking
        result = project(
            generator, chunk, perceptual, steps=steps, lr=lr, mse=mse * len(chunk), w_plus=False,
            optimize_noise=False, noise_regularize=0.0, n_mean_latent=4096, generator=g,
        )  # fmt: skip
        ws.append(result.latent)
        history.extend(h["loss"] / len(chunk) for h in result.history[:: max(1, steps // 20)])
        with torch.no_grad():
            projected.append(generator.synthesis(result.latent, noise_mode="const").image)
    w = torch.cat(ws)
    proj = torch.cat(projected)
    with torch.no_grad():
        start = generator.synthesis(generator.mean_latent(4096, torch.Generator(device=dev).manual_seed(seed)))
        start = start.image.expand_as(proj)
        residual = {
            "l1": (proj - targets["image"]).abs().mean((1, 2, 3)).tolist(),
            "perceptual": perceptual.distance(proj, targets["image"]).tolist(),
            "l1_start": (start - targets["image"]).abs().mean((1, 2, 3)).tolist(),
            "perceptual_start": perceptual.distance(start, targets["image"]).tolist(),
        }
    return SyntheticTargets(
        w=w.detach().cpu(),
        target=targets["image"].cpu(),
        projected=proj.cpu(),
        depth=truth["depth"].cpu(),
        mask=truth["mask"].float().cpu(),
        truth_domain=truth_domain,
        seed=int(seed),
        indices=indices,
        residual=residual,
        target_domain=target_domain,
        pose=truth["pose"].cpu(),
        generator_hash=generator_fingerprint(generator),
        mask_region=mask_region,
        history=history,
    )


def depth_preview(depth: Tensor, mask: Tensor, size: int) -> Tensor:
    """Grey ``[N, 3, size, size]`` images in ``[-1, 1]`` of depth maps ``[N, T, T]`` (near = bright, background
    black), each normalised over its own foreground."""
    d = depth.clone()
    m = mask > 0.5
    out = torch.full_like(d, -1.0)
    for i in range(len(d)):
        if m[i].any():
            fg = d[i][m[i]]
            lo, hi = fg.min(), fg.max()
            out[i][m[i]] = 1.0 - 1.8 * (fg - lo) / (hi - lo).clamp_min(1e-6)  # near 1, far -0.8
    out = out[:, None].expand(-1, 3, -1, -1)
    return F.interpolate(out, size=(size, size), mode="nearest") if out.shape[-1] != size else out


def save_targets(targets: SyntheticTargets, out_dir: str | Path, extra_meta: dict | None = None) -> dict[str, Path]:
    """Write the targets where VLDA reads them, atomically.

    Files: ``latents.safetensors`` (``w`` ``[N, w_dim]``: VLDA's ``latents:``), ``ground_truth.safetensors``
    (``depth``, ``mask`` ``[N, T, T]``: VLDA's ``ground_truth:``), ``targets.png`` (one row per face: target |
    projected | ground-truth depth) and ``targets.json`` (seed, indices, domains, residuals, generator hash).

    Args:
        targets: what :func:`invert_synthetic_faces` returned.
        out_dir: destination folder (created).
        extra_meta: more JSON entries for ``targets.json`` (e.g. the generator's path).

    Returns:
        ``{"latents", "ground_truth", "grid", "meta"}`` paths.
    """
    out = Path(out_dir)
    meta = {
        "format": FORMAT,
        "version": 1,
        "seed": targets.seed,
        "indices": list(targets.indices),
        "truth_domain": targets.truth_domain,
        "target_domain": targets.target_domain,
        "mask_region": targets.mask_region,
        "generator_hash": targets.generator_hash,
        "gt_size": int(targets.depth.shape[-1]),
        "generator_size": int(targets.target.shape[-1]),
        "depth_convention": "camera depth of the 10-degree-fov renderer, 0.9-1.1, background 1.1",
    }
    paths = {
        "latents": out / "latents.safetensors",
        "ground_truth": out / "ground_truth.safetensors",
        "grid": out / "targets.png",
        "meta": out / "targets.json",
    }
    save_safetensors(paths["latents"], {"w": targets.w.float()}, meta)
    save_safetensors(paths["ground_truth"], {"depth": targets.depth.float(), "mask": targets.mask.float()}, meta)
    size = targets.target.shape[-1]
    preview = depth_preview(targets.depth, targets.mask, size)
    rows = torch.stack([targets.target, targets.projected.clamp(-1, 1), preview], 1).flatten(0, 1)  # [3N, 3, S, S]
    save_image(make_grid(rows, nrow=3), paths["grid"])
    pose = targets.pose.tolist() if targets.pose is not None else None
    atomic_write_json(paths["meta"], {**meta, "residual": targets.residual, "pose": pose, **(extra_meta or {})})
    return paths
