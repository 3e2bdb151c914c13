"""Seed 002's tables on the synthetic world, scored in 2D and in 3D: coarse regressor vs gated fine stage.

    OMP_NUM_THREADS=1 python benchmarks/bench_rig_tables.py --faces 50 --out outputs/bench_rig_tables
    OMP_NUM_THREADS=1 python benchmarks/bench_rig_tables.py --faces 4 --domains photo --stage3 2 --out /tmp/smoke

``--faces`` unseen faces of world seed ``--seed`` (training used seeds 0 and 1) per domain (photo, cartoon, toon+),
rendered at 64 px (the regressor's input; low-detail mesh, the rig's topology), scored in **256-px units** (pixels
x 4). The detector is the world's truth (``synthetic_gt``). Methods:

* ``coarse``: the regressor (``--weights``, default the shipped ``toonlift/assets/rig_coarse_regressor``);
* ``fine (paper)``: Eq. 9-11 on the coarse fit, every anchor onto its landmark (``refine_to_landmarks``);
* ``fine (gated)``: ``refine_to_landmarks(..., **GATED)``: the coarse fit kept as it is when its mean landmark
  residual is <= 3 px (256-px units), else the paper's solve;
* ``re-fit exp`` / ``re-fit id+exp``: 002's Table 2 baselines (``refit_to_landmarks``).

Tables: landmark error per iBUG group (002's Table 1 layout); 3D error: face-vertex error in camera space and in
object space (head units x 110, about pixels at 256 px), SIDE (x1e-2) and MAD (degrees) of the depth map against the
world's on the face region (Unsup3d's masks), beside a flat plane (constant depth); photometric L1 (RGB in [0, 1],
inside the rendered x world head mask); coefficient R^2 per group (coarse); faces whose 3D errors the fine stage
made worse; time per face on this CPU (median [IQR] over faces). ``--stage3 N`` scores the first N of Stage 3's
benchmark faces (world seed 7000, photo renders, ``benchmarks/vlda_synthetic.py``) the same way. Each domain's
per-face results are stored in ``--out`` and reused (delete the file to recompute), so a long run can be resumed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from protocol import Spread, report_header  # noqa: E402

from toonlift.functional.camera import fov_to_intrinsics  # noqa: E402
from toonlift.functional.depth_metrics import depth_scores  # noqa: E402
from toonlift.plugins.head_rig.backbone import HeadRigBackbone, rig_camera_vertices  # noqa: E402
from toonlift.plugins.head_rig.latent import SLICES, split_latent  # noqa: E402
from toonlift.plugins.head_rig.prior import latent_from_params  # noqa: E402
from toonlift.plugins.landmarks.base import GROUPS  # noqa: E402
from toonlift.stages.rig_fit.module import pooled_r2  # noqa: E402
from toonlift.stages.rig_fit.refine import GATED, refine_to_landmarks  # noqa: E402
from toonlift.stages.rig_fit.refit import refit_to_landmarks  # noqa: E402
from toonlift.stages.rig_fit.regressor import load_coarse_regressor  # noqa: E402
from toonlift.synthetic.head_model import build_head_model  # noqa: E402
from toonlift.synthetic.layout import FACE_PARTS  # noqa: E402
from toonlift.synthetic.render import FOV_DEG, HEAD_SCALE, FaceRenderer  # noqa: E402
from toonlift.synthetic.sampler import sample_params  # noqa: E402

SIZE = 64
PX256 = 256 / SIZE
HU = 110.0  # head units -> about pixels at 256 px
METHODS = ("coarse", "fine (paper)", "fine (gated)", "re-fit exp", "re-fit id+exp")
TABLE1_GROUPS = ("eyes", "nose", "brow", "mouth", "contour")
R2_GROUPS = ("identity", "expression", "light", "pose")


def render_world(seed: int, count: int, domain: str) -> dict[str, torch.Tensor]:
    """World renders at 64 px with the rig's mesh, their true latents and camera-space vertices."""
    params = sample_params(seed, range(count))
    out = FaceRenderer(model=build_head_model("low"))(
        params, domain, SIZE, ("image", "landmarks", "mask", "depth", "parts")
    )
    out["face"] = torch.isin(out["parts"], out["parts"].new_tensor(FACE_PARTS)).float()
    out["latent"] = latent_from_params(params, domain)
    return out


