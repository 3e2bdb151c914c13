"""An EG3D generator measured on the synthetic world: FID/KID at world cameras, pose accuracy, multi-view identity
consistency and the depth of inverted Stage-3 benchmark faces (BENCHMARKS.md, docs/eg3d.md).

    python benchmarks/eval_eg3d.py --generator g_eg3d_lite.safetensors --threads 1          # the issue's sizes
    python benchmarks/eval_eg3d.py --generator g.safetensors --samples 256 --pose-samples 128 --identity-faces 8 \\
        --faces 4 --invert-steps 30 --out /tmp/eg3d_small                                   # a quick look

* **FID/KID** (the synthetic analyser's pooled features, fresh photo renders of seed 90000, as
  ``benchmarks/eval_generators.py``): ``--samples`` generated images, each at the exact camera of its real render,
  beside the shipped 2D photo generator (``--photo``; ``--photo none`` skips it) and, with ``--random-init``, a
  randomly initialised generator of the same architecture.
* **Pose accuracy**: the analyser's yaw and pitch of ``G(z, c)`` against the angles of ``c`` at the poses of
  ``--pose-samples`` world renders, beside the analyser's own error on those renders (the floor). Slope 1: the
  pose follows the camera; slope 0: it ignores it.
* **Identity consistency**: cosine similarity of identity embeddings (``--encoders``) of one face at yaws
  ``-max .. max`` to its frontal view, for ``--identity-faces`` generated faces and for the world's own renders of
  as many faces turned the same way; "other faces" is the similarity of different faces (what "same" must beat).
* **Geometry**: faces ``0 .. --faces - 1`` of world seed 7000 (the Stage-3 benchmark's, ``benchmarks/
  vlda_synthetic.py``) are inverted into W with their exact cameras (analyser-perceptual + pixel MSE,
  ``--invert-steps``) and the generator's depth (ray distance turned into camera depth) is scored with SIDE/MAD on
  the face mask against the renderer's depth, at the image size (depth resized) and at the neural resolution (truth
  block-averaged), beside a flat plane.

Each part's results go to ``--out``/results.json as soon as it ends; a rerun with the same settings skips finished
parts (so an interrupted run resumes) and prints every table it has. An accuracy evaluation: the seconds per part
are one run, for scale, with the machine line of ``benchmarks/protocol.py`` (threads stated).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import report_header  # noqa: E402

from toonlift.metrics.eg3d_world import (  # noqa: E402
    identity_consistency,
    inverted_depth_scores,
    pose_accuracy,
    yaw_grid,
)
from toonlift.metrics.synthetic_world import generator_fid_kid  # noqa: E402
from toonlift.plugins.eg3d.backbone import EG3DBackbone  # noqa: E402
from toonlift.utils.io import atomic_write_json  # noqa: E402
from toonlift.utils.threads import apply_threads  # noqa: E402

PARTS = ("fid", "pose", "identity", "geometry")
# Settings a part's stored result depends on (a rerun with other values redoes that part).
_PART_SETTINGS = {
    "fid": ("samples", "photo", "random_init"),
    "pose": ("pose_samples",),
    "identity": ("identity_faces", "yaw_max", "yaw_step", "encoders"),
    "geometry": ("faces", "face_seed", "invert_steps", "invert_lr", "invert_batch", "raw_mse"),
}


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generator", required=True, help="an eg3d export (.safetensors with its .json sidecar)")
    ap.add_argument("--samples", type=int, default=2048, help="generated and real images per FID/KID")
    ap.add_argument("--photo", default=None, help="2D photo generator to compare with (default: the shipped one; none)")
    ap.add_argument("--random-init", action="store_true", help="also score a random generator of this architecture")
    ap.add_argument("--pose-samples", type=int, default=512)
    ap.add_argument("--identity-faces", type=int, default=32)
    ap.add_argument("--yaw-max", type=float, default=30.0, help="largest yaw of the identity views (degrees)")
    ap.add_argument("--yaw-step", type=float, default=15.0)
    ap.add_argument("--encoders", nargs="+", default=["synthetic_analyser", "dlib_resnet"])
    ap.add_argument("--faces", type=int, default=20, help="Stage-3 benchmark faces to invert (0 skips geometry)")
    ap.add_argument("--face-seed", type=int, default=7000, help="world seed of those faces (Stage 3's: 7000)")
    ap.add_argument("--invert-steps", type=int, default=200)
    ap.add_argument("--invert-lr", type=float, default=0.05)
    ap.add_argument("--invert-batch", type=int, default=8)
    ap.add_argument("--raw-mse", type=float, default=0.0, help="weight of the neural render's MSE in the inversion")
    ap.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default 0: the free cores)")
    ap.add_argument("--out", default="outputs/eval_eg3d")
    args = ap.parse_args(argv)
    for name, least in (("samples", 2), ("pose_samples", 2), ("identity_faces", 2), ("invert_steps", 1),
                        ("invert_batch", 1), ("faces", 0)):  # fmt: skip
        if getattr(args, name) < least:
            ap.error(f"--{name.replace('_', '-')} must be at least {least}")
    return args


def _load_generator(path: str) -> EG3DBackbone:
    from toonlift.plugins.export import load_model

    if not Path(path).is_file():
        sys.exit(f"error: '{path}' not found (an eg3d export: .safetensors with its .json sidecar; "
                 "`toonlift export-generator CKPT OUT.safetensors` writes one from a training checkpoint)")  # fmt: skip
    g = load_model(path)
    if not isinstance(g, EG3DBackbone):
        sys.exit(f"error: '{path}' holds a {type(g).__name__}, not an eg3d generator")
    return g.eval().requires_grad_(False)


def run_fid(g: EG3DBackbone, args: argparse.Namespace) -> dict:
    rows = {"EG3D at world cameras": generator_fid_kid(g, "photo", args.samples, world_cameras=True)}
    if args.photo != "none":
        from toonlift.demo.assets import load_shipped
        from toonlift.plugins.stylegan2 import load_generator

        photo = load_generator(args.photo).eval() if args.photo else load_shipped("photo")
        rows["2D photo generator" + ("" if args.photo else " (shipped)")] = generator_fid_kid(
            photo, "photo", args.samples
        )
    if args.random_init:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            random_g = EG3DBackbone(**g.arch_args()).eval()
        rows["random-init EG3D at world cameras"] = generator_fid_kid(
            random_g, "photo", args.samples, world_cameras=True
        )
    return rows


def run_identity(g: EG3DBackbone, args: argparse.Namespace) -> dict:
    from toonlift.registry import REGISTRIES

    encoders = {name: REGISTRIES["identity_encoders"].build(name).eval() for name in args.encoders}
    return identity_consistency(g, encoders, args.identity_faces, yaw_grid(args.yaw_max, args.yaw_step))


def run_geometry(g: EG3DBackbone, args: argparse.Namespace) -> dict:
    from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss
    from toonlift.stages.vlda.synthetic_truth import render_samples

    faces = render_samples(args.face_seed, list(range(args.faces)), "photo", g.resolution, mask_region="face")
    return inverted_depth_scores(
        g, faces["image"], faces["pose"], faces["depth"], faces["mask"], args.invert_steps, lr=args.invert_lr,
        batch_size=args.invert_batch, lpips=AnalyserPerceptualLoss().eval(), raw_mse=args.raw_mse,
    )  # fmt: skip


def _stat(values: list[float], scale: float = 1.0, fmt: str = ".3f") -> str:
    v = [x * scale for x in values]
    spread = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.fmean(v):{fmt}} ± {spread:{fmt}}"


def report(results: dict) -> None:
    """Print the tables of every finished part of ``results`` (what ``results.json`` holds)."""
    print(results["machine"])
    print(f"generator: {results['generator']}")
    parts, s = results["parts"], results["settings"]
    if "fid" in parts:
        r = parts["fid"]
        print(f"\nFID/KID, analyser features, {s['samples']} samples per side, fresh photo renders (seed 90000), "
              f"{r['seconds']:.0f} s\n\n| generator vs photo world | FID | KID x1e3 |\n|---|---|---|")  # fmt: skip
        for name, row in r["rows"].items():
            print(f"| {name} | {row['fid']:.2f} | {row['kid_x1e3']:.2f} ± {row['kid_std_x1e3']:.2f} |")
    if "pose" in parts:
        r = parts["pose"]
        print(f"\npose accuracy at the poses of {s['pose_samples']} world renders (degrees), {r['seconds']:.0f} s\n\n"
              "| angle | read off | MAE | bias | slope | corr |\n|---|---|---|---|---|---|")  # fmt: skip
        for angle in ("yaw", "pitch"):
            for who, label in (("generator", "G(z, c)"), ("world", "world render (floor)")):
                e = r["rows"][who][angle]
                print(f"| {angle} | {label} | {e['mae']:.2f} | {e['bias']:+.2f} | {e['slope']:.3f} | {e['corr']:.3f} |")
    if "identity" in parts:
        r = parts["identity"]
        yaws = [c for c in next(iter(r["rows"]["generator"].values())) if c.startswith("yaw ")]
        cols = [*sorted(yaws, key=lambda c: float(c[4:])), "other faces"]  # JSON may have sorted the keys
        print(f"\nidentity consistency: cosine similarity to the frontal view, mean over {s['identity_faces']} faces, "
              f"{r['seconds']:.0f} s\n\n| encoder | faces | {' | '.join(cols)} |\n|---|---|"
              + "---|" * len(cols))  # fmt: skip
        for enc in r["rows"]["generator"]:
            for who in ("generator", "world"):
                print(f"| {enc} | {who} | " + " | ".join(f"{r['rows'][who][enc][c]:.3f}" for c in cols) + " |")
    if "geometry" in parts:
        r = parts["geometry"]["rows"]
        full, neural = s["image_size"], s["neural_resolution"]
        print(f"\ngeometry: {s['faces']} faces of world seed {s['face_seed']} inverted ({s['invert_steps']} steps), "
              f"face mask, mean ± std, {parts['geometry']['seconds']:.0f} s\n\n| depth | SIDE x1e-2 ({full} px) | MAD "
              f"({full} px) | SIDE x1e-2 ({neural} px) | MAD ({neural} px) |\n|---|---|---|---|---|")  # fmt: skip
        for who, label in (("generator", "EG3D depth of the inversion"), ("flat", "flat plane")):
            a, b = r[who]["full"], r[who]["neural"]
            print(f"| {label} | {_stat(a['side'], 100)} | {_stat(a['mad'], fmt='.1f')} | {_stat(b['side'], 100)} | "
                  f"{_stat(b['mad'], fmt='.1f')} |")  # fmt: skip
        wins = sum(x < y for x, y in zip(r["generator"]["full"]["side"], r["flat"]["full"]["side"]))
        print(f"\nEG3D SIDE below the flat plane's on {wins} of {s['faces']} faces; inversion residual L1 "
              f"{_stat(r['l1'])}; generator opacity on the face {_stat(r['mask'])}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    apply_threads(args.threads)
    g = _load_generator(args.generator)
    settings = {**vars(args), "image_size": g.resolution, "neural_resolution": g.neural_resolution}
    out = Path(args.out) / "results.json"
    results = json.loads(out.read_text()) if out.is_file() else {}
    if results.get("generator") != args.generator:
        results = {}
    old = results.get("settings", {})
    same = lambda k: all(old.get(a) == settings[a] for a in _PART_SETTINGS[k])  # noqa: E731
    parts = {k: v for k, v in results.get("parts", {}).items() if same(k)}
    results = {"machine": report_header(), "generator": args.generator, "settings": settings, "parts": parts}
    runners = {
        "fid": run_fid,
        "pose": lambda g, a: pose_accuracy(g, a.pose_samples),
        "identity": run_identity,
        "geometry": run_geometry,
    }
    for name in args.parts:
        if name in parts or (name == "geometry" and args.faces == 0):
            continue
        t0 = time.perf_counter()
        rows = runners[name](g, args)
        parts[name] = {"rows": rows, "seconds": time.perf_counter() - t0}
        atomic_write_json(out, results)
        print(f"{name} done in {parts[name]['seconds']:.0f} s", flush=True)
    report(results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
