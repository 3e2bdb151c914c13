"""Stage 3's reference schedule at 64 px, the configuration of the 20-face table: cost per phase and per face.

    python benchmarks/bench_vlda_reference.py                    # 5 timed iterations per phase, CPU clock, 1 thread
    python benchmarks/bench_vlda_reference.py --iters 3 --quick  # a check that it runs (fewer parts timed)

The module is built as ``benchmarks/vlda_synthetic.py`` builds it for BENCHMARKS.md's "reference schedule on the same
faces" (shipped cartoon generator and discriminator, ``analyser_perceptual`` 0.05, ``synthetic_parser``, networks of
width 32, 3 discriminator blocks, batch 16, 100 collected batches per stage, 1000 init + 600/600/400 + 3 x
200/500/300 iterations). The face is seed 0's latent: the cost does not depend on which face.

Printed, with ``benchmarks/protocol.py``'s median [interquartile range] of ``--iters`` timed calls after warm-up:

* per phase, one iteration (loss, backward, Adam step) and the collection per batch, with the schedule's counts and
  their product: the estimated cost of one face (the schedule has no other work but writing the outputs, timed once),
  and the iteration's matrix-product and convolution flops over its time as a fraction of sgemm timed on the same
  clock;
* inside step 2 and step 3, what one iteration's parts cost alone (the pseudo renders, the encoder, the generator's
  synthesis forward + backward, the discriminator features, the depth-map renders, the perceptual loss, V/L/D/A), so
  the printed profile shows what bounds the per-face figure.

``--clock cpu`` (default) is the process CPU time: on a shared machine the figure a free core would give.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import Limits, Spread, count_flops, machine_limits, measure, report_header  # noqa: E402

from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss  # noqa: E402
from toonlift.plugins.parsers.synthetic_parser import SyntheticFaceParser  # noqa: E402
from toonlift.plugins.stylegan2 import load_generator  # noqa: E402
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator  # noqa: E402
from toonlift.stages.vlda import reconstructor as rc  # noqa: E402
from toonlift.stages.vlda.module import VLDAModule  # noqa: E402
from toonlift.stages.vlda.outputs import write_avatar  # noqa: E402
from toonlift.stages.vlda.schedule import Schedule  # noqa: E402
from toonlift.stages.vlda.settings import AvatarOutput, VLDAImages, VLDANetworks, VLDATraining  # noqa: E402

ASSETS = Path(__file__).resolve().parents[1] / "toonlift" / "assets"
REFERENCE = Schedule((600, 600, 400), (200, 500, 300), num_stages=4, init_iters=1000)


def build(out_dir: str, batch: int, collect: int) -> VLDAModule:
    """The 20-face table's VLDA configuration for one face (seed 0)."""
    torch.manual_seed(0)
    g = load_generator(str(ASSETS / "synthetic_cartoon_g.safetensors"))
    arch = {k: getattr(g, k) for k in ("size", "channel_multiplier", "channel_max", "channel_base")}
    disc = StyleGAN2Discriminator(**arch, checkpoint=str(ASSETS / "synthetic_cartoon_d.safetensors"))
    return VLDAModule(
        g, disc, perceptual=AnalyserPerceptualLoss(0.05), face_parser=SyntheticFaceParser(),
        images=VLDAImages(seeds=(0,)), image_size=g.size, schedule=REFERENCE,
        training=VLDATraining(batch_size=batch, collect_batches=collect, disc_blocks=3),
        networks=VLDANetworks(net_width=32), output=AvatarOutput(out_dir),
    )  # fmt: skip


def phase_iteration(m: VLDAModule, phase: str, opts: dict) -> Callable[[], None]:
    """One iteration of ``phase`` as training_step runs it (loss, backward, Adam step), the iteration advancing."""
    m.state.phase = phase
    m.nets.set_trainable(phase)
    m._canon_cache = None

    def step() -> None:
        loss, _ = getattr(m, f"_loss_{phase}")()
        opts[phase].zero_grad()
        loss.backward()
        opts[phase].step()
        m.state.iteration += 1

    return step


