"""``python -m toonlift.stages.vlda.invert_synthetic``: ground truth for VLDA on a GAN trained on the synthetic world.

    python -m toonlift.stages.vlda.invert_synthetic --generator g_photo.safetensors --count 20 --seed 7000 \\
        --truth-domain cartoon --cartoon-generator g_cartoon.safetensors --out outputs/vlda_gt

Projects ``count`` synthetic faces of world ``seed`` (photo renders) into the photo generator and writes
``latents.safetensors`` and ``ground_truth.safetensors`` for VLDA's ``latents:`` / ``ground_truth:`` options, plus
``targets.png`` and ``targets.json`` (residuals). See ``docs/stage3.md``, "Ground truth from the synthetic world".
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from toonlift.errors import ToonliftError
from toonlift.synthetic.render import DOMAINS
from toonlift.utils.output_dirs import check_writable_folder
from toonlift.utils.threads import apply_threads


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m toonlift.stages.vlda.invert_synthetic",
        description=(
            "Invert synthetic faces with known depth into a StyleGAN2 generator's W space and write VLDA's latents "
            "and ground-truth files."
        ),
    )
    p.add_argument("--generator", required=True, help="generator the targets are projected into (.safetensors + .json)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--count", type=int, default=20, help="number of faces (default 20)")
    p.add_argument("--seed", type=int, default=7000, help="synthetic world seed (the GAN trained on seed 0)")
    p.add_argument("--first", type=int, default=0, help="index of the first sample")
    p.add_argument("--truth-domain", default="photo", choices=DOMAINS, help="domain of the ground-truth depth")
    p.add_argument("--target-domain", default="photo", choices=DOMAINS, help="domain of the projection targets")
    p.add_argument("--steps", type=int, default=200, help="projection steps (default 200)")
    p.add_argument(
        "--mask-region", default="face", choices=("face", "head"), help="ground-truth foreground (default face)"
    )
    p.add_argument("--gt-size", type=int, default=None, help="side of the ground truth = VLDA image_size")
    p.add_argument("--mse", type=float, default=1.0, help="weight of the pixel MSE next to the perceptual term")
    p.add_argument("--lr", type=float, default=0.1, help="projector peak learning rate")
    p.add_argument("--batch", type=int, default=8, help="faces projected together")
    p.add_argument(
        "--cartoon-generator",
        default=None,
        help="cartoon generator fine-tuned from --generator: writes cartoon.png (cartoon render | G_c(w) | depth) "
        "and its residual against the cartoon renders",
    )
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument(
        "--threads", type=int, default=0, help="CPU threads of torch (default 0: the free cores, see utils/threads.py)"
    )
    return p


def _check_file(path: str, what: str) -> None:
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"{what} not found: '{p}' (give a toonlift .safetensors export with its .json)")


@torch.no_grad()
def cartoon_check(cartoon_g: torch.nn.Module, targets, out: Path) -> dict:  # noqa: ANN001 - SyntheticTargets
    """Render ``G_c(w)`` against the cartoon renders of the same parameters; write ``cartoon.png``."""
    from toonlift.stages.vlda.synthetic_truth import depth_preview, render_samples
    from toonlift.utils.images import make_grid, save_image

    if cartoon_g.w_dim != targets.w.shape[1]:
        raise ToonliftError(
            f"--cartoon-generator has w_dim {cartoon_g.w_dim} but the photo generator {targets.w.shape[1]}: it must be "
            "fine-tuned from the photo generator."
        )
    dev = cartoon_g.input.input.device
    image = cartoon_g.eval().synthesis(targets.w.to(dev), noise_mode="const").image.cpu()
    render = render_samples(targets.seed, targets.indices, "cartoon", image.shape[-1])
    preview = depth_preview(render["depth"], render["mask"], image.shape[-1])
    rows = torch.stack([render["image"], image.clamp(-1, 1), preview], 1).flatten(0, 1)
    save_image(make_grid(rows, nrow=3), out / "cartoon.png")
    return {"cartoon_l1": (image - render["image"]).abs().mean((1, 2, 3)).tolist()}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    apply_threads(args.threads)
    try:
        from toonlift.plugins.stylegan2 import load_generator
        from toonlift.stages.vlda.synthetic_truth import invert_synthetic_faces, save_targets

        _check_file(args.generator, "--generator")
        if args.cartoon_generator is not None:
            _check_file(args.cartoon_generator, "--cartoon-generator")
        check_writable_folder(args.out, "output folder (--out)")  # before the projections, not after
        generator = load_generator(args.generator).to(args.device)
        start = time.perf_counter()
        targets = invert_synthetic_faces(
            generator, args.count, args.seed, args.truth_domain, args.target_domain, args.steps,
            device=args.device, gt_size=args.gt_size, mse=args.mse, lr=args.lr, batch_size=args.batch,
            first=args.first, mask_region=args.mask_region,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        extra = {"generator": str(args.generator), "steps": args.steps, "seconds": round(seconds, 2)}
        out = Path(args.out)
        if args.cartoon_generator is not None:
            extra["cartoon_generator"] = str(args.cartoon_generator)
            extra.update(cartoon_check(load_generator(args.cartoon_generator).to(args.device), targets, out))
        paths = save_targets(targets, out, extra)
    except (ToonliftError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    res = targets.residual
    l1, l1_start = sum(res["l1"]) / len(res["l1"]), sum(res["l1_start"]) / len(res["l1_start"])
    print(
        f"inverted {args.count} faces in {seconds:.1f} s: mean L1 {l1:.4f} (from {l1_start:.4f} at the mean w); "
        f"wrote {', '.join(str(p) for p in paths.values())}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
