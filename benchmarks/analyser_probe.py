"""What the synthetic world shows of each expression, and what the shipped analyser's features keep of it.

    python benchmarks/analyser_probe.py                        # 64 faces for visibility, 8,000 + 1,000 for the probe
    python benchmarks/analyser_probe.py --train 800 --test 200 # quicker

1. Visibility: for ``--faces`` faces of seed 5 (photo domain), every blendshape goes from 0 to 1 with the others at
   0; the table gives the pixels whose colour changes by more than 0.1 (of the [-1, 1] range) per face, at 64 and
   128 px.
2. Linear probe: ridge regression from the analyser's frozen features (pooled 256-d, and the 4x4, 8x8, 16x16 maps,
   the last average-pooled to 8x8) to the expression coefficients, fitted on ``--train`` faces of seed 2000 and scored
   (R^2) on ``--test`` faces of seed 1000, at the best of three ridge strengths. It tells whether the features carry
   an expression at all, whatever the analyser's own head reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from toonlift.synthetic.analyser import FaceAnalyser  # noqa: E402
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES  # noqa: E402
from toonlift.synthetic.render import FaceRenderer  # noqa: E402
from toonlift.synthetic.sampler import sample_params  # noqa: E402

LAYERS = ("pooled", "4x4", "8x8", "16x16")


@torch.no_grad()
def visibility(renderer: FaceRenderer, faces: int, resolution: int) -> list[float]:
    """Mean count of pixels changing by > 0.1 when each blendshape goes 0 -> 1 (others 0), per face."""
    p = sample_params(5, range(faces))
    counts = []
    for k in range(len(EXPRESSION_NAMES)):
        e0 = torch.zeros_like(p.expression)
        e1 = e0.clone()
        e1[:, k] = 1.0
        a = renderer(dataclasses.replace(p, expression=e0), "photo", resolution, outputs=())["image"]
        b = renderer(dataclasses.replace(p, expression=e1), "photo", resolution, outputs=())["image"]
        counts.append(float(((a - b).abs().amax(1) > 0.1).float().sum((1, 2)).mean()))
    return counts


@torch.no_grad()
def features(
    analyser: FaceAnalyser, renderer: FaceRenderer, seed: int, count: int
) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Frozen analyser features ``{layer: [N, D]}``, the analyser head's expressions ``[N, E]`` and the true
    expressions ``[N, E]`` of ``count`` faces of ``seed``."""
    feats: dict[str, list[torch.Tensor]] = {k: [] for k in LAYERS}
    heads, expr = [], []
    for lo in range(0, count, 100):
        p = sample_params(seed, range(lo, min(lo + 100, count)))
        out = analyser(renderer(p, "photo", 64, outputs=())["image"])
        mid = analyser.stage3(out.low)  # [B, 4w, 8, 8]: the forward pass keeps only the pooled top and the low maps
        top = analyser.stage4(mid)  # [B, 8w, 4, 4]
        maps = (out.features, top.flatten(1), mid.flatten(1), F.avg_pool2d(out.low, 2).flatten(1))
        for k, f in zip(LAYERS, maps):
            feats[k].append(f)
        heads.append(out.expression)
        expr.append(p.expression)
    return {k: torch.cat(v).double() for k, v in feats.items()}, torch.cat(heads).double(), torch.cat(expr).double()


def r2(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Per-column coefficient of determination ``[E]``."""
    return 1 - (pred - true).pow(2).sum(0) / (true - true.mean(0)).pow(2).sum(0).clamp_min(1e-12)


def ridge_probe(x: torch.Tensor, y: torch.Tensor, xt: torch.Tensor, yt: torch.Tensor, lam: float) -> torch.Tensor:
    """R^2 ``[E]`` on the test set of a ridge regression on standardised features."""
    mu, sd = x.mean(0), x.std(0) + 1e-6
    xn, xtn = (x - mu) / sd, (xt - mu) / sd
    w = torch.linalg.solve(xn.T @ xn + lam * torch.eye(xn.shape[1], dtype=x.dtype), xn.T @ (y - y.mean(0)))
    return r2(xtn @ w + y.mean(0), yt)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", type=int, default=64, help="faces of the visibility table")
    ap.add_argument("--train", type=int, default=8000, help="probe training faces (seed 2000)")
    ap.add_argument("--test", type=int, default=1000, help="probe test faces (seed 1000)")
    ap.add_argument("--analyser", default=None, help="analyser weights (default: the shipped file)")
    args = ap.parse_args()
    renderer, analyser = FaceRenderer(), FaceAnalyser.load(args.analyser)

    vis = {res: visibility(renderer, args.faces, res) for res in (64, 128)}
    x, _, y = features(analyser, renderer, 2000, args.train)
    xt, heads, yt = features(analyser, renderer, 1000, args.test)
    own = r2(heads, yt)
    probe = {k: torch.stack([ridge_probe(x[k], y, xt[k], yt, lam) for lam in (10.0, 100.0, 1000.0)]).amax(0)
             for k in LAYERS}  # fmt: skip

    probes = " | ".join(f"probe {k} R^2" for k in LAYERS)
    print(f"| blendshape | pixels > 0.1 at 64 px | at 128 px | analyser head R^2 | {probes} |")
    print("|---|---:|---:|---:|" + "---:|" * len(LAYERS))
    for i, name in enumerate(EXPRESSION_NAMES):
        cells = " | ".join(f"{float(probe[k][i]):.2f}" for k in LAYERS)
        print(f"| {name} | {vis[64][i]:.1f} | {vis[128][i]:.1f} | {float(own[i]):.2f} | {cells} |")
    print(f"\n{args.faces} faces for visibility; probe: {args.train} train / {args.test} test faces, best of ridge "
          "10/100/1000 per coefficient (an optimistic probe: the strength is picked on the test set)")  # fmt: skip


if __name__ == "__main__":
    main()