def parts_step2(m: VLDAModule) -> dict[str, Callable[[], None]]:
    """The pieces of one step-2 iteration, each alone (the same shapes and autograd modes as in the iteration)."""
    m.nets.set_trainable("step2")
    canon = rc.predict_canonical(m.nets, m.input_image, m.renderer, m.ranges)
    canon = rc.Canonical(*(t.detach() if torch.is_tensor(t) else t for t in vars(canon).values()))
    pseudo, mask = m._pseudo_batch(canon, m._generator())
    proj_, offset = m.projector.project(m.nets.netE, pseudo, m.nets.netE(m.input_image), m.input_w)
    w = torch.randn(pseudo.shape[0], m.projector.generator.w_dim, requires_grad=True)
    fake = proj_.detach().requires_grad_()

    def renders() -> None:
        m._pseudo_batch(canon, m._generator())

    def encoder() -> None:
        (m.nets.netE(pseudo).sum() + m.nets.netE(m.input_image).sum()).backward()

    def synthesis() -> None:
        m.projector.render(w).sum().backward()

    def disc() -> None:
        m.projector.loss(fake, pseudo, mask, offset.detach())[0].backward()

    return {"pseudo renders (16 views, no grad)": renders, "E fwd+bwd (16 + input)": encoder,
            "G synthesis fwd+bwd (16)": synthesis, "D features + L1 fwd+bwd": disc}  # fmt: skip


