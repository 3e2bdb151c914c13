"""InterFaceGAN boundaries versus SeFa directions on a StyleGAN2 generator, read by the synthetic analyser.

For each target read-out (default: yaw, pitch, jaw_open, blink_left) the script samples ``--latents`` codes, fits the
linear SVM boundary on the top/bottom ``--fraction`` (held-out accuracy printed), and compares it with SeFa's
closed-form directions:

* ``|cos|`` between the boundary and each of the ``--top`` leading SeFa directions (the sign of a SeFa direction is
  arbitrary), and the best-aligned one;
* the read-out change per unit edit ``(r(G(w + d n)) - r(G(w - d n))) / 2d`` on ``--edit-latents`` fresh latents, for
  the boundary and for the best-aligned SeFa direction (signed towards the boundary), with the same ``d``.

An accuracy evaluation, not a speed benchmark: its elapsed time is one run, printed with the machine line.

    python benchmarks/boundaries_vs_sefa.py                # shipped 64-px photo generator, 1000 latents
    python benchmarks/boundaries_vs_sefa.py --latents 200 --edit-latents 8   # quick
"""

from __future__ import annotations

import argparse
import time

import torch
from protocol import report_header

from toonlift.functional.boundaries import edit_latents
from toonlift.plugins.export import load_model
from toonlift.stages.boundaries import fit_backbone_boundary
from toonlift.stages.offsets.directions import sefa_directions
from toonlift.stages.offsets.evaluation import analyser_readout
from toonlift.utils.threads import apply_threads


@torch.no_grad()
def change_per_unit(g, read, index: int, w: torch.Tensor, n: torch.Tensor, d: float) -> float:
    """Mean ``(r(G(w + d n)) - r(G(w - d n))) / 2d`` of read-out ``index`` over latents ``w [B, L, D]``."""
    lo, hi = edit_latents(w, n, torch.tensor([-d, d]))
    return float((read(g.synthesis(hi).image)[:, index] - read(g.synthesis(lo).image)[:, index]).mean() / (2 * d))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generator", default=None, help="toonlift .safetensors export (default: shipped photo G)")
    p.add_argument("--targets", nargs="+", default=["yaw", "pitch", "expr_jaw_open", "expr_blink_left"])
    p.add_argument("--latents", type=int, default=1000)
    p.add_argument("--fraction", type=float, default=0.1)
    p.add_argument("--top", type=int, default=8)
    p.add_argument("--edit-latents", type=int, default=32)
    p.add_argument("--distance", type=float, default=1.0)
    p.add_argument("--sefa-convention", default="rosinality")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    apply_threads(args.threads)
    print(report_header())
    start = time.perf_counter()
    if args.generator is None:
        from toonlift.demo.assets import shipped_path

        args.generator = str(shipped_path("photo", "generator"))
    g = load_model(args.generator, kind="backbones").eval()
    net, read, names = analyser_readout()
    net.eval()
    sefa = sefa_directions(g, args.sefa_convention)[:, : args.top]  # [D, K]
    w_edit = g.mapping(g.sample_z(args.edit_latents, generator=torch.Generator().manual_seed(12345)))
    print(f"generator {args.generator}; {args.latents} latents, fraction {args.fraction}, SeFa {args.sefa_convention}")
    top = args.top - 1
    print(
        f"| target | val acc | cos to SeFa 0..{top} | best SeFa (cos) | change/unit boundary | change/unit best SeFa |"
    )
    print("|---|---|---|---|---|---|")
    for target in args.targets:
        fit = fit_backbone_boundary(g, read, names, target, num=args.latents, fraction=args.fraction, seed=0)
        cos = sefa.t() @ fit.normal  # [K]
        best = int(cos.abs().argmax())
        sefa_dir = sefa[:, best] * cos[best].sign()
        idx = names.index(target)
        ours = change_per_unit(g, read, idx, w_edit, fit.normal, args.distance)
        theirs = change_per_unit(g, read, idx, w_edit, sefa_dir, args.distance)
        cos_txt = " ".join(f"{abs(float(c)):.2f}" for c in cos)
        print(
            f"| {target} | {fit.val_accuracy:.3f} | {cos_txt} | {best} ({abs(float(cos[best])):.3f}) | "
            f"{ours:+.4g} | {theirs:+.4g} |"
        )
    print(f"elapsed {time.perf_counter() - start:.1f} s (one run)")


if __name__ == "__main__":
    main()
