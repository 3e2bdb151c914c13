"""Accuracy of a face analyser on fresh synthetic photos: per-coefficient R^2 and mean absolute error."""

from __future__ import annotations

import torch

from toonlift.synthetic.analyser import FaceAnalyser
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.synthetic.identity_basis import IDENTITY_NAMES
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import LIGHT_NAMES, POSE_NAMES, sample_params

GROUP_NAMES = {"identity": IDENTITY_NAMES, "expression": EXPRESSION_NAMES, "pose": POSE_NAMES, "light": LIGHT_NAMES}


@torch.no_grad()
def evaluate_analyser(
    analyser: FaceAnalyser, seed: int, count: int = 256, batch_size: int = 64, resolution: int = 64
) -> dict[str, dict[str, dict[str, float]]]:
    """Render ``count`` photo-domain faces of ``seed`` and score the analyser's read-outs.

    Returns:
        ``{group: {"r2": {name: value, ..., "mean": m}, "mae": {name: value, ..., "mean": m}}}`` for the groups
        identity, expression, pose (degrees) and light.
    """
    renderer = FaceRenderer()
    analyser = analyser.eval()
    preds: dict[str, list[torch.Tensor]] = {k: [] for k in GROUP_NAMES}
    trues: dict[str, list[torch.Tensor]] = {k: [] for k in GROUP_NAMES}
    for lo in range(0, count, batch_size):
        p = sample_params(seed, range(lo, min(lo + batch_size, count)))
        out = analyser(renderer(p, "photo", resolution, outputs=())["image"])
        for k in GROUP_NAMES:
            preds[k].append(getattr(out, k))
            trues[k].append(getattr(p, k))
    report = {}
    for k, names in GROUP_NAMES.items():
        pred, true = torch.cat(preds[k]), torch.cat(trues[k])
        r2 = 1 - (pred - true).pow(2).sum(0) / (true - true.mean(0)).pow(2).sum(0).clamp_min(1e-12)
        mae = (pred - true).abs().mean(0)
        report[k] = {
            "r2": {**{n: float(v) for n, v in zip(names, r2)}, "mean": float(r2.mean())},
            "mae": {**{n: float(v) for n, v in zip(names, mae)}, "mean": float(mae.mean())},
        }
    return report
