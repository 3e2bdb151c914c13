"""StyleFaceUV (seed 003) on the shipped 64-px photo generator, scored against the synthetic world's truth.

    OMP_NUM_THREADS=1 python benchmarks/bench_styleuv.py --pairs outputs/styleuv \\
        --parts outputs/styleuv/parts.safetensors --uv outputs/styleuv/uv_generator.safetensors \\
        --uv-nosym outputs/styleuv_nosym/uv_generator.safetensors --train-faces 32

Held-out faces: the inverted world faces (seed of ``pairs_inverted``) after the first ``--train-faces`` (which
trained F_3D's albedo head). Printed:

1. coefficient R² per group (identity, expression, albedo, light, pose) of F_3D (MLP), the ridge baseline (refit
   here on the same codes) and the face analyser read off ``G(w)``, against the faces' true latents; the inversion
   residual beside (the truth is only as good as the inversion);
2. yaw control on fresh codes (from the parts file's sidecar, measured by ``train_parts``): achieved yaw against
   asked yaw over -45...45 (MAE, analyser and F_3D read-outs) and identity drift;
3. diffuse-map error on visible and hidden front texels, with the symmetric view (``--uv``) and without it
   (``--uv-nosym``), gain-corrected and raw;
4. SIDE / MAD of the displaced rig mesh against the true depth, beside the rig alone and a flat plane;
5. cost: labelling (from the pairs' logs), F_3D fit, per-latent inference (protocol timing).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import torch
from protocol import measure, report_header
from styleuv_args import styleuv_parser

from toonlift.stages.styleuv.assets import load_photo_generator
from toonlift.stages.styleuv.coeff_mlp import RidgeCoeff
from toonlift.stages.styleuv.evaluate_parts import coefficient_r2
from toonlift.stages.styleuv.evaluate_uv import depth_errors, diffuse_errors
from toonlift.stages.styleuv.pairs import analyser_pairs, load_pairs
from toonlift.stages.styleuv.parts import load_parts
from toonlift.stages.styleuv.train_parts import held_out_r2
from toonlift.stages.styleuv.uv_generator import load_uv_generator
from toonlift.stages.styleuv.uv_render import UVRigRenderer
from toonlift.stages.vlda.synthetic_truth import render_samples
from toonlift.synthetic.analyser import FaceAnalyser


def mean_iqr(x: torch.Tensor) -> str:
    v = sorted(x.tolist())
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    return f"{sum(v) / len(v):.4f} (median {q[1]:.4f} [{q[0]:.4f}, {q[2]:.4f}])"


def main() -> None:
    p = styleuv_parser(__doc__, max_faces=128)
    p.add_argument("--skip-uv", action="store_true", help="only the coefficient and yaw figures")
    a = p.parse_args()
    torch.set_grad_enabled(False)
    print(report_header())
    folder = Path(a.pairs)
    inv, rnd = load_pairs(folder / "pairs_inverted.safetensors"), load_pairs(folder / "pairs_random.safetensors")
    parts = load_parts(a.parts)
    generator, analyser = load_photo_generator(), FaceAnalyser.load()
    n = a.train_faces
    test = slice(n, min(len(inv), n + a.max_faces))
    w_te, y_te = inv.w_plus[test], inv.latent[test]
    indices = list(range(len(inv)))[test]
    print(
        f"held-out inverted faces: {len(w_te)} (world seed {inv.seed}, indices {indices[0]}..{indices[-1]}); "
        f"inversion residual L1 {mean_iqr(inv.residual[test])}"
    )

    # 1. coefficients; how far the inverted codes lie from the mapping's codes that F_3D mostly learnt from
    centre = rnd.w_plus[:, 0].mean(0)
    far_rnd = (rnd.w_plus[:, 0] - centre).norm(dim=1)
    far_inv = (w_te[:, 0] - centre).norm(dim=1)
    print(f"distance from the mean code: random codes {mean_iqr(far_rnd)}, held-out inverted codes {mean_iqr(far_inv)}")
    ridge = RidgeCoeff().fit(torch.cat([inv.w_plus[:n], rnd.w_plus]), torch.cat([inv.latent[:n], rnd.latent]))
    r2 = held_out_r2(generator, analyser, parts.coeff, ridge, w_te, y_te, inv.latent[:n])
    print("\ncoefficient R² (held-out, pooled per group in training-sd units)")
    groups = list(r2["mlp"])
    print("| model | " + " | ".join(groups) + " |")
    for name, row in r2.items():
        print(f"| {name} | " + " | ".join(f"{row[g]:.3f}" for g in groups) + " |")

    # 1b. the same models on fresh random codes against the analyser's labels (what F_3D was mostly trained on)
    fresh = analyser_pairs(generator, analyser, 512, seed=777)
    std = rnd.latent.std(0).clamp_min(1e-6)
    print("R² on 512 fresh random codes against the analyser's labels (no albedo labels):")
    for name, model in (("mlp", parts.coeff), ("ridge", ridge)):
        row = coefficient_r2(model(fresh.w_plus), fresh.latent, std)
        print(f"| {name} | " + " | ".join(f"{row[g]:.3f}" for g in groups if g != "albedo") + " |")

    # 2. yaw control
    yc = parts.metrics.get("yaw_control", {})
    if yc:
        print(f"\nyaw control ({parts.metrics['yaw']}):")
        for row in yc["rows"]:
            print(
                f"  asked {row['asked']:+.0f}: achieved {row['achieved_mean']:+.1f}, MAE analyser "
                f"{row['mae_analyser']:.1f}, F_3D {row['mae_mlp']:.1f}, identity drift {row['identity_drift']:.3f}"
            )
        print(
            f"  mean MAE analyser {yc['mae_analyser']:.2f}°, F_3D {yc['mae_mlp']:.2f}°; identity drift "
            f"{yc['identity_drift']:.3f} (two random faces: {yc['identity_spread']:.3f})"
        )

    # 3. + 4. UV maps and depth
    truth = render_samples(inv.seed, indices, "photo", generator.size, mask_region="face")
    latent = parts.coeff(w_te)
    print("\ndiffuse-map error (mean |pred - true| in [-1, 1] units; per-face gain fitted on visible texels)")
    for label, path in (("with symmetric view", a.uv), ("without", a.uv_nosym)):
        if path is None or a.skip_uv:
            continue
        model, meta = load_uv_generator(path)
        renderer = UVRigRenderer(generator.size, model.size, "low", float(meta.get("displacement_scale", 0.05)))
        diffuse, disp = model(w_te)
        e = diffuse_errors(renderer, y_te, diffuse)
        keep = e["hidden_texels"] >= 20
        print(
            f"  {label} ({Path(path).name}, iteration {meta.get('iteration')}): visible {mean_iqr(e['visible'])}, "
            f"hidden {mean_iqr(e['hidden'][keep])} on {int(keep.sum())} faces; raw visible "
            f"{float(e['visible_raw'].mean()):.4f}, hidden {float(e['hidden_raw'][keep].mean()):.4f}"
        )
        d = depth_errors(renderer, latent, disp, truth["depth"], truth["mask"])
        print(
            "  depth vs truth: "
            + "; ".join(
                f"{k} SIDE {float(v['side'].mean()):.4e} MAD {float(v['mad'].mean()):.2f}°" for k, v in d.items()
            )
        )
        t = measure(lambda m=model, r=renderer: r(parts.coeff(w_te[:1]), *m(w_te[:1]), visibility=False), repeats=5)
        print(f"  per-latent inference (F_3D + UV generator + 64-px render): {t.text(fmt='.3g')} s")

    # 5. costs recorded when the parts were trained
    m = parts.metrics
    print(
        f"\ncost: F_3D fit {m.get('mlp_seconds', float('nan')):.1f} s on {m.get('mlp_train_codes')} codes; yaw "
        f"SVM {m['yaw']['svm_seconds']:.2f} s, walk labels {m['yaw']['walk_seconds']:.1f} s, F_yaw fit "
        f"{m['yaw']['yaw_mlp_seconds']:.1f} s"
    )
    print(json.dumps({"train_faces": n, "test_faces": len(w_te)}))


if __name__ == "__main__":
    main()
