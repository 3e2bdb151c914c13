"""Distribution metrics of generators on the synthetic world: FID/KID in the face analyser's feature space.

On the synthetic world the real distribution is known and unlimited, so a generator trained on one domain is scored
against fresh renders of that domain (other seeds than its training data). Inception weights are not needed (nor
available offline); the figures are *not* comparable to published FID values, only to each other.
"""

from __future__ import annotations

import torch
from torch import nn

from toonlift.metrics.generative import GenerativeMetrics, scores_x1e3
from toonlift.plugins.eg3d.world_camera import synthetic_cond
from toonlift.plugins.features.synthetic_analyser import SyntheticAnalyserFeatureExtractor
from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss
from toonlift.synthetic.dataset import SyntheticFaces


@torch.no_grad()
def generator_fid_kid(
    generator: nn.Module,
    domain: str,
    num_samples: int,
    seed: int = 90_000,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    features: nn.Module | None = None,
    world_cameras: bool = False,
) -> dict[str, float]:
    """FID and KID (x1e3) between ``num_samples`` generated images and as many fresh renders of ``domain``.

    Args:
        generator: a backbone (``z`` from a seeded normal, no truncation, constant noise).
        domain: synthetic domain of the real images (``photo``, ``cartoon``, ``ink``).
        num_samples: images on each side (KID uses 50 subsets of half of them, at most 1000).
        seed: seed of the real renders and of the latent codes (keep it away from training seeds).
        batch_size: images per forward pass.
        device: where the generator and the feature network run.
        features: feature extractor (default: the synthetic analyser's pooled features).
        world_cameras: draw each generated image at the exact camera of the matching real render
            (:func:`toonlift.plugins.eg3d.world_camera.synthetic_cond` of its pose), so a camera-conditioned
            generator (EG3D) is compared at the world's own pose distribution; unconditioned generators leave it off.

    Returns:
        ``{"fid", "kid_x1e3", "kid_std_x1e3", "samples"}``.
    """
    device = torch.device(device)
    feats = (features or SyntheticAnalyserFeatureExtractor()).to(device).eval()
    # KID subsets of half the samples (at most 1000, as usual) so that its std over 50 subsets means something
    subset = max(2, min(1000, num_samples // 2))
    metrics = GenerativeMetrics(feats.num_features, kid_subset_size=subset, kid_subsets=50).to(device)
    outputs = ("image", "pose") if world_cameras else ("image",)
    size = generator.resolution
    real = SyntheticFaces(domain=domain, resolution=size, num_samples=num_samples, seed=seed, outputs=outputs)
    gen = torch.Generator().manual_seed(seed)
    for start in range(0, num_samples, batch_size):
        idx = list(range(start, min(start + batch_size, num_samples)))
        batch = real.render(idx)
        metrics.update(feats(batch["image"].to(device)), real=True)
        z = torch.randn(len(idx), generator.z_dim, generator=gen).to(device)
        cond = synthetic_cond(batch["pose"], size).to(device) if world_cameras else None
        fake = generator(z, cond, noise_mode="const").image.clamp(-1, 1)
        metrics.update(feats(fake), real=False)
    out = metrics.compute()
    return {**scores_x1e3(out), "samples": num_samples}


@torch.no_grad()
def paired_perceptual_distance(
    first: nn.Module, second: nn.Module, num_samples: int, seed: int = 0, device: torch.device | str = "cpu"
) -> float:
    """Mean analyser-perceptual distance between ``first(w)`` and ``second(w)`` for shared latents.

    The stand-in for the papers' LPIPS between the base and the fine-tuned generator (how far Stage 1 moved the
    images); LPIPS proper needs ImageNet VGG weights, which cannot be fetched offline.
    """
    device = torch.device(device)
    dist = AnalyserPerceptualLoss().to(device).eval()
    gen = torch.Generator().manual_seed(seed)
    total, count = 0.0, 0
    for start in range(0, num_samples, 64):
        n = min(64, num_samples - start)
        ws = first.mapping(torch.randn(n, first.z_dim, generator=gen).to(device))
        a = first.synthesis(ws, noise_mode="const").image.clamp(-1, 1)
        b = second.synthesis(ws, noise_mode="const").image.clamp(-1, 1)
        total += float(dist.distance(a, b).sum())
        count += n
    return total / max(1, count)
