"""One-shot 3D-aware stylisation scored against the true stylised views (issue 22; 004's Table 2 protocol).

Exemplar = the world's ink (and cartoon) render of face ``--exemplar-face`` at yaw ``--exemplar-yaw``; inputs = the
frontal photo renders of ``--faces`` other faces (seed 7000); truth = the world's ink/cartoon renders of those faces at
the 7 yaws in [-36, 36] degrees, each with its exact camera. Methods:

* ``your3demoji``: JoJoGAN 2D branch + PTI into EG3D + dual branch (Eq. 5);
* ``artmator``: anchor + directional and spatial fine-tune; each input inverted into the original, rendered by the copy;
* ``pti``: baseline "PTI alone": the 2D branch's stylised input lifted into EG3D by PTI (latent, then generator);
* ``dironly``: 3DArtmator with the directional loss only (lambda_spa = 0);
* ``frame2d``: the 2D branch applied per frame (each true photo view projected and stylised; no 3D).

Columns (views other than the input's, face crop = the central ``--crop`` of the image): analyser-perceptual distance
(LPIPS's recipe on the synthetic analyser; not LPIPS), PSNR and SSIM (torchmetrics, images in [0, 1]); far side =
perceptual on the views opposite the exemplar's yaw; relief = depth relief (q95 - q05 in the mask) of the rendered
views over the true toon depth's; identity = cosine of the analyser's identity embedding to the truth; expression
kept = analyser jaw-open change for the same edit (+2 along the jaw boundary fitted in the original generator) on
the stylised generator over the photo one; diversity = mean pairwise perceptual distance of ``--diversity`` random
latents (photo generator -> stylised). Records are appended to ``--out`` (JSON lines) after each avatar, so an
interrupted run resumes where it stopped.

    python benchmarks/oneshot_table.py --generator g_eg3d.safetensors --faces 20
    python benchmarks/oneshot_table.py --generator g.safetensors --faces 2 --steps-scale 0.25 --styles ink
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import torch
from protocol import report_header
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from toonlift.functional.oneshot import depth_relief, pairwise_mean
from toonlift.plugins.eg3d.inversion import invert
from toonlift.plugins.export import load_model
from toonlift.plugins.identity.synthetic_analyser import SyntheticAnalyserIdentityEncoder
from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss
from toonlift.stages.artmator.pipeline import Artmator, ArtmatorSettings
from toonlift.stages.offsets.evaluation import analyser_readout
from toonlift.stages.stylise.edits import fit_edit_normals
from toonlift.stages.stylise.inputs import world_views
from toonlift.stages.stylise.outputs import BENCH_YAWS, render_conds
from toonlift.stages.your3demoji.pipeline import DistanceAdapter, Your3dEmoji, Your3dEmojiSettings
from toonlift.utils.threads import apply_threads

ASSETS = Path(__file__).resolve().parents[1] / "toonlift" / "assets"
METHODS = ("your3demoji", "artmator", "pti", "dironly", "frame2d")


def scaled(cls: type, scale: float, **extra: object) -> object:
    """Settings with every ``*_steps`` field multiplied by ``scale`` (at least 1)."""
    base = cls(**extra)
    steps = {f.name: max(1, round(getattr(base, f.name) * scale)) for f in dataclasses.fields(cls) if "steps" in f.name}
    return dataclasses.replace(base, **steps)


def crop(x: torch.Tensor, frac: float) -> torch.Tensor:
    s = x.shape[-1]
    m = round(s * (1 - frac) / 2)
    return x[..., m : s - m, m : s - m]


class Scorer:
    """The image, depth and identity scores of rendered views against true views."""

    def __init__(self, frac: float) -> None:
        self.frac = frac
        self.perc = AnalyserPerceptualLoss().eval()
        self.ident = SyntheticAnalyserIdentityEncoder().eval()

    @torch.no_grad()
    def images(self, pred: torch.Tensor, true: torch.Tensor) -> dict[str, list[float]]:
        p, t = crop(pred, self.frac), crop(true, self.frac)
        p01, t01 = (p.clamp(-1, 1) + 1) / 2, (t + 1) / 2
        idc = torch.nn.functional.cosine_similarity(self.ident(pred.clamp(-1, 1)), self.ident(true), dim=1)
        pairs = list(zip(p01[:, None], t01[:, None], strict=True))
        return {
            "perceptual": self.perc.distance(p, t).tolist(),
            "psnr": [float(peak_signal_noise_ratio(a, b, data_range=1.0)) for a, b in pairs],
            "ssim": [float(structural_similarity_index_measure(a, b, data_range=1.0)) for a, b in pairs],
            "identity": idc.tolist(),
        }


def relief_ratio(depth: torch.Tensor, mask: torch.Tensor, truth: list) -> float:
    true = torch.tensor([float(depth_relief(v.depth, v.mask)[0]) for v in truth])
    return float((depth_relief(depth, mask) / true.clamp_min(1e-6)).mean())


@torch.no_grad()
def jaw_change(g, ws: torch.Tensor, normal: torch.Tensor, cond: torch.Tensor, read, jaw: int, d: float = 2.0) -> float:
    both = torch.cat([ws, ws + d * normal.view(1, 1, -1).to(ws)])
    return float(read(g.synthesis(both, cond.expand(2, -1), noise_mode="const").image)[:, jaw].diff()[0])


@torch.no_grad()
def diversity(g, n: int, perc: AnalyserPerceptualLoss) -> float:
    ws = g.mapping(g.sample_z(n, generator=torch.Generator().manual_seed(123)), g.default_cond(n))
    img = g.synthesis(ws, g.default_cond(n), noise_mode="const").image
    d = torch.stack([perc.distance(img[i : i + 1].expand_as(img), img) for i in range(n)])
    return float(pairwise_mean(d))


def load_done(path: Path) -> dict[tuple, dict]:
    if not path.is_file():
        return {}
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return {(r["style"], r["method"], r["face"]): r for r in rows}


def append(path: Path, row: dict) -> None:
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def run_style(a: argparse.Namespace, style: str, g3, g2, d2, normals, done: dict, scorer: Scorer) -> None:
    perc = scorer.perc
    dist = perc.distance
    read = analyser_readout(None)[1]
    jaw = analyser_readout(None)[2].index("expr_jaw_open")
    exemplar = world_views([a.exemplar_face], style, [a.exemplar_yaw], g3.resolution)[0]
    faces = [f for f in range(a.exemplar_face + 1, a.exemplar_face + 1 + a.faces)]
    far = [i for i, y in enumerate(BENCH_YAWS) if y * a.exemplar_yaw < 0]
    scored = [i for i, y in enumerate(BENCH_YAWS) if y != 0.0]  # the input's own view (yaw 0) is not scored
    need = {m for m in a.methods for f in faces if (style, m, f) not in done}
    y3 = art = dironly = None
    prep: dict[str, float] = {}
    if need & {"your3demoji", "pti", "frame2d"}:
        t0 = time.perf_counter()
        y3 = Your3dEmoji(g2, d2, g3, dist, scaled(Your3dEmojiSettings, a.steps_scale))
        y3.prepare(exemplar.image)
        prep["your3demoji"] = prep["pti"] = prep["frame2d"] = time.perf_counter() - t0
    for name, spa in (("artmator", 1.0), ("dironly", 0.0)):
        if name in need:
            t0 = time.perf_counter()
            m = Artmator(g3, dist, scaled(ArtmatorSettings, a.steps_scale, lambda_spa=spa))
            m.prepare(exemplar.image, exemplar.cond)
            prep[name] = time.perf_counter() - t0
            art, dironly = (m, dironly) if name == "artmator" else (art, m)
            row = {"style": style, "method": name, "face": -1, "diversity_photo": diversity(g3, a.diversity, perc),
                   "diversity_stylised": diversity(m.g_trn, a.diversity, perc), "prepare_s": prep[name]}  # fmt: skip
            append(a.out, row)
    for face in faces:
        photo = world_views([face], "photo", BENCH_YAWS, g3.resolution)
        truth = world_views([face], style, BENCH_YAWS, g3.resolution)
        inp = photo[BENCH_YAWS.index(0.0)]
        conds = torch.cat([v.cond for v in truth])
        true_img = torch.cat([v.image for v in truth])
        results: dict[str, tuple] = {}
        t0 = time.perf_counter()
        if y3 is not None and {"your3demoji", "pti"} & need:
            av = y3.avatar(inp.image, inp.cond)
            results["your3demoji"] = (av.generator, av.photo_generator, av.ws, time.perf_counter() - t0)
            t1 = time.perf_counter()
            ws_p, g_p, _ = y3.pti(av.stylised_2d, inp.cond)
            results["pti"] = (g_p, g3, ws_p, time.perf_counter() - t1)
        if art is not None or dironly is not None:
            t1 = time.perf_counter()
            s = (art or dironly).s
            inv = invert(g3, inp.image, inp.cond, steps=s.invert_steps, lr=s.invert_lr, lpips=DistanceAdapter(dist),
                         n_mean_latent=2000, generator=torch.Generator().manual_seed(s.seed))  # fmt: skip
            for name, m in (("artmator", art), ("dironly", dironly)):
                if m is not None:
                    results[name] = (m.g_trn, g3, inv.ws, time.perf_counter() - t1)
        for name, (g_styl, g_photo, ws, secs) in results.items():
            if (style, name, face) in done or name not in a.methods:
                continue
            img, depth, mask = render_conds(g_styl, ws, conds)
            sc = scorer.images(img[scored], true_img[scored])
            far_sc = scorer.images(img[far], true_img[far])["perceptual"]
            row = {"style": style, "method": name, "face": face, **{k: statistics.mean(v) for k, v in sc.items()},
                   "far_perceptual": statistics.mean(far_sc), "relief": relief_ratio(depth, mask, truth),
                   "expr_kept": jaw_change(g_styl, ws, normals["expr_jaw_open"], inp.cond, read, jaw)
                   / (jaw_change(g_photo, ws, normals["expr_jaw_open"], inp.cond, read, jaw) or 1e-6),
                   "seconds": secs, "prepare_s": prep.get(name, 0.0)}  # fmt: skip
            append(a.out, row)
            done[(style, name, face)] = row
        if y3 is not None and "frame2d" in a.methods and (style, "frame2d", face) not in done:
            t1 = time.perf_counter()
            frames = torch.cat([y3.stylise_2d(v.image)[1] for v in photo])
            frames = torch.nn.functional.interpolate(frames, size=true_img.shape[-1], mode="bilinear", antialias=True)
            sc = scorer.images(frames[scored], true_img[scored])
            row = {"style": style, "method": "frame2d", "face": face, **{k: statistics.mean(v) for k, v in sc.items()},
                   "far_perceptual": statistics.mean(scorer.images(frames[far], true_img[far])["perceptual"]),
                   "seconds": time.perf_counter() - t1, "prepare_s": prep["frame2d"]}  # fmt: skip
            append(a.out, row)
            done[(style, "frame2d", face)] = row
        print(f"  {style} face {face}: {time.perf_counter() - t0:.0f} s", flush=True)


def table(rows: list[dict]) -> None:
    keys = ["perceptual", "psnr", "ssim", "far_perceptual", "relief", "identity", "expr_kept", "seconds"]
    print("| style | method | faces | perceptual ↓ | PSNR ↑ | SSIM ↑ | far-side perc. ↓ | relief (1 = true) "
          "| identity ↑ | expression kept | s per avatar (+ prepare) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for style in sorted({r["style"] for r in rows}):
        for m in METHODS:
            rs = [r for r in rows if r["style"] == style and r["method"] == m and r["face"] >= 0]
            if not rs:
                continue
            cells = []
            for k in keys:
                vals = [r[k] for r in rs if k in r]
                cells.append(f"{statistics.median(vals):.3f}" if vals else "–")
            cells[-1] = f"{cells[-1]} (+{rs[0]['prepare_s']:.0f})"
            print(f"| {style} | {m} | {len(rs)} | " + " | ".join(cells) + " |")
    for r in rows:
        if r["face"] < 0:
            print(f"diversity {r['style']} {r['method']}: photo {r['diversity_photo']:.4f} -> stylised "
                  f"{r['diversity_stylised']:.4f}")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--generator", required=True, help="EG3D export (the world-camera EG3D-lite)")
    p.add_argument("--generator-2d", default=str(ASSETS / "synthetic_photo_g.safetensors"))
    p.add_argument("--discriminator-2d", default=str(ASSETS / "synthetic_photo_d.safetensors"))
    p.add_argument("--faces", type=int, default=20)
    p.add_argument("--exemplar-face", type=int, default=0)
    p.add_argument("--exemplar-yaw", type=float, default=30.0)
    p.add_argument("--styles", nargs="+", default=["ink", "cartoon"])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--steps-scale", type=float, default=1.0, help="multiplies every optimisation's step count")
    p.add_argument("--crop", type=float, default=0.75, help="face crop: central fraction of the image side")
    p.add_argument("--diversity", type=int, default=32, help="latents for the diversity measure")
    p.add_argument("--edit-samples", type=int, default=200, help="latents for the jaw-open boundary")
    p.add_argument("--out", type=Path, default=Path("oneshot_table.jsonl"), help="records (appended; resumes)")
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    apply_threads(a.threads)
    print(report_header())
    start = time.perf_counter()
    g3 = load_model(a.generator, kind="backbones").eval()
    g2 = load_model(a.generator_2d, kind="backbones").eval()
    d2 = load_model(a.discriminator_2d, kind="discriminators").eval()
    normals, acc = fit_edit_normals(g3, ("expr_jaw_open",), num=a.edit_samples)
    print(f"{a.faces} faces, exemplar face {a.exemplar_face} at {a.exemplar_yaw} deg, steps x{a.steps_scale}; "
          f"jaw boundary held-out accuracy {acc['expr_jaw_open']:.3f}")  # fmt: skip
    done = load_done(a.out)
    scorer = Scorer(a.crop)
    for style in a.styles:
        run_style(a, style, g3, g2, d2, normals, done, scorer)
    table(list(load_done(a.out).values()))
    print(f"elapsed {time.perf_counter() - start:.1f} s (one run)")


if __name__ == "__main__":
    main()
