"""Stage-3 depth accuracy (SIDE, MAD as Unsup3d) on analytic faces with known depth: prior, after stage 1, final.

    python benchmarks/bench_vlda_depth.py --faces 20 --size 32
    python benchmarks/bench_vlda_depth.py --quick     # 2 faces, 16 px, a few iterations: a check that it runs

Each face is ``AnalyticFaceBackbone`` (tests/vlda_helpers.py) with a random head width/height, relief and nose: an
ideal "GAN" that renders one known face from the view and light in its latent, with the ground-truth depth. The
input is the frontal view. The schedule is given with ``--first``/``--later``/``--stages``; the networks use small
widths (``--net-width``) so that 20 faces run on a CPU in tens of minutes. An accuracy evaluation: the time per face
is printed as the median [interquartile range] over faces (``benchmarks/protocol.py``), for scale.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from protocol import Spread, report_header  # noqa: E402

from tests.vlda_helpers import AnalyticFaceBackbone, tiny_stylegan2  # noqa: E402
from toonlift.datamodules.steps import StepsDataModule  # noqa: E402
from toonlift.stages.vlda.module import VLDAModule  # noqa: E402
from toonlift.stages.vlda.schedule import Schedule  # noqa: E402
from toonlift.stages.vlda.settings import AvatarOutput, FacePrior, VLDAImages, VLDANetworks, VLDATraining  # noqa: E402
from toonlift.utils.io import save_safetensors  # noqa: E402
from toonlift.utils.threads import apply_threads  # noqa: E402


def run_face(i: int, args: argparse.Namespace, tmp: Path) -> dict:
    rng = np.random.default_rng(i)
    shape = {
        "width": float(rng.uniform(0.5, 0.7)),
        "height": float(rng.uniform(0.7, 0.9)),
        "relief": float(rng.uniform(0.08, 0.13)),
        "nose": float(rng.uniform(0.02, 0.06)),
    }
    save_safetensors(tmp / f"w{i}.safetensors", {"w": torch.zeros(1, 4)}, {})
    _, disc = tiny_stylegan2(seed=i)
    module = VLDAModule(
        AnalyticFaceBackbone(args.size, **shape),
        disc,
        images=VLDAImages(latents=str(tmp / f"w{i}.safetensors")),
        image_size=args.size,
        schedule=Schedule(tuple(args.first), tuple(args.later), args.stages, args.init),
        training=VLDATraining(batch_size=args.batch, collect_batches=args.collect, lr=args.lr),
        networks=VLDANetworks(net_width=args.net_width, zdim=64, enc_width=8),
        prior=FacePrior(category=args.prior),
        output=AvatarOutput(str(tmp / f"face{i}"), gif_frames=6),
        seed=i,
    )
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(module, datamodule=StepsDataModule())
    return json.loads((tmp / f"face{i}" / "avatar_0000" / "metrics.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", type=int, default=20)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--first", type=int, nargs=3, default=[60, 200, 300])
    ap.add_argument("--later", type=int, nargs=3, default=[60, 200, 300])
    ap.add_argument("--stages", type=int, default=2)
    ap.add_argument("--init", type=int, default=100)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--collect", type=int, default=8)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--net-width", type=int, default=16)
    ap.add_argument("--prior", default="none", help="ellipsoid box adjustment: none (fits the mask) or face")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (0: the free cores)")
    ap.add_argument("--quick", action="store_true", help="2 faces, 16 px, a few iterations per phase")
    args = ap.parse_args()
    if args.quick:
        args.faces, args.size, args.first, args.later, args.stages, args.init = 2, 16, [2, 3, 3], [2, 3, 3], 1, 2
        args.batch, args.collect = 2, 1
    apply_threads(args.threads)
    print(report_header())
    print(
        f"{args.faces} faces, {args.size} px, schedule first={args.first} later={args.later} stages={args.stages} "
        f"init={args.init}, batch {args.batch}, lr {args.lr}, prior {args.prior}"
    )
    rows = {"prior": [], "stage1": [], "final": []}
    t0 = time.perf_counter()
    per_face = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.faces):
            t_face = time.perf_counter()
            m = run_face(i, args, Path(tmp))
            per_face.append(time.perf_counter() - t_face)
            for k in rows:
                rows[k].append((m[k]["side"], m[k]["mad"]))
            print(
                f"face {i:2d}: "
                + "  ".join(f"{k} SIDE {m[k]['side'] * 100:.3f}e-2 MAD {m[k]['mad']:.2f}" for k in rows),
                flush=True,
            )
    print(f"wall {time.perf_counter() - t0:.0f} s; per face {Spread(tuple(per_face)).text(fmt='.3g')} s")
    print("| depth | SIDE (x1e-2) | MAD (deg) |\n|---|---|---|")
    for k, v in rows.items():
        a = np.array(v)
        side, mad = a[:, 0] * 100, a[:, 1]
        print(f"| {k} | {side.mean():.3f} ± {side.std():.3f} | {mad.mean():.2f} ± {mad.std():.2f} |")
    final, prior = np.array(rows["final"]), np.array(rows["prior"])
    print(f"final SIDE below the prior's on {(final[:, 0] < prior[:, 0]).sum()} of {args.faces} faces")


if __name__ == "__main__":
    main()
