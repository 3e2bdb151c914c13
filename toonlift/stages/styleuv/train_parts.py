"""``python -m toonlift.stages.styleuv.train_parts``: fit ``F_3D``, the ridge baseline, ``d`` and ``F_yaw``.

    python -m toonlift.stages.styleuv.train_parts --pairs outputs/styleuv --out outputs/styleuv/parts.safetensors

Reads ``pairs_inverted.safetensors`` (true latents; the first ``--train-faces`` are trained on, the rest held
out and scored when there are any; ``benchmarks/bench_styleuv.py`` scores later ones) and
``pairs_random.safetensors`` (analyser labels) from ``--pairs``. Trains the coefficient MLP on the inverted training
faces plus the analyser-labelled codes (``--no-random``: the inverted faces alone), fits the ridge baseline on the
same codes (one fit per group, on the codes that carry it), the yaw SVM on the random codes, walks ``--walk`` codes
along ``d`` to label ``F_yaw``, scores yaw control on fresh codes, and prints and stores (in the parts file's
sidecar) the figures. ``--inverted-fraction F`` draws that share of every MLP batch from the inverted training faces
(and gives them that share of the ridge baseline's sample weight) instead of sampling all codes uniformly.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from jsonargparse import ActionConfigFile, ArgumentParser, Namespace

from toonlift.plugins.head_rig.latent import SLICES
from toonlift.stages.styleuv.assets import load_photo_generator
from toonlift.stages.styleuv.coeff_mlp import CoeffMLP, RidgeCoeff, fit_coeff_mlp
from toonlift.stages.styleuv.evaluate_parts import coefficient_r2, yaw_control
from toonlift.stages.styleuv.oversample import check_fraction
from toonlift.stages.styleuv.pairs import Pairs, analyser_latent, load_pairs
from toonlift.stages.styleuv.parts import StyleUVParts, load_parts, save_parts
from toonlift.stages.styleuv.yaw import YawStepMLP, fit_yaw_boundary, fit_yaw_mlp, steps_for_yaw, walk_yaw
from toonlift.synthetic.analyser import FaceAnalyser
from toonlift.utils.command_errors import run_reporting_errors

ASKED = (-45.0, -30.0, -15.0, 0.0, 15.0, 30.0, 45.0)


def train_yaw(generator, analyser, random: Pairs, walk: int, walk_steps: int, seed: int, walk_sd: float = 6.0):  # noqa: ANN001, ANN201
    """The yaw SVM on the random codes' analyser yaw, then line-searched labels for ``F_yaw`` (walks of
    ``± walk_sd`` standard deviations of the codes' projections on ``d``) and its fit."""
    w = random.w_plus[:, 0]
    yaw = random.latent[:, SLICES["pose"].start]
    t0 = time.perf_counter()
    fit = fit_yaw_boundary(w, yaw, fraction=0.02, seed=seed)
    t_svm = time.perf_counter() - t0
    d = fit.normal.float()
    spread = float((w @ d).std())
    steps = torch.linspace(-walk_sd * spread, walk_sd * spread, walk_steps)
    t0 = time.perf_counter()
    codes = w[:walk]
    curve = walk_yaw(generator, analyser, codes, d, steps)  # [N, K]
    t_walk = time.perf_counter() - t0
    asked = torch.arange(-50.0, 50.1, 5.0)
    s = steps_for_yaw(curve, steps, asked)  # [N, A]
    ok = ~torch.isnan(s)
    rows = ok.nonzero()
    model = YawStepMLP(w.shape[1])
    t_mlp = fit_yaw_mlp(model, codes[rows[:, 0]], asked[rows[:, 1]], s[ok], seed=seed)
    info = {
        "svm_val_accuracy": fit.val_accuracy,
        "svm_train": fit.num_train,
        "svm_seconds": t_svm,
        "walk_codes": walk,
        "walk_seconds": t_walk,
        "yaw_range_along_d": [float(curve[:, 0].mean()), float(curve[:, -1].mean())],
        "step_labels": int(ok.sum()),
        "yaw_mlp_seconds": t_mlp,
    }
    return d, model, info


