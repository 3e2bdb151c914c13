"""Can an identity network judge Stage 2? Its distances on world renders whose identity is known.

Stage 2's claim (the optimised offsets keep the person better than SeFa) is only as good as the identity network
that measures it. The synthetic world renders the *same* person with one factor changed, so each network's
distances can be read against the truth:

* ``expression +0.1`` / ``+0.8``: the same face with jaw opening and both blinks raised by 0.1 (about the read-out
  change of one side of Stage 2's edit, ``benchmarks/eval_offsets.py``) or set to 0.8 (a full expression);
* ``yaw 10°`` / ``light``: the same face turned by 10 degrees / lit from the other side (what a good edit must not
  count as a new person, and what SeFa's direction also changes);
* ``texture noise``: the same face with another per-sample texture noise seed (the render's own repeatability);
* ``other person``: a different face of the world (identity, appearance and everything else redrawn).

For a useful judge the same-person distances are small against the other-person distance: the table prints each
as a fraction of it, and the separation ``d′ = (mean_other − mean_same) / pooled std`` per change.

    python benchmarks/identity_judges.py --faces 64 --size 64
"""

from __future__ import annotations

import argparse
import dataclasses
import platform

import torch
from torch import Tensor

from toonlift.registry import REGISTRIES
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import FaceParams, sample_params


def variants(params: FaceParams, other: FaceParams) -> dict[str, FaceParams]:
    """The same faces with one factor changed each, and other faces (``other``) as the different-person reference."""
    cols = [EXPRESSION_NAMES.index(n) for n in ("jaw_open", "blink_left", "blink_right")]
    small, full = params.expression.clone(), params.expression.clone()
    small[:, cols] = (small[:, cols] + 0.1).clamp(max=1.0)
    full[:, cols] = 0.8
    pose = params.pose.clone()
    pose[:, 0] += 10.0
    light = params.light.clone()
    light[:, 2] = -light[:, 2]  # the light's horizontal direction mirrored
    return {
        "expression +0.1": dataclasses.replace(params, expression=small),
        "expression 0.8": dataclasses.replace(params, expression=full),
        "yaw 10°": dataclasses.replace(params, pose=pose),
        "light": dataclasses.replace(params, light=light),
        "texture noise": dataclasses.replace(params, noise_seed=params.noise_seed + 1_000_003),
        "other person": other,
    }


def distances(encoder: torch.nn.Module, base: Tensor, changed: Tensor) -> Tensor:
    """L2 distance ``[N]`` between the embeddings of two image batches ``[N, 3, H, W]`` in [-1, 1]."""
    with torch.no_grad():
        return (encoder(base) - encoder(changed)).norm(dim=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--faces", type=int, default=64)
    ap.add_argument("--size", type=int, default=64, help="render size (the shipped generators draw 64 px)")
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument("--domain", default="photo", choices=("photo", "cartoon"))
    ap.add_argument("--encoders", nargs="+", default=["synthetic_analyser", "dlib_resnet"])
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    params = sample_params(args.seed, range(args.faces))
    other = sample_params(args.seed, range(args.faces, 2 * args.faces))
    renderer = FaceRenderer()
    render = lambda p: renderer(p, args.domain, args.size, ())["image"]  # noqa: E731
    base = render(params)
    images = {k: render(p) for k, p in variants(params, other).items()}
    print(f"# identity judges on {args.faces} world faces (seed {args.seed}, {args.domain}, {args.size} px)")
    print(f"# {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| network | change | L2 mean ± std | fraction of other person | d′ against other person |")
    print("|---|---|---|---|---|")
    for name in args.encoders:
        encoder = REGISTRIES["identity_encoders"].build(name).eval()
        d = {k: distances(encoder, base, img) for k, img in images.items()}
        ref = d["other person"]
        for k, v in d.items():
            sep = (ref.mean() - v.mean()) / ((ref.var() + v.var()) / 2).sqrt().clamp_min(1e-12)
            sep_txt = "—" if k == "other person" else f"{float(sep):.2f}"
            print(f"| {name} | {k} | {float(v.mean()):.3f} ± {float(v.std()):.3f} | "
                  f"{float(v.mean() / ref.mean()):.2f} | {sep_txt} |")  # fmt: skip


if __name__ == "__main__":
    main()
