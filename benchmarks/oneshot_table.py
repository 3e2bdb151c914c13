"""One-shot 3D-aware stylisation scored against the true stylised views (issue 22; 004's Table 2 protocol).

Exemplar = the world's ink (and cartoon) render of face ``--exemplar-face`` at yaw ``--exemplar-yaw``; inputs = the
frontal photo renders of ``--faces`` other faces (seed 7000); truth = the world's ink/cartoon renders of those faces at
the 7 yaws in [-36, 36] degrees, each with its exact camera. Methods:

* ``your3demoji``: JoJoGAN 2D branch + PTI into EG3D + dual branch (Eq. 5); ``--lambdas`` adds rows with other
  (λ1, λ2), each costing only its dual branch;
* ``artmator``: anchor + directional and spatial fine-tune; each input inverted into the original, rendered by the copy;
* ``pti``: baseline "PTI alone": the 2D branch's stylised input lifted into EG3D by PTI (latent, then generator);
* ``dironly``: 3DArtmator with the directional loss only (lambda_spa = 0; stage 1 shared with ``artmator``);
* ``frame2d``: the 2D branch applied per frame (each true photo view projected and stylised; no 3D).

Columns (views other than the input's; scores in ``oneshot_scores.py``): analyser-perceptual distance, PSNR, SSIM on
the face crop; far side = perceptual on the views opposite the exemplar's yaw; relief = depth relief of the rendered
views over the true toon depth's; identity = analyser identity cosine to the truth; expression kept = analyser
jaw-open change for the same edit (+2 along the jaw boundary fitted in the original generator) on the stylised
generator over the photo one; diversity (first face) = mean pairwise perceptual distance of ``--diversity`` random
latents, photo generator -> stylised; seconds = what one avatar costs alone (shared parts counted in full).

Cost: what does not depend on the exemplar is done once per face and reused by every style and method: the photo's
2D projection (the 7 views in one batched optimisation; the frontal one is the input's), its 3D inversion (the same
function and settings in Your3dEmoji and 3DArtmator, so one latent serves both) and PTI's tuning to the photo. Truths
are rendered once per face and style. Records are appended to ``--out`` (JSON lines) after each face, so an
interrupted run resumes where it stopped; each face prints its wall time (all styles and methods).

    python benchmarks/oneshot_table.py --generator g_eg3d.safetensors --faces 20 --steps-scale 0.25
    python benchmarks/oneshot_table.py --generator g.safetensors --faces 2 --steps-scale 0.1 --styles ink
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import torch
from oneshot_scores import Scorer, diversity, jaw_change, relief_ratio
from protocol import report_header

from toonlift.plugins.export import load_model
from toonlift.stages.artmator.pipeline import Artmator, ArtmatorSettings
from toonlift.stages.offsets.evaluation import analyser_readout
from toonlift.stages.stylise.edits import fit_edit_normals
from toonlift.stages.stylise.inputs import world_views
from toonlift.stages.stylise.outputs import BENCH_YAWS, render_conds
from toonlift.stages.your3demoji.pipeline import InputInversion, Your3dEmoji, Your3dEmojiSettings, invert_3d
from toonlift.utils.threads import apply_threads

ASSETS = Path(__file__).resolve().parents[1] / "toonlift" / "assets"
METHODS = ("your3demoji", "artmator", "pti", "dironly", "frame2d")
USES_2D = {"your3demoji", "pti", "frame2d"}


def scaled(cls: type, scale: float, **extra: object) -> object:
    """Settings with every ``*_steps`` field multiplied by ``scale`` (at least 1)."""
    base = cls(**extra)
    steps = {f.name: max(1, round(getattr(base, f.name) * scale)) for f in dataclasses.fields(cls) if "steps" in f.name}
    return dataclasses.replace(base, **steps)


def sweep_name(l1: float, l2: float) -> str:
    return f"your3demoji[{l1:g},{l2:g}]"


@dataclasses.dataclass
class Prepared:
    """One style's prepared methods and what preparing each costs alone (seconds)."""

    y3: Your3dEmoji | None = None
    art: Artmator | None = None
    dironly: Artmator | None = None
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)


