"""Rig accuracy against the identity-aware truth: deformation transfer vs naive offsets on many faces (issue 19).

    OMP_NUM_THREADS=1 python benchmarks/bench_rig_accuracy.py --faces 50 --cache /tmp/rig_accuracy.jsonl

Faces: the world's photo identities of ``--seed`` (indices 0, 1, ...) and the toon (cartoon) identities of the next
indices, half each. For each face the 57 FACS templates of the template (mean) head are moved onto its neutral
shape by deformation transfer (the product path, ``rig_offsets``) and by naive offsets; the 20 templates that have a
truth (the world's 12 blendshapes and the 8 left/right halves) are scored against the face's identity-aware truth
(:func:`toonlift.synthetic.identity_expressions.truth_templates`). Printed: mean vertex error over each template's
region (head units x 110 = pixels at 256 px), by group and in all, and the semantic ratios (eye closure of the
blinks, jaw opening, mouth-corner travel of the smiles): the template's own value, then each method's mean
absolute difference from the template's and from the truth's. Every face's record goes to ``--cache`` (JSON
lines) as soon as it is done, so an interrupted run resumes where it stopped. Then the rigging time of one face
(all 57 templates) and the deformation rate ``S0 + B beta`` as medians [IQR] (benchmarks/protocol.py).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from protocol import machine_limits, measure, report_header

from toonlift.functional.rig_metrics import corner_travel, eye_closure, jaw_opening, vertex_error
from toonlift.functional.rig_runtime import SparseRig
from toonlift.stages.rig_fit.avatar_viewer import rig_offsets
from toonlift.synthetic.facs_templates import facs_templates
from toonlift.synthetic.head_model import KINDS, _model_arrays
from toonlift.synthetic.identity_expressions import TRUTH_NAMES, truth_templates
from toonlift.synthetic.sampler import sample_params
from toonlift.synthetic.toon import toon_identity

PX = 110.0
GROUPS = {"eyes": ("blink", "eye_wide"), "mouth": ("jaw", "smile", "frown", "pucker", "puff"), "brows": ("brow",)}
METHODS = ("dt", "naive", "truth")


def ratios(neutral_lm: np.ndarray, offsets_lm: np.ndarray) -> dict[str, float]:
    """The semantic ratios of one rig's truth templates (``offsets_lm`` ``[20, 68, 3]``, TRUTH_NAMES order)."""
    idx = {n: i for i, n in enumerate(TRUTH_NAMES)}
    pose = {n: neutral_lm + offsets_lm[i] for n, i in idx.items()}
    return {
        "eye_closure_left": eye_closure(neutral_lm, pose["blink_left"], "left"),
        "eye_closure_right": eye_closure(neutral_lm, pose["blink_right"], "right"),
        "jaw_opening": jaw_opening(neutral_lm, pose["jaw_open"]),
        "corner_left": corner_travel(neutral_lm, pose["smile_left"], "left"),
        "corner_right": corner_travel(neutral_lm, pose["smile_right"], "right"),
    }


def face_record(domain: str, identity: np.ndarray, a: dict, templates: np.ndarray) -> dict:
    """Vertex errors and ratios of one face for DT, naive offsets and the truth itself."""
    mean, lm = a["mean"], a["landmarks"]
    shape = mean + np.einsum("k,kvc->vc", identity, a["identity_basis"])
    _, truth = truth_templates(identity)
    k = len(TRUTH_NAMES)
    rigs = {
        "dt": rig_offsets(mean, templates, shape, a["faces"], "dt")[:k].astype(np.float64),
        "naive": templates[:k],
        "truth": truth,
    }
    err = {m: [vertex_error(rigs[m][i], truth[i], templates[i]) * PX for i in range(k)] for m in ("dt", "naive")}
    return {
        "domain": domain,
        "identity": identity.tolist(),
        "vertex_error_px": err,
        "ratios": {m: ratios(shape[lm], r[:, lm]) for m, r in rigs.items()},
    }


