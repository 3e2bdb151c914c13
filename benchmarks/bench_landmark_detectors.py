"""Landmark detectors on the synthetic world's renders, against the true 68 landmarks, and on real photos.

    python benchmarks/bench_landmark_detectors.py --faces 8 --size 256

For each domain (photo, cartoon, ink) and pose set (the world's sampled poses, yaw up to 45 degrees; and the same
faces turned frontal), ``--faces`` faces of seed 1 are rendered at ``--size`` px; printed: how many faces each
detector found, the mean landmark error (pixels) per iBUG group over the found faces (002's Table 1 groups) and the
time per image. Real photo: scikit-image's astronaut (found or not, box). The dlib 68-point model is for
non-commercial use (iBUG 300-W).
"""

from __future__ import annotations

import argparse

import torch
from protocol import measure, report_header

from toonlift.plugins.landmarks.base import GROUPS
from toonlift.registry import LANDMARK_DETECTORS
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import FaceParams, sample_params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--detectors", nargs="+", default=["dlib68", "mediapipe"])
    args = ap.parse_args()
    print(report_header())
    sampled = sample_params(1, range(args.faces))
    frontal = FaceParams(**{**sampled.__dict__, "pose": torch.zeros_like(sampled.pose)})
    renderer = FaceRenderer()
    for name in args.detectors:
        det = LANDMARK_DETECTORS.build(name)
        for domain in ("photo", "cartoon", "ink"):
            for label, params in (("sampled poses", sampled), ("frontal", frontal)):
                out = renderer(params, domain, args.size)
                res = det(out["image"])
                err = (res.points - out["landmarks"]).norm(dim=-1)[res.found]  # [found, 68]
                groups = ", ".join(
                    f"{g} {err[:, list(idx)].mean():.1f}" if len(err) else f"{g} -" for g, idx in GROUPS.items()
                )
                total = f"{err.mean():.1f}" if len(err) else "-"
                t = measure(lambda im=out["image"][:1], d=det: d(im), repeats=3, warmup=1)
                print(
                    f"{name} {domain:7s} {label:13s}: found {int(res.found.sum())}/{args.faces}; error px: {groups}, "
                    f"total {total}; {t.text(1000, '.0f')} ms/image"
                )
        try:
            from skimage import data
        except ImportError:
            print("scikit-image not installed: astronaut skipped")
            continue
        img = torch.from_numpy(data.astronaut()).permute(2, 0, 1)[None].float() / 127.5 - 1
        res = det(img)
        print(f"{name} astronaut (512 px): found {bool(res.found[0])}, box {[round(v) for v in res.box[0].tolist()]}")


if __name__ == "__main__":
    main()
