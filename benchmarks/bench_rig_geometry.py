"""Rig geometry on the synthetic head model: deformation transfer (Eq. 14-16) and Laplacian refinement (Eq. 9-11).

    python benchmarks/bench_rig_geometry.py --detail high --targets 4 --repeats 5

Deformation transfer: source = the mean head and the 12 blendshapes (002's "templates"), targets = toon heads of the
mean and of random identities (seed 0). Printed per target: the blink's relative eye closure (aperture after /
before, mean of the four lid pairs) for the template, deformation transfer and naive offsets, then set-up time
(factorisation) and time per template. Laplacian: coarse fits = the true toon coefficients x 0.5 and x 0 (the mean
face); anchors = the true 68 landmarks' (x, y) with the coarse depth (Eq. 11), weight 10; 2D landmark and 3D
face-vertex errors in pixel units (head units x 110, about pixels at 256 px), set-up and solve times. Times are
medians [interquartile range] of ``--repeats`` runs (benchmarks/protocol.py).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from protocol import machine_limits, measure, report_header

from toonlift.functional.deformation_transfer import DeformationTransfer
from toonlift.functional.laplacian import LaplacianDeformer, lift_landmarks
from toonlift.synthetic.head_model import build_head_model
from toonlift.synthetic.toon import toon_identity

PX = 110.0
EYE_PAIRS = ((37, 41), (38, 40), (43, 47), (44, 46))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--detail", default="high", choices=["high", "low"])
    ap.add_argument("--targets", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(report_header())
    machine_limits()
    m = build_head_model(args.detail)
    lm = m.landmarks.numpy()
    k, e = m.num_identity, m.num_expression
    print(f"head model '{args.detail}': {m.num_vertices} vertices, {len(m.faces)} triangles")

    def verts(ident: torch.Tensor, expr: torch.Tensor | None = None) -> np.ndarray:
        return m.vertices(ident, torch.zeros(1, e) if expr is None else expr)[0].double().numpy()

    def aperture(v: np.ndarray) -> float:
        p = v[lm]
        return float(np.mean([np.linalg.norm(p[a] - p[b]) for a, b in EYE_PAIRS]))

    zero = torch.zeros(1, k)
    src0 = verts(zero)
    templates = [verts(zero, torch.eye(e)[i : i + 1]) for i in range(e)]
    blink_w = torch.zeros(1, e)
    blink_w[0, m.expression_names.index("blink_left")] = blink_w[0, m.expression_names.index("blink_right")] = 1
    blink = verts(zero, blink_w)
    pins = np.nonzero(m.expression_basis.norm(dim=-1).amax(0).numpy() < 1e-9)[0]
    print(f"template blink closure {aperture(blink) / aperture(src0):.3f}; pinned vertices {len(pins)}")
    gen = torch.Generator().manual_seed(0)
    idents = [zero] + [torch.randn(1, k, generator=gen).clamp(-2.5, 2.5) for _ in range(args.targets - 1)]
    for i, ident in enumerate(idents):
        tgt = verts(toon_identity(ident))
        dt = DeformationTransfer(src0, tgt, m.faces, pinned=pins)
        ratio_dt = aperture(dt.transfer(blink)) / aperture(tgt)
        ratio_naive = aperture(tgt + blink - src0) / aperture(tgt)
        setup = measure(lambda t=tgt: DeformationTransfer(src0, t, m.faces, pinned=pins), args.repeats, 1)
        per = measure(lambda d=dt: [d.transfer(s) for s in templates], args.repeats, 1)
        print(
            f"DT target {'toon(mean)' if i == 0 else f'toon(rand{i - 1})'}: closure DT {ratio_dt:.3f} naive "
            f"{ratio_naive:.3f}; set-up {setup.text(fmt='.3f')} s, per template {per.text(1000 / e, '.1f')} ms"
        )
    ident = idents[min(1, len(idents) - 1)]
    true = verts(toon_identity(ident))
    face = (m.vertex_kinds.numpy() == 0) & (m.mean[:, 2].numpy() > 0.2)
    for kind in ("uniform", "cotangent"):
        for shrink in (0.5, 0.0):
            coarse = verts(toon_identity(ident) * shrink)
            target = lift_landmarks(true[lm, :2], coarse, lm)
            d = LaplacianDeformer(coarse, m.faces, lm, weight=10.0, kind=kind)
            fine = d.solve(target)
            e2 = [np.linalg.norm(v[lm, :2] - true[lm, :2], axis=1).mean() * PX for v in (coarse, fine)]
            e3 = [np.linalg.norm(v[face] - true[face], axis=1).mean() * PX for v in (coarse, fine)]
            setup = measure(lambda c=coarse, kd=kind: LaplacianDeformer(c, m.faces, lm, 10.0, kd), args.repeats, 1)
            solve = measure(lambda dd=d, t=target: dd.solve(t), args.repeats, 1)
            print(
                f"Laplacian {kind:9s} coarse x{shrink}: landmarks {e2[0]:.2f} -> {e2[1]:.3f} px, 3D face "
                f"{e3[0]:.2f} -> {e3[1]:.2f} px; set-up {setup.text(fmt='.3f')} s, solve {solve.text(1000, '.1f')} ms"
            )


if __name__ == "__main__":
    main()
