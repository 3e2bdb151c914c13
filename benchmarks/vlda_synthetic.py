"""Stage-3 depth accuracy on GAN images with synthetic ground truth: SIDE/MAD of the prior, after stage 1, final.

    python benchmarks/vlda_synthetic.py --generator g_photo.safetensors --count 20 --out outputs/bench_vlda_synth
    python benchmarks/vlda_synthetic.py --generator g_photo.safetensors --cartoon-generator g_cartoon.safetensors \\
        --discriminator d_cartoon.safetensors --count 20 --out outputs/bench_vlda_synth_cartoon
    python benchmarks/vlda_synthetic.py --generator g.safetensors --count 2 --first 3 3 2 --later 1 1 1 --stages 1 \\
        --init 5 --batch 2 --collect 1 --out /tmp/smoke        # smoke run
    python benchmarks/vlda_synthetic.py --quick --out /tmp/smoke  # the same smoke run with the shipped generator

``count`` synthetic faces of world ``--seed`` (photo renders) are projected into the photo generator
(:func:`toonlift.stages.vlda.synthetic_truth.invert_synthetic_faces`); ``VLDAModule`` then reconstructs every
latent with the photo generator and the photo truth, or with ``--cartoon-generator`` and the cartoon truth of the same
parameters. The discriminator (step-2 feature loss) comes from ``--discriminator``; without one, a randomly
initialised discriminator of the generator's widths is used (its first blocks are generic random features) and
the JSON says so. Perceptual term: ``analyser_perceptual`` (``--perc-weight``, default 0.05: GAN2Shape's 0.5 is
LPIPS-VGG's weight, and on the analyser's features it makes the depth noisy and every score worse); face parser:
``synthetic_parser``.
Prints a markdown table (mean ± std over faces) with the inversion residual, and writes ``results.json``.

A flat plane (depth 1) is scored as the no-shape baseline. A second table scores the plane, the prior and the final
depth **at half resolution** (both depth maps and masks 2x2-averaged, the intrinsics of the half-size image): at
64 px and a 10-degree field of view a pixel spans ~0.0027 depth units, so a depth ripple of a few thousandths tilts
a normal by tens of degrees and the full-resolution MAD mostly measures pixel-scale noise; the half-resolution MAD
measures the shape. ``--rescore`` recomputes both tables from an earlier
run's ``--out`` folder without running anything.

Long schedules can be split: ``--start`` picks the first face index of the world, so several processes (or
machines) can each run a slice into their own ``--out``; ``--merge DIR [DIR ...]`` then prints one table over all
the slices (they must share the world seed, generators and schedule, and not overlap).

An accuracy evaluation: the machine line is ``benchmarks/protocol.py``'s (threads stated) and the time per face is
printed as the median [interquartile range] over faces, for scale -- not a benchmark figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from protocol import Spread, report_header  # noqa: E402
from torch import Tensor  # noqa: E402
from vlda_trace import DepthTrace  # noqa: E402

from toonlift.datamodules.steps import StepsDataModule  # noqa: E402
from toonlift.functional.camera import fov_to_intrinsics  # noqa: E402
from toonlift.functional.depth_metrics import depth_scores  # noqa: E402
from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss  # noqa: E402
from toonlift.plugins.parsers.synthetic_parser import SyntheticFaceParser  # noqa: E402
from toonlift.plugins.renderers.depth_map import DepthMapRenderer  # noqa: E402
from toonlift.plugins.stylegan2 import load_generator  # noqa: E402
from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator  # noqa: E402
from toonlift.stages.vlda.inputs import prepare_image  # noqa: E402
from toonlift.stages.vlda.module import VLDAModule  # noqa: E402
from toonlift.stages.vlda.schedule import Schedule  # noqa: E402
from toonlift.stages.vlda.settings import (  # noqa: E402
    AvatarOutput,
    FacePrior,
    VLDAImages,
    VLDANetworks,
    VLDATraining,
)
from toonlift.stages.vlda.synthetic_truth import invert_synthetic_faces, save_targets  # noqa: E402
from toonlift.utils.io import atomic_write_json, load_safetensors  # noqa: E402
from toonlift.utils.threads import apply_threads  # noqa: E402


class PhaseTimer(pl.Callback):
    """Wall time per VLDA phase (init, step1, step2 incl. collection, step3) and per image."""

    def __init__(self) -> None:
        self.phase: dict[str, float] = {}
        self.image: dict[int, float] = {}
        self._t = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, module: VLDAModule, batch: object, idx: int) -> None:
        self._key = (module.state.phase, module.state.image)
        self._t = time.perf_counter()

    def on_train_batch_end(self, trainer: pl.Trainer, module: VLDAModule, out: object, batch: object, idx: int) -> None:
        phase, image = self._key
        if phase == "done":
            return
        dt = time.perf_counter() - self._t
        self.phase[phase] = self.phase.get(phase, 0.0) + dt
        self.image[image] = self.image.get(image, 0.0) + dt


def _stat(values: list[float]) -> str:
    a = np.asarray(values, dtype=float)
    return f"{a.mean():.4g} ± {a.std():.2g}" if len(a) > 1 else f"{a.mean():.4g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", default=None, help="photo generator (.safetensors + .json); required to run")
    ap.add_argument("--cartoon-generator", default=None, help="run VLDA on this generator with the cartoon truth")
    ap.add_argument("--discriminator", default=None, help="discriminator of the generator VLDA runs on")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7000, help="synthetic world seed of the faces")
    ap.add_argument("--start", type=int, default=0, help="index of the first face in the world (to split a run)")
    ap.add_argument("--steps", type=int, default=200, help="projection steps")
    ap.add_argument("--mask-region", default="face", choices=("face", "head"), help="ground-truth foreground")
    ap.add_argument("--first", type=int, nargs=3, default=[100, 100, 80])
    ap.add_argument("--later", type=int, nargs=3, default=[40, 80, 60])
    ap.add_argument("--stages", type=int, default=2)
    ap.add_argument("--init", type=int, default=200)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--collect", type=int, default=25)
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--net-width", type=int, default=None, help="VLDA network width (default: max(4096 / size, 16))")
    ap.add_argument("--perc-weight", type=float, default=0.05, help="weight of the analyser perceptual term")
    ap.add_argument("--disc-blocks", type=int, default=4, help="discriminator blocks in the step-2 feature loss")
    ap.add_argument(
        "--prior-category",
        default="face",
        choices=("face", "synface", "none", "rig"),
        help="box adjustment of the ellipsoid prior (GAN2Shape: face for CelebA crops, synface), or rig: the "
        "shipped 3DMM rig's fitted depth",
    )
    ap.add_argument("--prior-relief", type=float, default=0.11, help="apex-to-rim depth of the prior (GAN2Shape 0.11)")
    ap.add_argument(
        "--view-prior",
        default="none",
        choices=("none", "analyser"),
        help="add the face analyser's head-pose estimate to the view network's output (default none: GAN2Shape)",
    )
    ap.add_argument("--view-prior-scale", type=float, default=1.0, help="multiplier of the estimated angles")
    ap.add_argument(
        "--trace",
        type=int,
        default=-1,
        help="score the depth at every phase boundary and every N step-3 "
        "iterations (benchmarks/vlda_trace.py; -1: off, 0: phase boundaries only)",
    )
    ap.add_argument(
        "--init-view", default="canonical", choices=("canonical", "input"), help="where init fits the prior"
    )
    ap.add_argument(
        "--depth-bound", type=float, default=0.0, help="hold the depth within ± this of the init's (0: off)"
    )
    ap.add_argument("--depth-smooth", type=int, default=0, help="box size low-passing the bounded departure (0: off)")
    ap.add_argument("--lam-anchor", type=float, default=0.0, help="step-3 weight of |depth - init's depth| (0: off)")
    ap.add_argument(
        "--no-flip", action="store_true", help="no symmetry terms in any stage (GAN2Shape: stage 1 has them)"
    )
    ap.add_argument("--lam-smooth", type=float, default=0.01, help="smoothness weight (GAN2Shape 0.01)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default 0: the free cores)")
    ap.add_argument("--quick", action="store_true", help="smoke run: shipped photo generator, 2 faces, tiny schedule")
    ap.add_argument("--out", default="outputs/bench_vlda_synthetic")
    ap.add_argument("--rescore", action="store_true", help="only re-score an earlier run's --out folder")
    ap.add_argument("--merge", nargs="+", default=None, metavar="DIR", help="one table over several runs' folders")
    args = ap.parse_args()
    if args.rescore:
        return report([Path(args.out)])
    if args.merge:
        return report([Path(d) for d in args.merge])
    if args.quick:
        from toonlift.demo.assets import shipped_path

        args.generator = args.generator or str(shipped_path("photo"))
        args.count, args.steps, args.stages, args.init, args.batch, args.collect = 2, 3, 1, 5, 2, 1
        args.first, args.later = [3, 3, 2], [1, 1, 1]
    if args.start < 0 or args.count < 1:
        ap.error("--start must be >= 0 and --count >= 1")
    if args.generator is None:
        ap.error("--generator is required (unless --rescore or --merge)")
    apply_threads(args.threads)
    for p in (args.generator, args.cartoon_generator, args.discriminator):
        if p is not None and not Path(p).is_file():
            sys.exit(f"error: '{p}' not found (a toonlift .safetensors export with its .json sidecar)")
    out = Path(args.out)
    cartoon = args.cartoon_generator is not None
    photo_g = load_generator(args.generator)

    t0 = time.perf_counter()
    targets = invert_synthetic_faces(
        photo_g, args.count, args.seed, "cartoon" if cartoon else "photo", "photo", args.steps,
        gt_size=args.image_size, mask_region=args.mask_region, first=args.start,
    )  # fmt: skip
    t_invert = time.perf_counter() - t0
    paths = save_targets(targets, out / "targets", {"generator": args.generator, "steps": args.steps})

    g = load_generator(args.cartoon_generator) if cartoon else photo_g
    if args.discriminator is not None:
        disc = StyleGAN2Discriminator(**_disc_arch(g), checkpoint=args.discriminator)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            disc = StyleGAN2Discriminator(**_disc_arch(g))
    flips = () if args.no_flip else VLDATraining.flip_stages
    module = VLDAModule(
        g, disc, perceptual=AnalyserPerceptualLoss(args.perc_weight), face_parser=SyntheticFaceParser(),
        images=VLDAImages(latents=str(paths["latents"]), ground_truth=str(paths["ground_truth"])),
        image_size=args.image_size,
        schedule=Schedule(tuple(args.first), tuple(args.later), args.stages, args.init),
        training=VLDATraining(batch_size=args.batch, collect_batches=args.collect, disc_blocks=args.disc_blocks,
                              view_prior=args.view_prior, view_prior_scale=args.view_prior_scale,
                              init_view=args.init_view, depth_bound=args.depth_bound, depth_smooth=args.depth_smooth,
                              lam_anchor=args.lam_anchor, lam_smooth=args.lam_smooth, flip_stages=flips),
        networks=VLDANetworks(net_width=args.net_width), output=AvatarOutput(str(out / "vlda")),
        prior=FacePrior(category=args.prior_category, relief=args.prior_relief),
    )  # fmt: skip
    timer = PhaseTimer()
    trace = DepthTrace(args.trace) if args.trace >= 0 else None
    trainer = pl.Trainer(
        accelerator="auto", devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer] + ([trace] if trace else []),
    )  # fmt: skip
    t1 = time.perf_counter()
    trainer.fit(module, datamodule=StepsDataModule())
    t_vlda = time.perf_counter() - t1

    faces = [json.loads((out / "vlda" / f"avatar_{i:04d}" / "metrics.json").read_text()) for i in range(args.count)]
    rows = {k: {m: [f[k][m] for f in faces] for m in ("side", "mad")} for k in ("prior", "stage1", "final")}
    res = targets.residual
    results = {
        "machine": report_header(),
        "device": str(trainer.strategy.root_device),
        "torch": torch.__version__,
        "generator": args.generator,
        "cartoon_generator": args.cartoon_generator,
        "truth_domain": targets.truth_domain,
        "discriminator": args.discriminator or "random (no --discriminator)",
        "count": args.count,
        "seed": args.seed,
        "start": args.start,
        "schedule": {k: getattr(args, k) for k in ("first", "later", "stages", "init", "batch", "collect")},
        "perc_weight": args.perc_weight,
        "prior": {"category": args.prior_category, "relief": args.prior_relief},
        "view_prior": {"kind": args.view_prior, "scale": args.view_prior_scale},
        "depth_options": {
            k: getattr(args, k)
            for k in ("init_view", "depth_bound", "depth_smooth", "lam_anchor", "lam_smooth", "no_flip")
        },
        "net_width": args.net_width,
        "disc_blocks": args.disc_blocks,
        "image_size": args.image_size,
        "projection_steps": args.steps,
        "mask_region": args.mask_region,
        "per_face": {k: v for k, v in rows.items()},
        "residual": res,
        "seconds": {
            "inversion_per_face": t_invert / args.count,
            "vlda_per_face": t_vlda / args.count,
            "vlda_per_phase_total": timer.phase,
            "vlda_per_image": timer.image,
        },
    }
    if trace is not None:
        atomic_write_json(out / "trace.json", trace.rows)
    atomic_write_json(out / "results.json", results)
    report([out])


def _half(x: Tensor) -> Tensor:
    return F.avg_pool2d(x.unsqueeze(1), 2).squeeze(1)


@torch.no_grad()
def extra_scores(out: Path, results: dict) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per face: SIDE/MAD of a flat plane (depth 1, the no-shape baseline) at full resolution, and of the flat plane,
    the ellipsoid prior and the final depth at half resolution (see the module docstring)."""
    size, count = results["image_size"], results["count"]
    renderer = DepthMapRenderer(image_size=size)
    k_half = fov_to_intrinsics(renderer.fov, size // 2)
    gt, _ = load_safetensors(out / "targets" / "ground_truth.safetensors", what="ground truth")
    w, _ = load_safetensors(out / "targets" / "latents.safetensors", what="latents")
    g = load_generator(results["cartoon_generator"] or results["generator"])
    full = {"flat": {"side": [], "mad": []}}
    half: dict[str, dict[str, list[float]]] = {k: {"side": [], "mad": []} for k in ("flat", "prior", "final")}
    zero, parser = torch.zeros(1, 6), SyntheticFaceParser()
    for i in range(count):
        folder = out / "vlda" / f"avatar_{i:04d}"
        maps, meta = load_safetensors(folder / "maps.safetensors", what="VLDA maps")
        pr = results.get("prior", {"category": "face", "relief": 0.11})
        prior = prepare_image(
            g, w["w"][i : i + 1], size, parser, prior_category=pr["category"], prior_relief=pr["relief"]
        ).ellipsoid
        gt_depth, gt_mask = gt["depth"][i : i + 1], gt["mask"][i : i + 1]
        shapes = {"flat": (torch.ones_like(prior), zero), "prior": (prior, zero)}
        shapes["final"] = (maps["depth"][None], torch.tensor([meta["view"]]))
        for key, (depth, view) in shapes.items():
            recon = renderer.warp_canon_depth(depth, view)
            valid = renderer.valid_mask(recon)[:, 0]
            if key == "flat":
                scores = depth_scores(recon, gt_depth, gt_mask, valid, renderer.K)
                for m in ("side", "mad"):
                    full[key][m].append(float(scores[m]))
            fg, ok = (_half(gt_mask) > 0.99).float(), (_half(valid) > 0.99).float()
            scores = depth_scores(_half(recon), _half(gt_depth), fg, ok, k_half)
            for m in ("side", "mad"):
                half[key][m].append(float(scores[m]))
    return {"full": full, "half": half}


def _scored(out: Path) -> dict:
    """The ``results.json`` of the complete run in ``out``, with the half-resolution scores added (and cached)."""
    if not (out / "results.json").is_file():
        sys.exit(f"error: '{out / 'results.json'}' not found: --out must be the folder of an earlier complete run")
    results = json.loads((out / "results.json").read_text())
    if "extra_scores" not in results:
        results["extra_scores"] = extra_scores(out, results)
        atomic_write_json(out / "results.json", results)
    return results


# Settings that must agree for runs to be merged into one table.
_SAME = ("seed", "generator", "cartoon_generator", "discriminator", "schedule", "perc_weight", "net_width",
         "disc_blocks", "image_size", "projection_steps", "mask_region", "prior", "view_prior",
         "depth_options")  # fmt: skip


def _cat_lists(trees: list[dict]) -> dict:
    """Concatenate the lists at the same place in several nested dicts of lists (one per run)."""
    out = {}
    for k, v in trees[0].items():
        parts = [t[k] for t in trees]
        out[k] = _cat_lists(parts) if isinstance(v, dict) else [x for part in parts for x in part]
    return out


def _joined(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted half-open face ranges with touching ones joined: [(0, 1), (1, 3), (5, 6)] -> [(0, 3), (5, 6)]."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _concat(runs: list[dict]) -> dict:
    """One run's worth of results from several runs over disjoint face slices of the same world and schedule."""
    if len(runs) == 1:
        return runs[0]
    first = runs[0]
    for r in runs[1:]:
        bad = [k for k in _SAME if r.get(k) != first.get(k)]
        if bad:
            sys.exit(f"error: the runs to merge differ in {', '.join(bad)}: merge only slices of one experiment")
    spans = sorted((r.get("start", 0), r.get("start", 0) + r["count"]) for r in runs)
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        sys.exit(f"error: the runs to merge overlap (face ranges {spans}): give each slice its own --start")

    merged = dict(first)
    merged["count"] = sum(r["count"] for r in runs)
    merged["slices"] = spans
    for key in ("per_face", "residual", "extra_scores"):  # nested dicts of per-face lists
        merged[key] = _cat_lists([r[key] for r in runs])
    n = merged["count"]
    sec = {k: sum(r["seconds"][k] * r["count"] for r in runs) / n for k in ("inversion_per_face", "vlda_per_face")}
    phases = {k for r in runs for k in r["seconds"]["vlda_per_phase_total"]}
    totals = [r["seconds"]["vlda_per_phase_total"] for r in runs]
    sec["vlda_per_phase_total"] = {k: sum(t.get(k, 0.0) for t in totals) for k in sorted(phases)}
    merged["seconds"] = sec
    return merged


def report(outs: list[Path]) -> None:
    """Print the tables of the runs in ``outs`` (one table over all of them; see :func:`_concat`)."""
    results = _concat([_scored(o) for o in outs])
    rows, res, count = results["per_face"], results["residual"], results["count"]
    extra = results["extra_scores"]
    cartoon = results["cartoon_generator"] is not None
    side_unit = 1e-2
    print(f"{results['machine']}; trainer device {results['device']}")
    start = results.get("start", 0)
    faces = ", ".join(f"{a}-{b - 1}" for a, b in _joined(results.get("slices", [(start, start + count)])))
    print(f"VLDA on {'cartoon' if cartoon else 'photo'} generator, {count} faces (seed {results['seed']}, faces "
          f"{faces}), truth: {results['truth_domain']}; discriminator: {results['discriminator']}; perceptual "
          f"weight {results.get('perc_weight', 0.5)}; schedule {results['schedule']}")  # fmt: skip
    print("\n| depth | SIDE (x1e-2) | MAD (deg) |\n|---|---|---|")
    for k, r in (("flat plane", extra["full"]["flat"]), *((k, rows[k]) for k in ("prior", "stage1", "final"))):
        print(f"| {k} | {_stat([v / side_unit for v in r['side']])} | {_stat(r['mad'])} |")
    wins = sum(f < p for f, p in zip(rows["final"]["side"], rows["prior"]["side"]))
    print(f"\nfinal SIDE below the prior's on {wins} of {count} faces")
    half = extra["half"]
    print("\nat half resolution (2x2-averaged depth and masks):\n\n| depth | SIDE (x1e-2) | MAD (deg) |\n|---|---|---|")
    for k in ("flat", "prior", "final"):
        print(f"| {k} | {_stat([v / side_unit for v in half[k]['side']])} | {_stat(half[k]['mad'])} |")
    l1, perc = (f"{_stat(res[k])} (start {_stat(res[k + '_start'])})" for k in ("l1", "perceptual"))
    print(f"\ninversion residual ({results['projection_steps']} steps): L1 {l1}, perceptual {perc}")
    sec = results["seconds"]
    phases = ", ".join(f"{k} {v / count:.1f} s" for k, v in sec["vlda_per_phase_total"].items())
    print(f"wall time per face: inversion {sec['inversion_per_face']:.1f} s, VLDA {sec['vlda_per_face']:.1f} s "
          f"({phases})")  # fmt: skip
    per_image = list(sec.get("vlda_per_image", {}).values())
    if per_image:
        print(f"VLDA per face, median [interquartile range] over faces: {Spread(tuple(per_image)).text(fmt='.3g')} s")
    if len(outs) == 1:
        print(f"wrote {outs[0] / 'results.json'}")


def _disc_arch(g: torch.nn.Module) -> dict:
    """The discriminator widths matching a StyleGAN2 generator's (the layout the GAN was trained with)."""
    return {
        "size": g.size,
        "channel_multiplier": g.channel_multiplier,
        "channel_max": g.channel_max,
        "channel_base": g.channel_base,
    }


if __name__ == "__main__":
    main()
