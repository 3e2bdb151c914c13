"""Stage-3 (VLDA) wall time: per 100 iterations of each phase at 128 px, and per image at the demo schedule.

    python benchmarks/bench_vlda.py                      # 128 px reference sizes, a few timed iterations per phase
    python benchmarks/bench_vlda.py --size 64 --batch 8  # the demo configuration
    python benchmarks/bench_vlda.py --full-demo          # run one whole demo-schedule image (slow on a CPU)
    python benchmarks/bench_vlda.py --quick              # 64 px, batch 4: a check that it runs

Networks, generator (StyleGAN2, channel multiplier 1 as GAN2Shape's 128 px CelebA model), discriminator and LPIPS
(VGG) have random weights: the cost is the same as with trained ones. Per-100 figures are the median (interquartile
range) of ``--iters`` iterations (>= 5) after one warm-up (``benchmarks/protocol.py``), scaled to 100, with the
fraction of this machine's sgemm throughput (flops of one more, untimed iteration); the per-image figure is the
schedule's iteration counts times the median per-iteration times plus the measured collection and output writing
(single runs), unless ``--full-demo`` runs it.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from protocol import Limits, Spread, count_flops, machine_limits, report_header

from toonlift.datamodules.steps import StepsDataModule
from toonlift.plugins.losses.lpips import LPIPSLoss
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.module import VLDAModule
from toonlift.stages.vlda.outputs import write_avatar
from toonlift.stages.vlda.schedule import Schedule
from toonlift.stages.vlda.settings import AvatarOutput, VLDAImages, VLDATraining
from toonlift.utils.threads import apply_threads

DEMO = Schedule((100, 100, 80), (40, 80, 60), num_stages=2, init_iters=200)
DEMO_COLLECT = 25


def build(size: int, batch: int, device: str, out_dir: str, collect_batches: int) -> VLDAModule:
    torch.manual_seed(0)
    g = StyleGAN2Backbone(size=size, channel_multiplier=1)
    d = StyleGAN2Discriminator(size=size, channel_multiplier=1)
    perc = LPIPSLoss(weight=0.5, allow_random_backbone=True)
    m = VLDAModule(
        g, d, perc, images=VLDAImages(seeds=(0,)), image_size=size,
        training=VLDATraining(batch_size=batch, collect_batches=collect_batches), output=AvatarOutput(out_dir),
    )  # fmt: skip
    return m.to(device)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_phase(m: VLDAModule, phase: str, iters: int, device: str, limits: Limits) -> tuple[Spread, float]:
    """Seconds per iteration of ``phase`` (loss, backward, Adam step) after one warm-up, and its % of sgemm."""
    opts = dict(zip(("init", "step1", "step2", "step3"), m.configure_optimizers()))
    m.state.phase = phase
    m.nets.set_trainable(phase)
    i = 0

    def iteration() -> None:
        nonlocal i
        m.state.iteration = i
        i += 1
        loss, _ = getattr(m, f"_loss_{phase}")()
        opts[phase].zero_grad()
        loss.backward()
        opts[phase].step()

    times = []
    for k in range(iters + 1):
        sync(device)
        t0 = time.perf_counter()
        iteration()
        sync(device)
        if k > 0:
            times.append(time.perf_counter() - t0)
    spread = Spread(tuple(times))
    return spread, 100 * limits.fraction_of_sgemm(count_flops(iteration), spread.median)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iters", type=int, default=5, help="timed iterations per phase (after one warm-up, >= 5)")
    ap.add_argument("--collect-batches", type=int, default=4, help="batches timed for the step-2 collection")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default 0: the free cores)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--full-demo", action="store_true", help="run one whole demo-schedule image at --size")
    ap.add_argument("--quick", action="store_true", help="64 px, batch 4, 2 collection batches")
    args = ap.parse_args()
    if args.quick:
        args.size, args.batch, args.collect_batches = 64, 4, 2
    apply_threads(args.threads)
    print(report_header(torch.device(args.device)))
    limits = machine_limits(torch.device(args.device))
    print(f"image {args.size} px, batch {args.batch}; per-iteration: median [q1, q3] of {args.iters} after 1 warm-up")
    with tempfile.TemporaryDirectory() as tmp:
        m = build(args.size, args.batch, args.device, tmp, args.collect_batches)
        m._prepare(0)
        per_iter = {}
        for phase in ("init", "step1", "step2"):
            spread, pct = time_phase(m, phase, args.iters, args.device, limits)
            per_iter[phase] = spread.median
            print(
                f"{phase:6s}: {spread.text(fmt='.3g')} s/iteration = {100 * spread.median:.1f} s per 100, "
                f"{pct:.0f} % sgemm"
            )
        sync(args.device)
        t0 = time.perf_counter()
        m._collect()
        sync(args.device)
        collect_per_batch = (time.perf_counter() - t0) / args.collect_batches
        print(f"collect: {collect_per_batch:7.3f} s/batch of {args.batch} projected samples (one run)")
        spread, pct = time_phase(m, "step3", args.iters, args.device, limits)
        per_iter["step3"] = spread.median
        print(f"step3 : {spread.text(fmt='.3g')} s/iteration = {100 * spread.median:.1f} s per 100, {pct:.0f} % sgemm")
        t0 = time.perf_counter()
        with torch.no_grad():
            canon = rc.predict_canonical(m.nets, m.input_image, m.renderer, m.ranges)
            recon, _, _ = rc.render_view(m.renderer, canon.texture, canon.depth, canon.view)
            write_avatar(m.out_dir / "bench", canon, m.input_image, recon, m.renderer, {})
        outputs = time.perf_counter() - t0
        print(f"outputs: {outputs:7.2f} s per avatar (maps, grids, GIF, OBJ, GLB; one run)")
        sched = DEMO
        counts = {"init": sched.init_iters}
        for i, phase in enumerate(("step1", "step2", "step3")):
            counts[phase] = sched.first[i] + (sched.num_stages - 1) * sched.later[i]
        est = sum(per_iter[p] * n for p, n in counts.items())
        est += sched.num_stages * DEMO_COLLECT * collect_per_batch + outputs
        print(f"demo schedule {counts} at {args.size} px: estimated {est:.0f} s per image ({est / 60:.1f} min)")
        if args.full_demo:
            import pytorch_lightning as pl

            full = VLDAModule(
                m.projector.generator,
                m.projector.discriminator,
                m.perceptual,
                images=VLDAImages(seeds=(0,)),
                image_size=args.size,
                schedule=DEMO,
                training=VLDATraining(batch_size=args.batch, collect_batches=DEMO_COLLECT),
                output=AvatarOutput(str(tmp)),
            )
            trainer = pl.Trainer(
                accelerator="gpu" if args.device.startswith("cuda") else "cpu",
                devices=1,
                max_epochs=1,
                logger=False,
                enable_checkpointing=False,
                enable_progress_bar=False,
                enable_model_summary=False,
            )
            t0 = time.perf_counter()
            trainer.fit(full, datamodule=StepsDataModule())
            print(f"demo schedule, measured: {time.perf_counter() - t0:.0f} s per image")


if __name__ == "__main__":
    main()
