"""StyleFaceUV (seed 003): multi-view renders against the world's truth, FID/KID of pasted renders, and a check of
the symmetric view that trains the hidden half.

    OMP_NUM_THREADS=1 python benchmarks/bench_styleuv_views.py --pairs outputs/styleuv \\
        --parts outputs/styleuv/parts.safetensors --uv outputs/styleuv/uv_generator.safetensors \\
        --uv-nosym outputs/styleuv_nosym/uv_generator.safetensors --train-faces 6 --fid-samples 256

Held-out faces: the inverted world faces after the first ``--train-faces`` (as ``bench_styleuv.py``). Printed:

1. multi-view: every face turned to yaw -60...60 (pitch, roll 0) by each method, against the world's own render of
   the same face at that pose (over white outside the head): analyser-perceptual distance (lower is better),
   PSNR, SSIM. Methods: StyleFaceUV (rig of F_3D(w) + displacement + diffuse map, F_3D's light) with and without
   the symmetric view; the rig fit alone (F_3D(w) with the rig's albedo of F_3D's albedo code); ``G(w)`` as a
   turned flat card; and the rig at the *true* latent with the true albedo (the rig's own ceiling).
2. FID/KID (x1e3) in the analyser's feature space: renders at F_3D's pose pasted onto ``G(w)`` (the paper's
   metric) for fresh codes, against as many fresh world photo renders; ``G(w)`` itself beside (the floor).
3. the symmetric view on the held-out faces, against the truth the world knows: the yaw ``G(w_s)`` reaches
   (analyser) against the mirrored true yaw; ``G(w_s)`` against the world's render of the same face at the
   mirrored pose, beside ``G(w)`` against the face's own render (perceptual, PSNR); the share of the hidden front
   texels the symmetric view sees; and the colour it gives those texels (unwrapped through F_3D's rig) against the
   colour the world's mirrored render gives them (unwrapped through the true rig), beside the same for the
   original view on its visible texels.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch
from protocol import report_header
from styleuv_args import styleuv_parser

from toonlift.metrics.generative import GenerativeMetrics, scores_x1e3
from toonlift.plugins.features.synthetic_analyser import SyntheticAnalyserFeatureExtractor
from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss
from toonlift.stages.styleuv.assets import load_photo_generator
from toonlift.stages.styleuv.evaluate_uv import front_texels
from toonlift.stages.styleuv.evaluate_views import (
    YAW,
    plane_turned,
    rig_turned,
    unwrap_to_uv,
    view_scores,
    world_turned,
)
from toonlift.stages.styleuv.module import symmetric_latent
from toonlift.stages.styleuv.pairs import load_pairs
from toonlift.stages.styleuv.parts import load_parts
from toonlift.stages.styleuv.uv_generator import load_uv_generator
from toonlift.stages.styleuv.uv_render import UVRigRenderer
from toonlift.stages.styleuv.yaw import move_to_yaw
from toonlift.synthetic.analyser import FaceAnalyser
from toonlift.synthetic.dataset import SyntheticFaces
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params

YAWS = [-60.0, -45.0, -30.0, -15.0, 0.0, 15.0, 30.0, 45.0, 60.0]


def multiview(a: argparse.Namespace, g, parts, uvs: dict, w: torch.Tensor, true_lat, indices, seed) -> None:  # noqa: ANN001
    """Section 1: the turned views of every method against the world's."""
    renderer = UVRigRenderer(g.size, g.size, "low")
    truth = world_turned(seed, indices, YAWS, g.size)  # [F, V, 3, S, S]
    lat = parts.coeff(w)
    views = {}
    for name, (model, scale) in uvs.items():
        renderer.displacement_scale = scale
        diffuse, disp = model(w)
        views[f"StyleFaceUV {name}"] = rig_turned(renderer, lat, diffuse, disp, YAWS)
    views["rig fit alone (F_3D, rig albedo)"] = rig_turned(renderer, lat, renderer.true_diffuse(lat), None, YAWS)
    image = g.synthesis(w, noise_mode="const").image
    views["G(w) as a turned flat card"] = plane_turned(image, lat[:, YAW], YAWS)
    views["rig at the true latent (ceiling)"] = rig_turned(
        renderer, true_lat, renderer.true_diffuse(true_lat), None, YAWS
    )
    perceptual = AnalyserPerceptualLoss().eval()
    side = torch.tensor([abs(y) >= 45 for y in YAWS])
    print(f"\n1. multi-view, {len(w)} faces x {len(YAWS)} yaws {YAWS[0]:+.0f}..{YAWS[-1]:+.0f}")
    print("| method | perceptual | PSNR dB | SSIM | perceptual at abs(yaw) >= 45 | PSNR at abs(yaw) >= 45 |")
    per_yaw = {}
    for name, v in views.items():
        scores = view_scores(v.flatten(0, 1), truth.flatten(0, 1), perceptual)
        s = {k: x.view(len(w), len(YAWS)) for k, x in scores.items()}
        per_yaw[name] = [round(float(x), 3) for x in s["perceptual"].mean(0)]
        print(
            f"| {name} | {float(s['perceptual'].mean()):.3f} | {float(s['psnr'].mean()):.2f} | "
            f"{float(s['ssim'].mean()):.3f} | {float(s['perceptual'][:, side].mean()):.3f} | "
            f"{float(s['psnr'][:, side].mean()):.2f} |"
        )
    print("perceptual per yaw:", json.dumps(per_yaw))
    if a.save_grid:
        import torchvision.utils as vutils

        rows = torch.cat([truth[:2]] + [v[:2] for v in views.values()], 0)  # two faces per method
        vutils.save_image(rows.flatten(0, 1) * 0.5 + 0.5, a.save_grid, nrow=len(YAWS))
        print(f"grid (world, then each method; two faces each) -> {a.save_grid}")


