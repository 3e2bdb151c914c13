"""Scores of the one-shot table (``oneshot_table.py``): images, depth relief, expression control, diversity.

* :class:`Scorer`: analyser-perceptual distance (LPIPS's recipe on the synthetic analyser; not LPIPS), PSNR and SSIM
  (torchmetrics, images in [0, 1]) on the face crop, and the analyser identity cosine on the whole image; one batched
  call per set of views.
* :func:`relief_ratio`: depth relief (q95 − q05 inside the mask) of rendered views over the true toon depth's.
* :func:`jaw_change`: analyser jaw-open change for one edit along a boundary (same latent, same camera).
* :func:`diversity`: mean pairwise perceptual distance of ``n`` random latents (004's Sec. 4.4 measure).

Each score is computed once per set of views; the table reuses what repeats (``oneshot_table.py``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from toonlift.functional.oneshot import depth_relief, pairwise_mean
from toonlift.plugins.identity.synthetic_analyser import SyntheticAnalyserIdentityEncoder
from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss, normalized_feature_distance


def crop(x: Tensor, frac: float) -> Tensor:
    """The central ``frac`` of the image side (the face crop) of ``[..., S, S]``."""
    s = x.shape[-1]
    m = round(s * (1 - frac) / 2)
    return x[..., m : s - m, m : s - m]


class Scorer:
    """Image and identity scores of rendered views against true views (``frac``: the face crop)."""

    def __init__(self, frac: float) -> None:
        self.frac = frac
        self.perc = AnalyserPerceptualLoss().eval()
        self.ident = SyntheticAnalyserIdentityEncoder().eval()

    @torch.no_grad()
    def images(self, pred: Tensor, true: Tensor) -> dict[str, list[float]]:
        """Per view ``{"perceptual", "psnr", "ssim", "identity"}`` of ``pred`` against ``true`` ``[V, 3, S, S]``."""
        if pred.shape != true.shape:
            raise ValueError(f"Scorer: predictions {tuple(pred.shape)} and truths {tuple(true.shape)} differ.")
        p, t = crop(pred.clamp(-1, 1), self.frac), crop(true, self.frac)
        p01, t01 = (p + 1) / 2, (t + 1) / 2
        idc = torch.nn.functional.cosine_similarity(self.ident(pred.clamp(-1, 1)), self.ident(true), dim=1)
        psnr = peak_signal_noise_ratio(p01, t01, data_range=1.0, reduction="none", dim=(1, 2, 3))
        ssim = structural_similarity_index_measure(p01, t01, data_range=1.0, reduction="none")
        return {
            "perceptual": self.perc.distance(p, t).tolist(),
            "psnr": psnr.reshape(-1).tolist(),
            "ssim": ssim.reshape(-1).tolist(),
            "identity": idc.tolist(),
        }

    def summary(self, pred: Tensor, true: Tensor, scored: list[int], far: list[int]) -> dict[str, float]:
        """Means over the ``scored`` views, plus ``far_perceptual`` over the ``far`` ones (a subset of ``scored``;
        scored once)."""
        if not set(far) <= set(scored):
            raise ValueError(f"Scorer: the far views {far} must be among the scored views {scored}.")
        sc = self.images(pred[scored], true[scored])
        row = {k: statistics.mean(v) for k, v in sc.items()}
        if far:
            row["far_perceptual"] = statistics.mean(sc["perceptual"][scored.index(i)] for i in far)
        return row


def relief_ratio(depth: Tensor, mask: Tensor, true_depth: Tensor, true_mask: Tensor) -> float:
    """Mean over views of the rendered depth relief over the true one (1 = as deep as the truth, 0 = flat)."""
    true = depth_relief(true_depth, true_mask).clamp_min(1e-6)
    return float((depth_relief(depth, mask) / true).mean())


@torch.no_grad()
def jaw_change(
    g, ws: Tensor, normal: Tensor, cond: Tensor, read: Callable[[Tensor], Tensor], jaw: int, d: float = 2.0
) -> float:  # noqa: ANN001, E501
    """Read-out ``jaw`` of ``g(ws + d n)`` minus that of ``g(ws)`` at camera ``cond [1, 25]``."""
    both = torch.cat([ws, ws + d * normal.view(1, 1, -1).to(ws)])
    return float(read(g.synthesis(both, cond.to(ws).expand(2, -1), noise_mode="const").image)[:, jaw].diff()[0])


@torch.no_grad()
def diversity(g, n: int, perc: AnalyserPerceptualLoss, seed: int = 123) -> float:  # noqa: ANN001
    """Mean pairwise perceptual distance of ``n`` random latents of ``g`` at its frontal camera (each image's analyser
    features computed once: ``n`` encoder passes, not ``2 n²``)."""
    cond = g.default_cond(n).to(g.mapping_net.w_avg)
    ws = g.mapping(g.sample_z(n, generator=torch.Generator().manual_seed(seed)).to(cond), cond)
    img = g.synthesis(ws, cond, noise_mode="const").image
    return pairwise_perceptual(img, perc)


def pairwise_perceptual(img: Tensor, perc: AnalyserPerceptualLoss) -> float:
    """Mean off-diagonal ``perc.distance`` between the images ``[N, 3, S, S]`` (N >= 2)."""
    feats = perc.features(img.float())
    d = torch.stack([normalized_feature_distance([f[i : i + 1].expand_as(f) for f in feats], feats)
                     for i in range(img.shape[0])])  # fmt: skip
    return float(pairwise_mean(d))
