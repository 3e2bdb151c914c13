"""Coarse 3DMM regressor (seed 002's CoarseRecon): a short CPU training run, self-supervised (the paper's loss) vs
with the supervised coefficient term, scored on unseen faces.

    OMP_NUM_THREADS=1 python benchmarks/bench_rig_fit.py --steps 150 --batch 16 --size 64 --test 32

Both variants start from the same initialisation (seed 0) and see the same training faces (synthetic photo, seed 0,
rendered on the fly). Test: ``--test`` faces of seed 2 (unseen). Printed per variant: wall time per step, landmark
error per iBUG group in pixels at 256 px (002's Table 1 layout), photometric error (mean absolute RGB in [0, 1]
inside the face mask, L1 as the paper reports it) and coefficient R^2 pooled over each group's columns (identity,
expression, pose). The untrained regressor (the average face) is the first row.
"""

from __future__ import annotations

import argparse
import time

import torch
from protocol import report_header

from toonlift.plugins.head_rig.latent import SLICES
from toonlift.plugins.landmarks.base import GROUPS
from toonlift.stages.rig_fit.module import NEEDED, RigFitModule, pooled_r2, true_latent
from toonlift.synthetic.dataset import SyntheticFaces


def batch(ds: SyntheticFaces, indices: list[int]) -> dict[str, torch.Tensor]:
    items = ds.__getitems__(indices)
    return {k: torch.stack([it[k] for it in items]) for k in NEEDED}


@torch.no_grad()
def score(module: RigFitModule, test: dict[str, torch.Tensor], size: int) -> str:
    latent = module.regressor(test["image"])
    out = module.rig.synthesis(latent)
    err = (out.landmarks - test["landmarks"]).norm(dim=-1) * (256 / size)  # [N, 68]
    groups = ", ".join(f"{g} {err[:, list(ix)].mean():.2f}" for g, ix in GROUPS.items())
    mask = out.mask * test["mask"]
    photo = (((out.image - test["image"]).abs() / 2).mean(1, keepdim=True) * mask).sum() / mask.sum()
    true = true_latent(test, "photo")
    p = SLICES["pose"]
    r2 = {
        "identity": pooled_r2(latent[:, SLICES["identity"]], true[:, SLICES["identity"]]),
        "expression": pooled_r2(latent[:, SLICES["expression"]], true[:, SLICES["expression"]]),
        "pose": pooled_r2(latent[:, p.start : p.start + 3], true[:, p.start : p.start + 3]),
    }
    r2_text = ", ".join(f"{k} {v:.2f}" for k, v in r2.items())
    return f"landmarks px@256: {groups}, total {err.mean():.2f}; photometric L1 {photo:.3f}; R^2 {r2_text}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--test", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    print(report_header())
    train = SyntheticFaces("photo", args.size, args.steps * args.batch, 0, NEEDED)
    test = batch(SyntheticFaces("photo", args.size, args.test, 2, NEEDED), list(range(args.test)))
    for label, sup in (("self-supervised (paper)", 0.0), ("+ supervised coefficients (w 1.0)", 1.0)):
        torch.manual_seed(0)
        module = RigFitModule(image_size=args.size, lr=args.lr, supervised_weight=sup)
        if sup == 0.0:
            print(f"untrained (average face): {score(module, test, args.size)}")
        opt = module.configure_optimizers()
        start = time.perf_counter()
        for step in range(args.steps):
            terms, _, _ = module.losses(batch(train, list(range(step * args.batch, (step + 1) * args.batch))))
            loss = module.total(terms)
            opt.zero_grad()
            loss.backward()
            opt.step()
        per = (time.perf_counter() - start) / args.steps
        head = f"{label}, {args.steps} steps x {args.batch} ({per:.2f} s/step incl. rendering)"
        print(f"{head}: {score(module, test, args.size)}")


if __name__ == "__main__":
    main()