def prepare_style(a: argparse.Namespace, style: str, g3, g2, d2, dist, need: set[str]) -> Prepared:  # noqa: ANN001
    """JoJoGAN's fine-tune and 3DArtmator's two stages on this style's exemplar (only those ``need`` asks for)."""
    exemplar = world_views([a.exemplar_face], style, [a.exemplar_yaw], g3.resolution)[0]
    p = Prepared()
    if need & USES_2D or any(m.startswith("your3demoji[") for m in need):
        t0 = time.perf_counter()
        p.y3 = Your3dEmoji(g2, d2, g3, dist, scaled(Your3dEmojiSettings, a.steps_scale))
        p.y3.prepare(exemplar.image)
        p.seconds.update(dict.fromkeys([*USES_2D, *(sweep_name(*lam) for lam in a.lambdas)], time.perf_counter() - t0))
    if "artmator" in need:
        p.art = Artmator(g3, dist, scaled(ArtmatorSettings, a.steps_scale))
        p.art.prepare(exemplar.image, exemplar.cond)
        p.seconds["artmator"] = sum(p.art.seconds.values())
    if "dironly" in need:  # the "w/o L_spa" ablation: its stage 1 is artmator's (same artwork, camera, settings)
        p.dironly = Artmator(g3, dist, scaled(ArtmatorSettings, a.steps_scale, lambda_spa=0.0))
        p.dironly.prepare(exemplar.image, exemplar.cond, p.art.anchor if p.art is not None else None)
        anchor_s = p.art.seconds["anchor"] if p.art is not None else p.dironly.seconds["anchor"]
        p.seconds["dironly"] = anchor_s + p.dironly.seconds["stylise"]
    return p


def load_done(path: Path) -> dict[tuple, dict]:
    if not path.is_file():
        return {}
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return {(r["style"], r["method"], r["face"]): r for r in rows}


def append(path: Path, rows: list[dict]) -> None:
    with path.open("a") as f:
        f.writelines(json.dumps(row) + "\n" for row in rows)


class Face:
    """The exemplar-independent work on one input face, done on first use and then reused."""

    def __init__(self, face: int, g3, size: int) -> None:  # noqa: ANN001
        self.photo = world_views([face], "photo", BENCH_YAWS, size)
        self.inp = self.photo[BENCH_YAWS.index(0.0)]
        self.g3, self.seconds = g3, {}
        self._w2d: torch.Tensor | None = None
        self._ws: torch.Tensor | None = None
        self._inv = None

    def w2d_all(self, y3: Your3dEmoji) -> torch.Tensor:
        """W+ of the 7 photo views in the 2D generator ``[7, L, D]`` (one batched projection)."""
        if self._w2d is None:
            t0 = time.perf_counter()
            self._w2d = y3.project_2d(torch.cat([v.image for v in self.photo]))
            self.seconds["project_2d_7"] = time.perf_counter() - t0
        return self._w2d

    def ws(self, y3: Your3dEmoji | None, art: Artmator | None) -> torch.Tensor:
        """The input's latent in the original 3D generator (one inversion for both methods: same settings)."""
        if self._ws is None:
            s = (y3 or art).s
            t0 = time.perf_counter()
            self._ws, _ = invert_3d(self.g3, self.inp.image, self.inp.cond, (y3 or art).distance, s.invert_steps,
                                    s.invert_lr, s.seed)  # fmt: skip
            self.seconds["invert_3d"] = time.perf_counter() - t0
        return self._ws

    def inversion(self, y3: Your3dEmoji):  # noqa: ANN201
        """Your3dEmoji's :class:`InputInversion` (the frontal 2D latent, the 3D latent, the PTI-tuned generator)."""
        if self._inv is None:
            w2d = self.w2d_all(y3)[BENCH_YAWS.index(0.0)][None]
            ws = self.ws(y3, None)
            t0 = time.perf_counter()
            tuned, hist = y3.tune(ws, self.inp.image, self.inp.cond)
            self.seconds["pti_tune"] = time.perf_counter() - t0
            pti_s = self.seconds["invert_3d"] + self.seconds["pti_tune"]
            self._inv = InputInversion(w2d, ws, tuned, self.inp.cond, {"pti": hist},
                                       {"project_2d": self.seconds["project_2d_7"], "pti": pti_s})  # fmt: skip
        return self._inv