def score_method(
    rig: HeadRigBackbone,
    world: dict,
    i: int,
    cam: Tensor,
    latent: Tensor,
    lm: Tensor,
    obj: Tensor,
) -> dict[str, float]:
    """Every per-face figure of one reconstruction: camera vertices ``[V, 3]``, its latent ``[53]`` (albedo, light,
    pose), landmarks ``[68, 2]`` and object vertices ``[V, 3]``."""
    true_lat = split_latent(world["latent"][i : i + 1])
    true_obj = rig.object_vertices(true_lat)[0]
    true_cam = rig_camera_vertices(true_obj[None], true_lat.pose)[0]
    face = (rig.head_model.vertex_kinds == 0) & (rig.mean[:, 2] > 0.2)
    image, depth, mask = rig.render_vertices(cam[None], latent[None])
    K = fov_to_intrinsics(FOV_DEG, SIZE)
    d = depth_scores(depth[:, 0], world["depth"][i : i + 1, 0], world["face"][i : i + 1], mask[:, 0], K)
    m = mask * world["mask"][i : i + 1]
    photo = float((((image - world["image"][i : i + 1]).abs() / 2).mean(1, keepdim=True) * m).sum() / m.sum())
    err = (lm - world["landmarks"][i]).norm(dim=-1) * PX256  # [68]
    out = {g: float(err[list(ix)].mean()) for g, ix in GROUPS.items()}
    out["total"] = float(err.mean())
    out["vertex_cam"] = float((cam - true_cam)[face].norm(dim=-1).mean()) * HU / HEAD_SCALE
    out["vertex_obj"] = float((obj - true_obj)[face].norm(dim=-1).mean()) * HU
    out.update(side=float(d["side"]) * 100, mad=float(d["mad"]), photo=photo)
    return out


@torch.no_grad()
def run_domain(regressor: torch.nn.Module, rig: HeadRigBackbone, world: dict) -> dict:
    """Per-face figures of every method, the coarse latents, and the times."""
    n = len(world["image"])
    t0 = time.perf_counter()
    coarse = regressor(world["image"])
    batch_s = (time.perf_counter() - t0) / n
    t_coarse = []
    for i in range(n):  # one face at a time, as a user would run it
        t = time.perf_counter()
        regressor(world["image"][i : i + 1])
        t_coarse.append(time.perf_counter() - t)
    with torch.enable_grad():
        refits = {
            "re-fit exp": refit_to_landmarks(rig, coarse, world["landmarks"], "expression"),
            "re-fit id+exp": refit_to_landmarks(rig, coarse, world["landmarks"], "identity+expression"),
        }
    rows: dict[str, list[dict]] = {m: [] for m in METHODS}
    t_fine: dict[str, list[float]] = {"fine (paper)": [], "fine (gated)": []}
    flat = []
    K = fov_to_intrinsics(FOV_DEG, SIZE)
    for i in range(n):
        lat = {"coarse": coarse[i], **{k: v[i] for k, v in refits.items()}}
        for key, lt in lat.items():
            s = split_latent(lt[None])
            obj = rig.object_vertices(s)[0]
            cam = rig_camera_vertices(obj[None], s.pose)[0]
            lm = rig.synthesis(lt[None]).landmarks[0]
            rows[key].append(score_method(rig, world, i, cam, lt, lm, obj))
        for key, kw in (("fine (paper)", {}), ("fine (gated)", GATED)):
            t = time.perf_counter()
            with torch.enable_grad():
                r = refine_to_landmarks(rig, coarse[i], world["landmarks"][i], **kw)
            t_fine[key].append(time.perf_counter() - t)
            lt = r.latent if r.latent is not None else coarse[i]
            row = score_method(rig, world, i, r.camera_vertices, lt, r.landmarks, r.object_vertices)
            row["gated"] = bool(r.gated)
            rows[key].append(row)
        plane = depth_scores(
            torch.ones(1, SIZE, SIZE),
            world["depth"][i : i + 1, 0],
            world["face"][i : i + 1],
            torch.ones(1, SIZE, SIZE),
            K,
        )
        flat.append({"side": float(plane["side"]) * 100, "mad": float(plane["mad"])})
    true = world["latent"]
    r2 = {}
    for g in R2_GROUPS:
        s = SLICES[g] if g != "pose" else slice(SLICES["pose"].start, SLICES["pose"].start + 3)
        r2[g] = float(pooled_r2(coarse[:, s], true[:, s]))
    times = {"coarse": t_coarse, "coarse (batched)": [batch_s], **t_fine}
    return {"rows": rows, "flat": flat, "r2": r2, "times": times}