def parts_step3(m: VLDAModule) -> dict[str, Callable[[], None]]:
    """The pieces of one step-3 iteration, each alone (one shape: a stage with the mirrored terms renders and
    scores twice)."""
    m.nets.set_trainable("step3")
    b = m.train_cfg.batch_size
    images = torch.rand(b, 3, m.image_size, m.image_size) * 2 - 1
    canon = rc.predict_canonical(m.nets, m.input_image, m.renderer, m.ranges)
    canon = rc.Canonical(*(t.detach() if torch.is_tensor(t) else t for t in vars(canon).values()))
    views = torch.zeros(b, 6)
    views[:, 1] = torch.linspace(-0.4, 0.4, b)
    tex = canon.texture.expand(b, -1, -1, -1).clone().requires_grad_()
    depth = canon.depth.clone().requires_grad_()

    def nets() -> None:
        c = rc.predict_canonical(m.nets, m.input_image, m.renderer, m.ranges)
        v, light = rc.predict_view(m.nets, images, m.ranges), m.nets.netL(images)
        (c.texture.sum() + c.depth.sum() + v.sum() + light.sum()).backward()

    def renders() -> None:
        img, valid, _ = rc.render_view(m.renderer, tex, depth, views)
        (img * valid).sum().backward()

    def perceptual() -> None:
        x = images.clone().requires_grad_()
        m.perceptual(x, images.flip(0)).backward()

    return {"D/A/V/L fwd+bwd (input + 16)": nets, "16 depth-map renders fwd+bwd": renders,
            "perceptual fwd+bwd (16)": perceptual}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iters", type=int, default=5, help="timed iterations per phase (>= 5 for the protocol)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="cpu")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--collect", type=int, default=100, help="collected batches per stage (the schedule's)")
    ap.add_argument("--quick", action="store_true", help="phases only, no parts, no outputs")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(report_header())
    print(f"load average before: {os.getloadavg()[0]:.2f} | clock: {args.clock} | median [IQR] of {args.iters}")
    # % sgemm: the matrix-product and convolution flops of an iteration over its time, against sgemm timed on the
    # same clock (on a shared machine the wall-clock sgemm of machine_limits() would be the other jobs' share)
    limits = machine_limits()
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    gemm = Spread(tuple(2 * 1024**3 / t / 1e9 for t in measure(lambda: torch.mm(a, b), clock=clock).samples))
    print(f"sgemm on the {args.clock} clock: {gemm.text(fmt='.4g')} GFLOP/s")
    limits = Limits(gemm.median, limits.memory_gbs)
    counts = {"init": REFERENCE.init_iters}
    for i, phase in enumerate(("step1", "step2", "step3")):
        counts[phase] = REFERENCE.first[i] + (REFERENCE.num_stages - 1) * REFERENCE.later[i]
    with tempfile.TemporaryDirectory() as tmp:
        m = build(tmp, args.batch, args.collect)
        m._prepare(0)
        m.index = 0
        opts = dict(zip(("init", "step1", "step2", "step3"), m.configure_optimizers()))
        per: dict[str, Spread] = {}
        flops: dict[str, float] = {}
        for phase in ("init", "step1", "step2"):
            per[phase] = measure(phase_iteration(m, phase, opts), repeats=args.iters, warmup=1, clock=clock)
            flops[phase] = count_flops(phase_iteration(m, phase, opts))
        full_cfg = m.train_cfg
        m.train_cfg = dataclasses.replace(full_cfg, collect_batches=4)  # a collection of 4 batches, timed
        collect4 = measure(m._collect, repeats=args.iters, warmup=1, clock=clock)
        collect_batch = Spread(tuple(t / 4 for t in collect4.samples))
        m.train_cfg = full_cfg
        m._collect()  # the step-3 pool, as after step 2
        # step 3 adds the mirrored shape's terms in the stages flip_stages names (GAN2Shape: the first only)
        flips = [m.train_cfg.flip_stages[k] if k < len(m.train_cfg.flip_stages) else False for k in range(4)]
        step3 = {}
        for flip in sorted(set(flips)):
            m.state.stage = flips.index(flip)
            step3[flip] = measure(phase_iteration(m, "step3", opts), repeats=args.iters, warmup=1, clock=clock)
            flops[f"step3 {flip}"] = count_flops(phase_iteration(m, "step3", opts))
        m.state.stage = 0
        n3 = {f: sum(REFERENCE.length("step3", k) for k in range(4) if flips[k] == f) for f in step3}
        per["step3"] = Spread(tuple(sum(step3[f].samples[i] * n3[f] for f in step3) / sum(n3.values())
                                    for i in range(args.iters)))  # fmt: skip
        for f, t in step3.items():
            print(f"step 3 {'with' if f else 'without'} the mirrored terms: {t.text(fmt='.3g')} s x {n3[f]}")
        n3_all = sum(n3.values())
        flops["step3"] = sum(flops[f"step3 {f}"] * n3[f] for f in step3) / n3_all
        print("\n| phase | s / iteration | iterations per face | s per face | share | % sgemm |")
        print("|---|---|---|---|---|---|")
        total = {p: per[p].median * counts[p] for p in counts}
        total["collection"] = collect_batch.median * REFERENCE.num_stages * args.collect
        outputs = 0.0
        if not args.quick:
            t0 = clock()
            with torch.no_grad():
                canon = rc.predict_canonical(m.nets, m.input_image, m.renderer, m.ranges)
                recon, _, _ = rc.render_view(m.renderer, canon.texture, canon.depth, canon.view)
                write_avatar(m.out_dir / "bench", canon, m.input_image, recon, m.renderer, {})
            outputs = clock() - t0
        face = sum(total.values()) + outputs
        for p in counts:
            pct = 100 * limits.fraction_of_sgemm(flops[p], per[p].median)
            print(
                f"| {p} | {per[p].text(fmt='.3g')} | {counts[p]} | {total[p]:.0f} | {100 * total[p] / face:.0f} % "
                f"| {pct:.0f} % |"
            )
        n_batches = REFERENCE.num_stages * args.collect
        print(
            f"| collection (per batch of {args.batch}) | {collect_batch.text(fmt='.3g')} | {n_batches} batches "
            f"| {total['collection']:.0f} | {100 * total['collection'] / face:.0f} % |"
        )
        print(f"| outputs (one run) | | 1 | {outputs:.0f} | {100 * outputs / face:.0f} % |")
        print(f"\nestimated cost of one face: {face:.0f} s = {face / 60:.1f} min on {args.threads} thread(s)")
        print(f"load average after the phases: {os.getloadavg()[0]:.2f}")
        if args.quick:
            return
        for name, make_parts in (("step 2", parts_step2), ("step 3", parts_step3)):
            parts = make_parts(m)  # built in turn: each sets its phase's trainable networks
            print(f"\n| inside one {name} iteration, each part alone | s | share of the iteration |")
            print("|---|---|---|")
            it = per["step2"].median if name == "step 2" else step3[flips[0]].median
            for label, fn in parts.items():
                t = measure(fn, repeats=args.iters, warmup=1, clock=clock)
                print(f"| {label} | {t.text(fmt='.3g')} | {100 * t.median / it:.0f} % |", flush=True)


if __name__ == "__main__":
    main()
