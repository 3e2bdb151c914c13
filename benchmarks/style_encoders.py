"""Which feature encoder suits 3DArtmator's directional loss on the synthetic world? Measured on true renders.

For ``--faces`` faces rendered in photo, ink and cartoon (same identity, expression, pose and light), each encoder
``E`` gives per-face style changes ``d_i = E(style_i) − E(photo_i)``. A one-shot guide comes from *another* face, so:

* **consistency**: ``cos(d_i, mean_{j≠i} d_j)`` (leave-one-out) — does the direction transfer across faces?
* **margin**: ``L_dir(face i, cartoon guide) − L_dir(face i, ink guide)`` for the photo→ink change (guides are
  leave-one-out means) — can the loss tell the exemplar's style from another style? (> 0: yes; in cosine units.)

Printed as mean and minimum over faces. CLIP is included with ``--clip-weights PATH`` (user-supplied weights).
An accuracy evaluation: its elapsed time is one run, printed with the machine line.

    python benchmarks/style_encoders.py --faces 16
"""

from __future__ import annotations

import argparse
import time

import torch
from protocol import report_header
from torch.nn import functional as F

from toonlift.functional.directional import directional_loss
from toonlift.registry import FEATURE_EXTRACTORS
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params
from toonlift.utils.threads import apply_threads


def leave_one_out(d: torch.Tensor) -> torch.Tensor:
    """``[N, F]`` -> for each row the mean of the other rows."""
    return (d.sum(0, keepdim=True) - d) / (d.shape[0] - 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--faces", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--clip-weights", default=None)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    apply_threads(args.threads)
    print(report_header())
    start = time.perf_counter()
    params = sample_params(args.seed, range(args.faces))
    renderer = FaceRenderer()
    domains = ("photo", "ink", "cartoon")
    photo, ink, cartoon = (renderer(params, d, args.size, outputs=("image",))["image"] for d in domains)
    encoders = {
        "synthetic_analyser (pooled)": ("synthetic_analyser", {}),
        "synthetic_analyser_stats meanstd": ("synthetic_analyser_stats", {}),
        "synthetic_analyser_stats gram": ("synthetic_analyser_stats", {"statistic": "gram"}),
        "dlib_resnet descriptor": ("dlib_resnet", {}),
        "dlib_resnet pooled": ("dlib_resnet", {"output": "pooled"}),
    }
    if args.clip_weights:
        encoders["clip"] = ("clip", {"weights": args.clip_weights})
    print(f"{args.faces} faces at {args.size} px, seed {args.seed}")
    print("| encoder | F | consistency ink mean (min) | consistency cartoon mean (min) | margin ink vs cartoon (min) |")
    print("|---|---|---|---|---|")
    for label, (name, kwargs) in encoders.items():
        enc = FEATURE_EXTRACTORS.build(name, **kwargs).eval()
        with torch.no_grad():
            a, b, c = enc(photo), enc(ink), enc(cartoon)
        d_ink, d_car = b - a, c - a
        cons_ink = F.cosine_similarity(d_ink, leave_one_out(d_ink), dim=1)
        cons_car = F.cosine_similarity(d_car, leave_one_out(d_car), dim=1)
        margin = directional_loss(b, a, leave_one_out(d_car)) - directional_loss(b, a, leave_one_out(d_ink))
        cells = [f"{float(x.mean()):.3f} ({float(x.min()):.3f})" for x in (cons_ink, cons_car, margin)]
        print(f"| {label} | {enc.num_features} | " + " | ".join(cells) + " |")
    print(f"elapsed {time.perf_counter() - start:.1f} s (one run)")


if __name__ == "__main__":
    main()
