"""StyleFaceUV (seed 003): does F_3D's coefficient R² on inverted faces move with more ``(w, f)`` pairs?

    python -m toonlift.stages.styleuv.build_pairs --inverted 64 --chunk 4 --random 2000 --out outputs/styleuv_more
    OMP_NUM_THREADS=1 python benchmarks/bench_styleuv_pairs.py --pairs outputs/styleuv_more --test-faces 16 \\
        --inverted-counts 6,16,32,48 --random-counts 0,2000 --mlp-steps 1500

The last ``--test-faces`` inverted world faces are held out; for every number of inverted training faces (the
first ones, with their true latents), every number of analyser-labelled random codes (the first ones) and every
``--inverted-fractions`` value (``uniform``: all codes drawn alike; ``F``: that share of each MLP batch, and of the
ridge baseline's sample weight, from the inverted faces), F_3D (the MLP) and the ridge baseline are fitted on those
pairs and scored (R² per group, in the standard units of all non-held-out inverted faces, the same for every row)
against the held-out faces' true latents.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from protocol import report_header

from toonlift.stages.styleuv.assets import load_photo_generator
from toonlift.stages.styleuv.coeff_mlp import CoeffMLP, RidgeCoeff, fit_coeff_mlp
from toonlift.stages.styleuv.evaluate_parts import GROUPS, coefficient_r2
from toonlift.stages.styleuv.pairs import load_pairs


def counts(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def fractions(text: str) -> list[float | None]:
    """``"uniform,0.25,0.5"`` -> ``[None, 0.25, 0.5]``."""
    return [None if x.strip() == "uniform" else float(x) for x in text.split(",") if x.strip()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pairs", required=True)
    p.add_argument("--test-faces", type=int, default=16)
    p.add_argument("--inverted-counts", default="6,16,32,48")
    p.add_argument("--random-counts", default="0,2000")
    p.add_argument("--inverted-fractions", default="uniform", help="e.g. uniform,0.25,0.5 (see above)")
    p.add_argument("--mlp-steps", type=int, default=1500)
    p.add_argument("--no-mlp", action="store_true", help="only the ridge baseline (seconds instead of minutes)")
    a = p.parse_args()
    print(report_header())
    folder = Path(a.pairs)
    inv, rnd = load_pairs(folder / "pairs_inverted.safetensors"), load_pairs(folder / "pairs_random.safetensors")
    g = load_photo_generator()
    pool = len(inv) - a.test_faces
    w_te, y_te = inv.w_plus[pool:], inv.latent[pool:]
    std = inv.latent[:pool].std(0).clamp_min(1e-6)
    print(
        f"held-out: inverted faces {pool}..{len(inv) - 1} of world seed {inv.seed}; training pool {pool} inverted "
        f"faces, {len(rnd)} random codes"
    )
    names = list(GROUPS)
    print("| inverted | random | inverted fraction | model | " + " | ".join(names) + " | seconds |")
    rows = []
    for n_rnd in counts(a.random_counts):
        for n_inv in counts(a.inverted_counts):
            if n_inv > pool or n_rnd > len(rnd) or n_inv + n_rnd < 4:
                continue
            w = torch.cat([inv.w_plus[:n_inv], rnd.w_plus[:n_rnd]])
            y = torch.cat([inv.latent[:n_inv], rnd.latent[:n_rnd]])
            for frac in fractions(a.inverted_fractions):
                if frac is not None and (n_rnd == 0 or n_inv == 0):
                    continue  # one kind of code only: oversampling is the uniform row
                over = {"inverted": n_inv, "inverted_fraction": frac}
                models = [("ridge", RidgeCoeff().fit(w, y, **over), 0.0)]
                if not a.no_mlp:
                    mlp = CoeffMLP(g.num_ws, g.w_dim)
                    sec = fit_coeff_mlp(mlp, w, y, steps=a.mlp_steps, seed=0, **over).seconds
                    models.insert(0, ("MLP", mlp, sec))
                label_f = "uniform" if frac is None else f"{frac:g}"
                with torch.no_grad():
                    for label, model, sec in models:
                        r2 = coefficient_r2(model(w_te), y_te, std)
                        rows.append({"inverted": n_inv, "random": n_rnd, "fraction": frac, "model": label, **r2})
                        print(
                            f"| {n_inv} | {n_rnd} | {label_f} | {label} | "
                            + " | ".join(f"{r2[k]:.3f}" for k in names) + f" | {sec:.0f} |",
                            flush=True,
                        )  # fmt: skip
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