def same_inversion(y3: Your3dEmoji | None, art: Artmator | None) -> None:
    """Refuse to share one 3D inversion between methods whose inversion settings differ."""
    if y3 is not None and art is not None:
        a, b = y3.s, art.s
        if (a.invert_steps, a.invert_lr, a.seed) != (b.invert_steps, b.invert_lr, b.seed):
            raise SystemExit("oneshot_table: Your3dEmoji's and 3DArtmator's input inversions differ; align them.")


def run_face(a, face: int, preps: dict[str, Prepared], g3, normals, done, scorer: Scorer) -> list[dict]:  # noqa: ANN001, C901, PLR0912
    """Every (style, method) record of one face not already ``done``."""
    read, names = analyser_readout(None)[1:]
    jaw, normal = names.index("expr_jaw_open"), normals["expr_jaw_open"]
    far = [i for i, y in enumerate(BENCH_YAWS) if y * a.exemplar_yaw < 0]
    scored = [i for i, y in enumerate(BENCH_YAWS) if y != 0.0]  # the input's own view (yaw 0) is not scored
    f = Face(face, g3, g3.resolution)
    inp, rows, photo_jaw, divs = f.inp, [], {}, {}
    for style, p in preps.items():
        truth = world_views([face], style, BENCH_YAWS, g3.resolution)
        true_img = torch.cat([v.image for v in truth])
        true_depth, true_mask = torch.cat([v.depth for v in truth]), torch.cat([v.mask for v in truth])
        conds = torch.cat([v.cond for v in truth])
        todo = [m for m in a.all_methods if (style, m, face) not in done]
        same_inversion(p.y3, p.art or p.dironly)
        results: dict[str, tuple] = {}  # name -> (stylised G, photo G, ws, own seconds, shared keys)
        for name in todo:
            t0 = time.perf_counter()
            if name.startswith("your3demoji"):
                lam = a.lambdas[[sweep_name(*x) for x in a.lambdas].index(name)] if "[" in name else (None, None)
                av = p.y3.avatar(inp.image, inp.cond, f.inversion(p.y3), *lam)
                results[name] = (av.generator, av.photo_generator, av.ws, av.seconds["dual"],
                                 ("project_2d_7", "invert_3d", "pti_tune"))  # fmt: skip
            elif name == "pti":
                w2d = f.w2d_all(p.y3)[BENCH_YAWS.index(0.0)][None]
                styl = p.y3.stylise_2d(None, w2d)[1]
                ws_p, g_p, _ = p.y3.pti(styl, inp.cond)
                results[name] = (g_p, g3, ws_p, time.perf_counter() - t0, ("project_2d_7",))
            elif name in ("artmator", "dironly"):
                m = p.art if name == "artmator" else p.dironly
                ws = f.ws(p.y3, m)
                results[name] = (m.g_trn, g3, ws, 0.0, ("invert_3d",))
            elif name == "frame2d":
                frames = p.y3.stylise_2d(None, f.w2d_all(p.y3))[1]
                frames = torch.nn.functional.interpolate(frames, size=true_img.shape[-1], mode="bilinear",
                                                         antialias=True)  # fmt: skip
                own = time.perf_counter() - t0
                row = {"style": style, "method": name, "face": face, **scorer.summary(frames, true_img, scored, far),
                       "seconds": own + f.seconds["project_2d_7"], "prepare_s": p.seconds[name]}  # fmt: skip
                rows.append(row)
        for name, (g_styl, g_photo, ws, own, shared) in results.items():
            img, depth, mask = render_conds(g_styl, ws, conds)
            key = (id(g_photo), id(ws))  # the photo side repeats across styles and 3DArtmator's variants
            if key not in photo_jaw:  # the objects are kept in the value, so their ids are not reused meanwhile
                photo_jaw[key] = (g_photo, ws, jaw_change(g_photo, ws, normal, inp.cond, read, jaw))
            kept = jaw_change(g_styl, ws, normal, inp.cond, read, jaw) / (photo_jaw[key][2] or 1e-6)
            row = {"style": style, "method": name, "face": face, **scorer.summary(img, true_img, scored, far),
                   "relief": relief_ratio(depth, mask, true_depth, true_mask), "expr_kept": kept,
                   "seconds": own + sum(f.seconds[k] for k in shared), "prepare_s": p.seconds[name]}  # fmt: skip
            if face == a.first_face:
                for key, g in (("diversity_photo", g_photo), ("diversity_stylised", g_styl)):
                    if id(g) not in divs:  # the original generator is every 3DArtmator variant's photo side
                        divs[id(g)] = (g, diversity(g, a.diversity, scorer.perc))
                    row[key] = divs[id(g)][1]
            rows.append(row)
    return rows