def summarise(records: list[dict], template_ratios: dict[str, float]) -> None:
    for domain in ("photo", "cartoon", "all"):
        rs = [r for r in records if domain in ("all", r["domain"])]
        if not rs:
            continue
        print(f"\n## {domain}: {len(rs)} faces")
        print("| vertex error (px at 256 px) | " + " | ".join(GROUPS) + " | all 20 templates | DT better on |")
        print("|---|---|---|---|---|---|")
        e = {m: np.array([r["vertex_error_px"][m] for r in rs]) for m in ("dt", "naive")}  # [faces, 20]
        for m in ("dt", "naive"):
            cells = []
            for words in GROUPS.values():
                cols = [i for i, n in enumerate(TRUTH_NAMES) if any(w in n for w in words)]
                cells.append(f"{e[m][:, cols].mean():.3f}")
            wins = (e["dt"] < e["naive"]).mean()
            last = f"{100 * wins:.0f} % of face x template" if m == "dt" else ""
            print(f"| {m} | " + " | ".join(cells) + f" | {e[m].mean():.3f} | {last} |")
        print("| ratio | template | truth (mean) | DT: abs diff from template / truth | naive: from template / truth |")
        print("|---|---|---|---|---|")
        for name, tv in template_ratios.items():
            vals = {m: np.array([r["ratios"][m][name] for r in rs]) for m in METHODS}
            cells = [
                f"{np.abs(vals[m] - tv).mean():.3f} / {np.abs(vals[m] - vals['truth']).mean():.3f}" for m in METHODS[:2]
            ]
            print(f"| {name} | {tv:.3f} | {vals['truth'].mean():.3f} | " + " | ".join(cells) + " |")
        print("per template (all faces here) vertex error DT / naive px:")
        print(
            ", ".join(
                f"{n} {e['dt'][:, i].mean():.3f}/{e['naive'][:, i].mean():.3f}" for i, n in enumerate(TRUTH_NAMES)
            )
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=50, help="faces in all (half photo, half cartoon)")
    ap.add_argument("--seed", type=int, default=11, help="the world's sample seed of the identities")
    ap.add_argument("--cache", type=Path, default=None, help="JSON-lines file of finished faces (resume)")
    ap.add_argument("--repeats", type=int, default=5, help="timed rounds of the rigging and deformation timings")
    args = ap.parse_args()
    print(report_header())
    machine_limits()
    a = _model_arrays("high")
    mean, lm = a["mean"], a["landmarks"]
    names, templates = facs_templates(mean, a["expression_basis"], a["vertex_kinds"], KINDS)
    templates = templates.astype(np.float64)
    assert tuple(names[: len(TRUTH_NAMES)]) == TRUTH_NAMES
    template_ratios = ratios(mean[lm], templates[: len(TRUTH_NAMES), lm])
    print(f"head 'high': {len(mean)} vertices, {len(a['faces'])} triangles, {len(names)} templates")

    done = []
    if args.cache is not None and args.cache.exists():
        done = [json.loads(line) for line in args.cache.read_text().splitlines() if line.strip()]
    half = args.faces // 2
    ids = sample_params(args.seed, range(args.faces)).identity
    jobs = [("photo", ids[i].numpy().astype(np.float64)) for i in range(half)]
    jobs += [("cartoon", toon_identity(ids[i : i + 1])[0].numpy().astype(np.float64)) for i in range(half, args.faces)]
    records = done[: len(jobs)]
    for i in range(len(records), len(jobs)):
        rec = face_record(*jobs[i], a, templates)
        records.append(rec)
        if args.cache is not None:
            with args.cache.open("a") as f:
                f.write(json.dumps(rec) + "\n")
        print(f"face {i + 1}/{len(jobs)} ({rec['domain']}) done", flush=True)
    summarise(records, template_ratios)

    shape = mean + np.einsum("k,kvc->vc", jobs[-1][1], a["identity_basis"])

    def rig() -> None:
        rig_offsets(mean, templates, shape, a["faces"], "dt")

    print(f"\nrigging one cartoon face, all {len(names)} templates (factor + one multi-right-hand-side solve):")
    for label, clock in (("wall", time.perf_counter), ("CPU (this process)", time.process_time)):
        print(f"  {label}: {measure(rig, args.repeats, 1, clock=clock).text(fmt='.3f')} s")
    basis = rig_offsets(mean, templates, shape, a["faces"], "dt")  # [T, V, 3] float32
    beta = np.random.default_rng(0).uniform(size=(1000, len(names))).astype(np.float32)
    s0, full = shape.astype(np.float32), basis.reshape(len(names), -1)
    sparse = SparseRig(s0, basis)

    def dense() -> None:
        for b in beta:  # one frame at a time, as a player would
            _ = s0 + (b @ full).reshape(-1, 3)

    def pruned() -> None:
        for b in beta:
            _ = sparse.deform(b)

    nnz = f"sparse, offsets < 1e-4 pruned ({sparse.matrix.nnz / full.size:.1%} of entries)"
    for label, fn in (("dense numpy", dense), (nnz, pruned)):
        for clock_name, clock in (("wall", time.perf_counter), ("CPU", time.process_time)):
            per = measure(fn, args.repeats, 1, clock=clock)
            print(
                f"deformation S0 + B beta, {len(names)} targets, float32, one frame at a time, {label}, {clock_name}: "
                f"{1000 / per.median:,.0f} frames/s ({per.text(1.0, '.3g')} ms per frame)"
            )


if __name__ == "__main__":
    main()