def fid_kid(a: argparse.Namespace, g, parts, uvs: dict) -> None:  # noqa: ANN001
    """Section 2: FID/KID of renders pasted onto G(w), against fresh world photo renders."""
    n, batch = a.fid_samples, 32
    feats = SyntheticAnalyserFeatureExtractor().eval()
    renderer = UVRigRenderer(g.size, g.size, "low")
    subset = max(2, min(1000, n // 2))
    names = ["G(w) itself"] + [f"StyleFaceUV {k}" for k in uvs] + ["rig fit alone pasted"]
    metrics = {k: GenerativeMetrics(feats.num_features, kid_subset_size=subset, kid_subsets=50) for k in names}
    real = SyntheticFaces(domain="photo", resolution=g.size, num_samples=n, seed=90_000, outputs=("image",))
    gen = torch.Generator().manual_seed(90_001)
    for lo in range(0, n, batch):
        idx = list(range(lo, min(lo + batch, n)))
        real_f = feats(real.render(idx)["image"])
        w = g.mapping(torch.randn(len(idx), g.z_dim, generator=gen))
        image, lat = g.synthesis(w, noise_mode="const").image, parts.coeff(w)
        alone = renderer(lat, renderer.true_diffuse(lat), None, background=image, visibility=False).image
        fakes = {"G(w) itself": image, "rig fit alone pasted": alone}
        for k, (model, scale) in uvs.items():
            renderer.displacement_scale = scale
            fakes[f"StyleFaceUV {k}"] = renderer(lat, *model(w), background=image, visibility=False).image
        for k in names:
            metrics[k].update(real_f, real=True)
            metrics[k].update(feats(fakes[k].clamp(-1, 1)), real=False)
    print(f"\n2. FID / KID x1e3 (analyser features), {n} pasted renders vs {n} world photo renders (seed 90000)")
    print("| images | FID | KID x1e3 |")
    for k in names:
        s = scores_x1e3(metrics[k].compute())
        print(f"| {k} | {s['fid']:.2f} | {s['kid_x1e3']:.2f} ± {s['kid_std_x1e3']:.2f} |")


def symmetric_check(g, parts, analyser, w: torch.Tensor, true_lat, indices, seed) -> None:  # noqa: ANN001
    """Section 3: how good the symmetric view's image is, against the world's render at the mirrored pose."""
    renderer, perceptual = UVRigRenderer(g.size, g.size, "low"), AnalyserPerceptualLoss().eval()
    lat = parts.coeff(w)
    w_s = move_to_yaw(parts.yaw_step, w, parts.yaw_normal, -lat[:, YAW])
    image, image_s = g.synthesis(w, noise_mode="const").image, g.synthesis(w_s, noise_mode="const").image
    lat_s = symmetric_latent(lat, parts.coeff(w_s))
    params = sample_params(seed, indices)
    mirrored = params.pose.clone()
    mirrored[:, 0] = -mirrored[:, 0]
    world = FaceRenderer()
    own = world(params, "photo", g.size, ())["image"]
    mirror_true = world(dataclasses.replace(params, pose=mirrored), "photo", g.size, ())["image"]
    read, read_s = analyser(image), analyser(image_s)
    y_true = true_lat[:, YAW]
    print(f"\n3. the symmetric view on {len(w)} held-out faces (truth: the world's render at the mirrored pose)")
    print(
        f"  yaw: true {y_true.abs().mean():.1f} (mean abs); G(w) reads {read.pose[:, 0].abs().mean():.1f}; asked "
        f"-F_3D yaw; G(w_s) reads {read_s.pose[:, 0].abs().mean():.1f}; MAE of G(w_s)'s yaw to -true yaw "
        f"{(read_s.pose[:, 0] + y_true).abs().mean():.1f}°, F_3D(w_s) to -true yaw "
        f"{(lat_s[:, YAW] + y_true).abs().mean():.1f}°; identity drift (analyser L2) "
        f"{(read_s.identity - read.identity).norm(dim=1).mean():.3f}"
    )
    for label, x, t in (("G(w) vs own render", image, own), ("G(w_s) vs mirrored render", image_s, mirror_true)):
        s = view_scores(x, t, perceptual)
        print(f"  {label}: perceptual {s['perceptual'].mean():.3f}, PSNR {s['psnr'].mean():.2f} dB")
    # texels: what the hidden front is, and what each view says about the texels it sees
    truth_map = renderer.true_diffuse(true_lat)
    seen_true = renderer(true_lat, truth_map, None).texels
    hidden = front_texels(renderer, true_lat, truth_map) * (1 - seen_true)
    true_s = true_lat.clone()
    true_s[:, YAW] = -true_s[:, YAW]
    got, seen = unwrap_to_uv(renderer, lat, image)
    ref, _ = unwrap_to_uv(renderer, true_lat, own)
    got_s, seen_s = unwrap_to_uv(renderer, lat_s, image_s)
    ref_s, _ = unwrap_to_uv(renderer, true_s, mirror_true)

    def err(x: torch.Tensor, y: torch.Tensor, m: torch.Tensor) -> float:
        return float(((x - y).abs().mean(1, keepdim=True) * m).sum() / m.sum().clamp_min(1))

    vis = seen * seen_true
    hid = seen_s * hidden
    print(
        f"  hidden front texels per face {hidden.sum((1, 2, 3)).mean():.0f}; the symmetric view (F_3D(w_s)'s pose) "
        f"sees {float((hid.sum((1, 2, 3)) / hidden.sum((1, 2, 3)).clamp_min(1)).mean()):.2f} of them"
    )
    print(
        f"  unwrapped colour vs the world's (|diff| in [-1, 1]): original view on visible texels "
        f"{err(got, ref, vis):.3f}; symmetric view on the hidden texels it sees {err(got_s, ref_s, hid):.3f}; "
        f"the original view's colour, mirrored in u, on those texels {err(got.flip(-1), ref_s, hid):.3f}"
    )


def main() -> None:
    p = styleuv_parser(__doc__, max_faces=16)
    p.add_argument("--fid-samples", type=int, default=256)
    p.add_argument("--save-grid", default=None, help="PNG of the turned views (two faces per method)")
    a = p.parse_args()
    torch.set_grad_enabled(False)
    print(report_header())
    inv = load_pairs(Path(a.pairs) / "pairs_inverted.safetensors")
    parts, g, analyser = load_parts(a.parts), load_photo_generator(), FaceAnalyser.load()
    indices = list(range(len(inv)))[a.train_faces : a.train_faces + a.max_faces]
    w, true_lat = inv.w_plus[indices], inv.latent[indices]
    print(f"held-out inverted faces: {len(indices)} (world seed {inv.seed}, indices {indices[0]}..{indices[-1]})")
    uvs = {}
    for label, path in (("with symmetric view", a.uv), ("without", a.uv_nosym)):
        if path is not None:
            model, meta = load_uv_generator(path)
            uvs[f"{label} (it {meta.get('iteration')})"] = (model, float(meta.get("displacement_scale", 0.05)))
    multiview(a, g, parts, uvs, w, true_lat, indices, inv.seed)
    fid_kid(a, g, parts, uvs)
    symmetric_check(g, parts, analyser, w, true_lat, indices, inv.seed)


if __name__ == "__main__":
    main()