def table(rows: list[dict], methods: list[str]) -> None:
    keys = ["perceptual", "psnr", "ssim", "far_perceptual", "relief", "identity", "expr_kept", "seconds"]
    print("| style | method | faces | perceptual ↓ | PSNR ↑ | SSIM ↑ | far-side perc. ↓ | relief (1 = true) "
          "| identity ↑ | expression kept | diversity photo → stylised | s per avatar (+ prepare) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for style in sorted({r["style"] for r in rows}):
        for m in methods:
            rs = [r for r in rows if r["style"] == style and r["method"] == m and r["face"] >= 0]
            if not rs:
                continue
            cells = []
            for k in keys:
                vals = [r[k] for r in rs if k in r]
                cells.append(f"{statistics.median(vals):.3f}" if vals else "–")
            cells[-1] = f"{cells[-1]} (+{rs[0]['prepare_s']:.0f})"
            div = [r for r in rs if "diversity_photo" in r]
            cells.insert(-1, f"{div[0]['diversity_photo']:.4f} → {div[0]['diversity_stylised']:.4f}" if div else "–")
            print(f"| {style} | {m} | {len(rs)} | " + " | ".join(cells) + " |")


def step_counts(a: argparse.Namespace) -> tuple[int, int]:
    """``(prepare steps, steps per face)``: the optimisation steps (each one forward and backward of a generator) of
    this run's settings, styles and methods, after the reuse (a cost model: multiply by the seconds per step)."""
    y3, art = scaled(Your3dEmojiSettings, a.steps_scale), scaled(ArtmatorSettings, a.steps_scale)
    m, n_styles, n_sweep = set(a.methods), len(a.styles), len(a.lambdas)
    uses_2d = bool(m & USES_2D) or n_sweep > 0
    emoji_3d = "your3demoji" in m or n_sweep > 0
    prepare = (y3.project_steps + y3.finetune_steps) * uses_2d
    prepare += art.anchor_steps * bool(m & {"artmator", "dironly"}) + art.style_steps * len(m & {"artmator", "dironly"})
    face = y3.project_steps * uses_2d  # the 7 photo views in one batch
    face += art.invert_steps * bool(emoji_3d or m & {"artmator", "dironly"}) + y3.pti_steps * emoji_3d
    per_style = y3.dual_steps * (("your3demoji" in m) + n_sweep) + (y3.invert_steps + y3.pti_steps) * ("pti" in m)
    return prepare * n_styles, face + per_style * n_styles


def parse_lambdas(items: list[str]) -> list[tuple[float, float]]:
    out = []
    for item in items:
        try:
            l1, l2 = (float(x) for x in item.split(","))
        except ValueError:
            raise SystemExit(f"--lambdas: give pairs LAMBDA_EXEMPLAR,LAMBDA_2D such as 0,1; got '{item}'.") from None
        out.append((l1, l2))
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--generator",
        default=str(ASSETS / "synthetic_eg3d_lite_g.safetensors"),
        help="EG3D export with the world's cameras (default: the shipped EG3D-lite)",
    )
    p.add_argument("--generator-2d", default=str(ASSETS / "synthetic_photo_g.safetensors"))
    p.add_argument("--discriminator-2d", default=str(ASSETS / "synthetic_photo_d.safetensors"))
    p.add_argument("--faces", type=int, default=20, help="input faces (the faces after the exemplar's)")
    p.add_argument("--exemplar-face", type=int, default=0)
    p.add_argument("--exemplar-yaw", type=float, default=30.0)
    p.add_argument("--styles", nargs="+", default=["ink", "cartoon"], choices=["ink", "cartoon"])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--lambdas", nargs="*", default=[], help="extra Your3dEmoji rows: LAMBDA_EXEMPLAR,LAMBDA_2D pairs")
    p.add_argument("--steps-scale", type=float, default=1.0, help="multiplies every optimisation's step count")
    p.add_argument("--crop", type=float, default=0.75, help="face crop: central fraction of the image side")
    p.add_argument("--diversity", type=int, default=32, help="latents for the diversity measure (first face)")
    p.add_argument("--edit-samples", type=int, default=200, help="latents for the jaw-open boundary")
    p.add_argument("--out", type=Path, default=Path("oneshot_table.jsonl"), help="records (appended; resumes)")
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args(argv)
    if a.faces < 1 or a.steps_scale <= 0 or a.diversity < 2:
        raise SystemExit("oneshot_table: needs --faces >= 1, --steps-scale > 0 and --diversity >= 2.")
    a.lambdas = parse_lambdas(a.lambdas)
    a.all_methods = list(a.methods) + [sweep_name(*lam) for lam in a.lambdas]
    apply_threads(a.threads)
    print(report_header())
    start = time.perf_counter()
    g3 = load_model(a.generator, kind="backbones").eval()
    g2 = load_model(a.generator_2d, kind="backbones").eval()
    d2 = load_model(a.discriminator_2d, kind="discriminators").eval()
    normals, acc = fit_edit_normals(g3, ("expr_jaw_open",), num=a.edit_samples)
    print(f"{a.faces} faces, exemplar face {a.exemplar_face} at {a.exemplar_yaw} deg, steps x{a.steps_scale}; "
          f"jaw boundary held-out accuracy {acc['expr_jaw_open']:.3f}", flush=True)  # fmt: skip
    done = load_done(a.out)
    scorer = Scorer(a.crop)
    faces = list(range(a.exemplar_face + 1, a.exemplar_face + 1 + a.faces))
    a.first_face = faces[0]
    prep_steps, face_steps = step_counts(a)
    print(f"optimisation steps: {prep_steps} to prepare, {face_steps} per face ({face_steps * a.faces} for "
          f"{a.faces} faces)", flush=True)  # fmt: skip
    preps = {}
    for style in a.styles:
        need = {m for m in a.all_methods for f in faces if (style, m, f) not in done}
        t0, c0 = time.perf_counter(), time.process_time()
        preps[style] = prepare_style(a, style, g3, g2, d2, scorer.perc.distance, need)
        print(f"prepared {style} in {time.perf_counter() - t0:.0f} s ({time.process_time() - c0:.0f} s CPU): "
              + ", ".join(f"{k} {v:.0f} s" for k, v in preps[style].seconds.items()), flush=True)  # fmt: skip
    per_face = []
    for face in faces:
        if all((style, m, face) in done for style in a.styles for m in a.all_methods):
            continue  # resumed: this face is complete
        t0, c0 = time.perf_counter(), time.process_time()
        rows = run_face(a, face, preps, g3, normals, done, scorer)
        append(a.out, rows)
        done.update({(r["style"], r["method"], r["face"]): r for r in rows})
        if rows:  # CPU time: what the face costs on a machine shared with other work (all threads summed)
            per_face.append((time.perf_counter() - t0, time.process_time() - c0))
            left = statistics.median(x[0] for x in per_face) * (faces[-1] - face)
            print(f"  face {face}: {per_face[-1][0]:.1f} s ({per_face[-1][1]:.1f} s CPU; {len(rows)} records); "
                  f"about {left / 60:.0f} min left", flush=True)  # fmt: skip
    table(list(load_done(a.out).values()), a.all_methods)
    if per_face:
        wall, cpu = (statistics.median(x) for x in zip(*per_face, strict=True))
        print(f"per face (all styles and methods): median {wall:.1f} s, {cpu:.1f} s CPU, over {len(per_face)} faces")
    print(f"elapsed {time.perf_counter() - start:.1f} s (one run)")


if __name__ == "__main__":
    main()