@torch.no_grad()
def held_out_r2(generator, analyser, mlp, ridge, w_te, y_te, y_tr) -> dict:  # noqa: ANN001
    """R² per group on held-out inverted faces: the MLP, the ridge baseline and the analyser read off ``G(w)``."""
    std = y_tr.std(0).clamp_min(1e-6)
    read = analyser_latent(analyser, generator.synthesis(w_te, noise_mode="const").image)
    read[:, SLICES["albedo"]] = y_tr[:, SLICES["albedo"]].mean(0)  # the analyser reads no albedo: its mean
    return {
        "mlp": coefficient_r2(mlp(w_te), y_te, std),
        "ridge": coefficient_r2(ridge(w_te), y_te, std),
        "analyser_on_G(w)": coefficient_r2(read, y_te, std),
    }


def build_parser() -> ArgumentParser:
    """The command's options; ``--config FILE`` reads them from YAML (``configs/styleuv/parts.yaml``)."""
    p = ArgumentParser(prog="python -m toonlift.stages.styleuv.train_parts", description=__doc__)
    p.add_argument("--config", action=ActionConfigFile, help="YAML file of these options (keys with underscores)")
    p.add_argument("--pairs", required=True, help="folder with pairs_inverted/pairs_random.safetensors")
    p.add_argument("--out", required=True, help="parts file to write (.safetensors)")
    p.add_argument("--generator", default=None)
    p.add_argument("--train-faces", type=int, default=32, help="inverted faces trained on (the rest are held out)")
    p.add_argument("--yaw-test", type=int, default=48, help="fresh random codes for the yaw-control figures")
    p.add_argument("--mlp-steps", type=int, default=4000)
    p.add_argument("--no-random", action="store_true", help="train F_3D on the inverted faces only")
    p.add_argument(
        "--inverted-fraction", type=float, default=None,
        help="share of each F_3D batch (and of the ridge's sample weight) from the inverted faces (default: uniform)",
    )  # fmt: skip
    p.add_argument("--walk", type=int, default=200, help="codes walked along d to label F_yaw")
    p.add_argument("--walk-steps", type=int, default=13)
    p.add_argument("--walk-sd", type=float, default=6.0, help="walk range along d, in sd of the codes' projections")
    p.add_argument("--yaw-only", default=None, help="keep F_3D of this parts file; refit only d and F_yaw")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; a bad input or file is one ``toonlift: error:`` line and exit status 2."""
    a = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: _train(a))


def _train(a: Namespace) -> int:
    torch.manual_seed(a.seed)
    folder = Path(a.pairs)
    inv, rnd = load_pairs(folder / "pairs_inverted.safetensors"), load_pairs(folder / "pairs_random.safetensors")
    generator, analyser = load_photo_generator(a.generator), FaceAnalyser.load()
    n_train = min(a.train_faces, len(inv))
    check_fraction(n_train + (0 if a.no_random else len(rnd)), n_train, a.inverted_fraction)  # before the work
    w_tr, y_tr, w_te, y_te = inv.w_plus[:n_train], inv.latent[:n_train], inv.w_plus[n_train:], inv.latent[n_train:]
    metrics: dict = {"train_faces": n_train, "test_faces": len(inv) - n_train}

    w_fit = w_tr if a.no_random else torch.cat([w_tr, rnd.w_plus])
    y_fit = y_tr if a.no_random else torch.cat([y_tr, rnd.latent])
    if a.yaw_only:
        old = load_parts(a.yaw_only)
        mlp, metrics = old.coeff, {**old.metrics, "yaw_refit_of": str(a.yaw_only)}
    else:
        mlp = CoeffMLP(generator.num_ws, generator.w_dim)
        over = {"inverted": n_train, "inverted_fraction": a.inverted_fraction}
        log = fit_coeff_mlp(mlp, w_fit, y_fit, steps=a.mlp_steps, seed=a.seed, **over)
        ridge = RidgeCoeff().fit(w_fit, y_fit, **over)
        if len(w_te) >= 4:
            metrics["r2"] = held_out_r2(generator, analyser, mlp, ridge, w_te, y_te, y_tr)
        metrics.update(mlp_seconds=log.seconds, mlp_train_codes=len(w_fit), ridge_lambda=ridge.lams)
        metrics["inverted_fraction"] = a.inverted_fraction
    d, yaw_mlp, yaw_info = train_yaw(generator, analyser, rnd, a.walk, a.walk_steps, a.seed, a.walk_sd)
    metrics["yaw"] = yaw_info
    parts = StyleUVParts(mlp, d, yaw_mlp, metrics)
    z = torch.randn(a.yaw_test, generator.z_dim, generator=torch.Generator().manual_seed(10_000 + a.seed))
    metrics["yaw_control"] = yaw_control(generator, analyser, parts, generator.mapping(z), ASKED)
    save_parts(a.out, parts)
    print(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
