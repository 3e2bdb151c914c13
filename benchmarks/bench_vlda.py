"""Stage-3 (VLDA) wall time: per 100 iterations of each phase at 128 px, and per image at the demo schedule.

    python benchmarks/bench_vlda.py                      # 128 px reference sizes, a few timed iterations per phase
    python benchmarks/bench_vlda.py --size 64 --batch 8  # the demo configuration
    python benchmarks/bench_vlda.py --full-demo          # run one whole demo-schedule image (slow on a CPU)

Networks, generator (StyleGAN2, channel multiplier 1 as GAN2Shape's 128 px CelebA model), discriminator and LPIPS
(VGG) have random weights: the cost is the same as with trained ones. Per-100 figures are measured over ``--iters``
iterations after one warm-up and scaled to 100; the per-image figure is the schedule's iteration counts times the
measured per-iteration times plus the measured collection and output writing, unless ``--full-demo`` runs it.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import torch

from toonlift.datamodules.steps import StepsDataModule
from toonlift.plugins.losses.lpips import LPIPSLoss
from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator
from toonlift.stages.vlda import reconstructor as rc
from toonlift.stages.vlda.module import VLDAModule
from toonlift.stages.vlda.outputs import write_avatar
from toonlift.stages.vlda.schedule import Schedule
from toonlift.stages.vlda.settings import AvatarOutput, VLDAImages, VLDATraining

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


def time_phase(m: VLDAModule, phase: str, iters: int, device: str) -> float:
    """Seconds per iteration of ``phase`` (loss, backward, Adam step), after one warm-up iteration."""
    opts = dict(zip(("init", "step1", "step2", "step3"), m.configure_optimizers()))
    m.state.phase = phase
    m.nets.set_trainable(phase)
    times = []
    for i in range(iters + 1):
        m.state.iteration = i
        sync(device)
        t0 = time.perf_counter()
        loss, _ = getattr(m, f"_loss_{phase}")()
        opts[phase].zero_grad()
        loss.backward()
        opts[phase].step()
        sync(device)
        if i > 0:
            times.append(time.perf_counter() - t0)
    return sum(times) / len(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iters", type=int, default=3, help="timed iterations per phase (after one warm-up)")
    ap.add_argument("--collect-batches", type=int, default=4, help="batches timed for the step-2 collection")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--full-demo", action="store_true", help="run one whole demo-schedule image at --size")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {platform.node()} {platform.machine()} {platform.processor() or ''}".strip())
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}")
    if args.device.startswith("cuda"):
        print(f"gpu: {torch.cuda.get_device_name()}")
    print(f"image {args.size} px, batch {args.batch}")
    with tempfile.TemporaryDirectory() as tmp:
        m = build(args.size, args.batch, args.device, tmp, args.collect_batches)
        m._prepare(0)
        per_iter = {}
        for phase in ("init", "step1", "step2"):
            per_iter[phase] = time_phase(m, phase, args.iters, args.device)
            print(f"{phase:6s}: {per_iter[phase]:8.3f} s/iteration  = {100 * per_iter[phase]:9.1f} s per 100")
        sync(args.device)
        t0 = time.perf_counter()
        m._collect()
        sync(args.device)
        collect_per_batch = (time.perf_counter() - t0) / args.collect_batches
        print(f"collect: {collect_per_batch:7.3f} s/batch of {args.batch} projected samples")
        per_iter["step3"] = time_phase(m, "step3", args.iters, args.device)
        print(f"step3 : {per_iter['step3']:8.3f} s/iteration  = {100 * per_iter['step3']:9.1f} s per 100")
        t0 = time.perf_counter()
        with torch.no_grad():
            canon = rc.predict_canonical(m.nets, m.input_image, m.renderer, m.ranges)
            recon, _, _ = rc.render_view(m.renderer, canon.texture, canon.depth, canon.view)
            write_avatar(m.out_dir / "bench", canon, m.input_image, recon, m.renderer, {})
        outputs = time.perf_counter() - t0
        print(f"outputs: {outputs:7.2f} s per avatar (maps, grids, GIF, OBJ, GLB)")
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