def mean(rows: list[dict], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


def print_tables(name: str, res: dict) -> None:
    rows, flat = res["rows"], res["flat"]
    n = len(flat)
    print(f"\n### {name}: {n} faces (landmarks and vertex errors in 256-px units)\n")
    print("| method | eyes | nose | brow | mouth | contour | total | photometric L1 |")
    print("|---|---|---|---|---|---|---|---|")
    for m in METHODS:
        cells = " | ".join(f"{mean(rows[m], g):.2f}" for g in (*TABLE1_GROUPS, "total"))
        print(f"| {m} | {cells} | {mean(rows[m], 'photo'):.4f} |")
    print(
        "\n| depth / shape | vertex error, camera | vertex error, object | SIDE x1e-2 | MAD ° "
        "| worse than coarse (cam / obj / SIDE) |"
    )
    print("|---|---|---|---|---|---|")
    print(f"| flat plane | – | – | {mean(flat, 'side'):.3f} | {mean(flat, 'mad'):.1f} | |")
    base = rows["coarse"]
    for m in METHODS:
        worse = [sum(r[k] > b[k] + 1e-6 for r, b in zip(rows[m], base)) for k in ("vertex_cam", "vertex_obj", "side")]
        w = "" if m == "coarse" else f"{worse[0]} / {worse[1]} / {worse[2]} of {n}"
        print(
            f"| {m} | {mean(rows[m], 'vertex_cam'):.2f} | {mean(rows[m], 'vertex_obj'):.2f} | "
            f"{mean(rows[m], 'side'):.3f} | {mean(rows[m], 'mad'):.1f} | {w} |"
        )
    gated = sum(r.get("gated", False) for r in rows["fine (gated)"])
    if "r2" in res:
        r2 = ", ".join(f"{g} {v:.3f}" for g, v in res["r2"].items())
        print(f"\ncoarse R^2: {r2}; gate kept the coarse mesh on {gated} of {n} faces")
    t = {k: Spread(tuple(v)).text(1e3) for k, v in res["times"].items()}
    print(
        f"time per face (ms): coarse {t['coarse']} (batched {t['coarse (batched)']}), "
        f"fine (paper) {t['fine (paper)']}, fine (gated) {t['fine (gated)']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="regressor (.safetensors or a rig_fit .ckpt); default shipped")
    ap.add_argument("--faces", type=int, default=50)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--domains", nargs="+", default=["photo", "cartoon", "toon+"])
    ap.add_argument("--stage3", type=int, default=20, help="Stage 3's benchmark faces to score (0: none)")
    ap.add_argument("--out", default="outputs/bench_rig_tables")
    args = ap.parse_args()
    print(report_header())
    print(f"weights: {args.weights or 'shipped'}; world seed {args.seed}; gate {GATED}")
    regressor = load_coarse_regressor(args.weights)
    rig = HeadRigBackbone(image_size=SIZE, detail="low")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(d, args.seed, args.faces, d) for d in args.domains]
    if args.stage3:
        jobs.append(("stage3 photo (seed 7000)", 7000, args.stage3, "photo"))
    for name, seed, count, domain in jobs:
        path = out / f"{name.split(' ')[0].replace('+', 'plus')}_{seed}_{count}.json"
        if path.is_file():
            res = json.loads(path.read_text())
        else:
            res = run_domain(regressor, rig, render_world(seed, count, domain))
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(res))
            tmp.rename(path)
        print_tables(name, res)


if __name__ == "__main__":
    main()
