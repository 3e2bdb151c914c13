"""FID/KID of the shipped synthetic-world generators and their 8x8 sample grids (BENCHMARKS.md, README).

    python benchmarks/eval_generators.py --samples 2048 --grids docs/images
    python benchmarks/eval_generators.py --quick        # 128 samples: a check that it runs (FID is biased there)

FID/KID are computed in the synthetic face analyser's feature space against fresh renders of each domain (seed
90000, never used in training); they compare generators with each other, not with published Inception figures.
The photo-to-cartoon distance is the analyser-perceptual stand-in for LPIPS (VGG weights are not available offline).
This is an accuracy evaluation, not a speed benchmark: the elapsed time is one run, printed with the machine line of
``benchmarks/protocol.py`` (threads stated) for scale only.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from protocol import report_header

from toonlift.demo.assets import load_shipped
from toonlift.metrics.synthetic_world import generator_fid_kid, paired_perceptual_distance
from toonlift.plugins.stylegan2 import StyleGAN2Backbone, load_generator
from toonlift.utils.images import save_grid
from toonlift.utils.threads import apply_threads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2048, help="generated and real images per FID/KID")
    ap.add_argument("--photo", default=None, help="photo generator (default: the shipped one)")
    ap.add_argument("--cartoon", default=None, help="cartoon generator (default: the shipped one)")
    ap.add_argument("--grids", default=None, help="folder for the 8x8 sample grids (truncation 0.7, seeds 0..63)")
    ap.add_argument("--out", default="outputs/eval_generators.json")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default 0: the free cores)")
    ap.add_argument("--quick", action="store_true", help="128 samples per side")
    args = ap.parse_args()
    if args.quick:
        args.samples = 128
    apply_threads(args.threads)
    machine = report_header()
    print(machine)
    photo = load_generator(args.photo).eval() if args.photo else load_shipped("photo")
    cartoon = load_generator(args.cartoon).eval() if args.cartoon else load_shipped("cartoon")
    n = args.samples
    t0 = time.perf_counter()
    random_g = StyleGAN2Backbone(**photo.arch_args()).eval()
    rows = {
        "photo G vs photo world": generator_fid_kid(photo, "photo", n),
        "cartoon G vs cartoon world": generator_fid_kid(cartoon, "cartoon", n),
        "photo G vs cartoon world": generator_fid_kid(photo, "cartoon", n),
        "cartoon G vs photo world": generator_fid_kid(cartoon, "photo", n),
        "random-init G vs photo world": generator_fid_kid(random_g, "photo", n),
    }
    perceptual = paired_perceptual_distance(photo, cartoon, min(n, 1024))
    seconds = time.perf_counter() - t0
    print(f"{n} samples per side; elapsed {seconds:.0f} s (one run, not a benchmark figure)\n")
    print("| generator vs real | FID | KID x1e3 |\n|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['fid']:.2f} | {r['kid_x1e3']:.2f} ± {r['kid_std_x1e3']:.2f} |")
    print(f"\nanalyser-perceptual distance photo G(w) vs cartoon G(w): {perceptual:.4f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"rows": rows, "perceptual": perceptual, "machine": machine}, indent=1))
    if args.grids:
        z = torch.stack([torch.randn(photo.z_dim, generator=torch.Generator().manual_seed(s)) for s in range(64)])
        centre = photo.mean_latent(4096, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            ws = photo.mapping(z, truncation=0.7, truncation_latent=centre)
            for name, g in (("photo", photo), ("cartoon", cartoon)):
                img = g.synthesis(ws, noise_mode="const").image.clamp(-1, 1)
                print("wrote", save_grid(img, Path(args.grids) / f"synthetic_{name}_generator_grid.png", nrow=8))


if __name__ == "__main__":
    main()
