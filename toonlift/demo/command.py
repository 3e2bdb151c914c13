"""``toonlift demo`` / ``python cli.py demo``: the whole pipeline on the synthetic world, in one command.

1. Stage 1 — a short fine-tune of the shipped photo generator toward the synthetic cartoon domain;
2. Stage 2 — an expression direction (SeFa, picked by the analyser) refined by the identity-preserving search;
3. Stage 3 — a 3D avatar (VLDA) of a synthetic face inverted into the generators, with its expressions;
4. evaluation — FID/KID of the generators, expression vs identity, SIDE/MAD against the synthetic ground truth.

Writes ``<out>/`` with every image, GIF and mesh, ``summary.json`` and ``index.html`` (open it in a browser).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
import warnings
from pathlib import Path

import torch

from toonlift.demo.context import DemoContext, StageTimer
from toonlift.demo.gallery import write_gallery
from toonlift.demo.schedule import DEFAULT, QUICK
from toonlift.errors import ConfigError
from toonlift.utils.io import atomic_write_json
from toonlift.utils.output_dirs import check_writable_folder
from toonlift.utils.threads import apply_threads

STAGES = 4
# Lightning notices that say nothing to a demo user (each stage is a short, deliberate fit)
_QUIET_WARNINGS = (
    r".*LeafSpec.*",
    r".*module\(s\) in eval mode.*",
    r".*configure_optimizers.*returned `None`.*",
    r".*does not have many workers.*",
    r".*`training_step` returned `None`.*",
    r".*will save all extracted features in buffer.*",
)


def quiet_lightning() -> None:
    """Keep the demo's console to progress bars and one line per stage."""
    import pytorch_lightning  # noqa: F401 - its import sets its loggers to INFO; lower them afterwards

    for name in ("pytorch_lightning", "lightning_fabric", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in _QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


def resolve_device(name: str) -> torch.device:
    """``auto`` -> ``cuda`` when available, else ``cpu``; a CUDA request without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA GPU is visible to torch here. Use --device cpu (or auto).")
    if not (name == "cpu" or name.startswith("cuda")):
        raise ConfigError(f"--device must be auto, cpu or cuda[:N], got {name!r}.")
    return torch.device(name)


def evaluate(ctx: DemoContext, timer: StageTimer) -> dict:
    """FID/KID of the shipped photo and cartoon generators and of this run's Stage-1 generator."""
    from toonlift.demo.assets import load_shipped
    from toonlift.metrics.synthetic_world import generator_fid_kid, paired_perceptual_distance

    n = ctx.schedule.metric_samples
    photo = load_shipped("photo").to(ctx.device)
    cartoon = load_shipped("cartoon").to(ctx.device)
    fid = {
        "photo (shipped) vs photo": generator_fid_kid(photo, "photo", n, device=ctx.device),
        "cartoon (shipped) vs cartoon": generator_fid_kid(cartoon, "cartoon", n, device=ctx.device),
        "photo (shipped) vs cartoon": generator_fid_kid(photo, "cartoon", n, device=ctx.device),
    }
    demo_g = ctx.shared.get("stage1_generator")
    if demo_g is not None:
        fid["this run's Stage 1 vs cartoon"] = generator_fid_kid(demo_g.eval(), "cartoon", n, device=ctx.device)
    perceptual = paired_perceptual_distance(photo, cartoon, min(n, 256), device=ctx.device)
    s3 = ctx.summary.get("stage3", {})
    side = 100 * s3.get("final", {}).get("side", float("nan"))
    line = (
        f"FID cartoon {fid['cartoon (shipped) vs cartoon']['fid']:.1f} (photo G vs cartoon "
        f"{fid['photo (shipped) vs cartoon']['fid']:.1f}); SIDE x1e-2 {side:.3f}"
    )
    seconds = timer.done(line)
    return {"fid": fid, "photo_to_cartoon_perceptual": perceptual, "seconds": seconds}


def run_demo(out: Path, seed: int = 0, device: str = "auto", quick: bool = False) -> dict:
    """Run the four stages into ``out``; return the summary (also written as ``out/summary.json``)."""
    dev = resolve_device(device)  # before the heavy imports: a bad option fails at once
    from toonlift.demo.stage1 import run_stage1
    from toonlift.demo.stage2 import run_stage2
    from toonlift.demo.stage3 import invert_face, run_stage3

    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out '{out}' exists and is not a folder; choose another output folder.")
    check_writable_folder(out, "demo output folder (--out)")  # the run takes minutes: fail before it
    ctx = DemoContext(out=out, seed=seed, device=dev, schedule=QUICK if quick else DEFAULT, quick=quick)
    torch.manual_seed(seed)
    start = time.perf_counter()
    ctx.summary.update(
        seed=seed,
        quick=quick,
        device=str(dev),
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} "
        f"threads" + (f", {torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else ""),
        schedule=ctx.schedule.as_dict(),
    )
    ctx.summary["stage1"] = run_stage1(ctx, StageTimer(1, STAGES, "Stage 1, photo -> cartoon fine-tune"))
    timer = StageTimer(2, STAGES, "Stage 2, expression offsets")
    face = invert_face(ctx)  # the Stage-3 face leads the Stage-2 latents, so its expressions exist
    ctx.summary["stage2"] = run_stage2(ctx, timer, face["w"])
    ctx.summary["stage3"] = run_stage3(ctx, StageTimer(3, STAGES, "Stage 3, 3D avatar (VLDA)"))
    ctx.summary["evaluation"] = evaluate(ctx, StageTimer(4, STAGES, "Evaluation"))
    ctx.summary["total_seconds"] = time.perf_counter() - start
    ctx.summary["timings"] = {k: ctx.summary[k]["seconds"] for k in ("stage1", "stage2", "stage3", "evaluation")}
    atomic_write_json(out / "summary.json", ctx.summary)
    write_gallery(ctx.summary, out)
    return ctx.summary


def main(argv: list[str]) -> int:
    """CLI entry: ``toonlift demo [--out DIR] [--seed N] [--device auto|cpu|cuda] [--quick] [--threads N]``."""
    parser = argparse.ArgumentParser(
        prog="toonlift demo", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="outputs/demo", help="output folder (default: outputs/demo)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: 0)")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny schedules: ~20 s on 2 cores")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch CPU threads (default 0: the free cores this process may use, from its CPU affinity and the "
        "load average; OMP_NUM_THREADS=N also sets it)",
    )
    args = parser.parse_args(argv)
    apply_threads(args.threads)
    quiet_lightning()
    summary = run_demo(Path(args.out), args.seed, args.device, args.quick)
    print(f"done in {summary['total_seconds']:.0f} s: open {Path(args.out) / 'index.html'} in a browser")
    return 0
