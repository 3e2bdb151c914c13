"""``python -m toonlift.stages.vlda.render_metrics``: FID/KID of rendered avatars against real images (Table I).

Examples::

    # the paper's protocol: 256 renders of the avatars against a photo set, in Inception space
    python -m toonlift.stages.vlda.render_metrics --avatars outputs/vlda --real /data/ffhq256 \
        --features inception --inception-weights pt_inception-2015-12-05-6726825d.pth
    # offline, on the synthetic world: against fresh photo renders, in the face analyser's feature space
    python -m toonlift.stages.vlda.render_metrics --avatars outputs/demo/stage3 --real-synthetic photo
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

from toonlift.errors import ToonliftError
from toonlift.utils.io import atomic_write_json


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m toonlift.stages.vlda.render_metrics",
        description="FID/KID of random-view renders of VLDA avatars against real images (the seed paper's Table I).",
    )
    p.add_argument(
        "--avatars", required=True, nargs="+", help="VLDA output folders (avatar_*/maps.safetensors) or avatars"
    )
    real = p.add_mutually_exclusive_group(required=True)
    real.add_argument("--real", help="folder or .zip of real images (the paper: FFHQ photos)")
    real.add_argument("--real-synthetic", choices=["photo", "cartoon", "ink"], help="fresh synthetic-world renders")
    p.add_argument("--count", type=int, default=256, help="renders in all, spread over the avatars (paper: 256)")
    p.add_argument("--real-count", type=int, default=None, help="real images used (default: --count; a folder: all)")
    p.add_argument("--yaw-deg", type=float, default=30.0, help="yaw range of the random views, ± degrees (30)")
    p.add_argument("--pitch-deg", type=float, default=10.0, help="pitch range of the random views, ± degrees (10)")
    p.add_argument("--seed", type=int, default=0, help="seed of the views (synthetic reals use seed + 90000)")
    p.add_argument("--features", default="synthetic_analyser", help="'inception' or a feature-extractor plugin name")
    p.add_argument("--inception-weights", default=None, help="pt_inception-2015-12-05-6726825d.pth for 'inception'")
    p.add_argument("--batch", type=int, default=64, help="real images per batch")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default=None, help="write the scores as JSON here (default: print only)")
    return p


def _folder_images(path: str, count: int | None, size: int, batch: int) -> Iterator[Tensor]:
    from toonlift.utils.image_sets import ImageDataset, scan_images, validate_records

    records = scan_images(path, "real image set")
    # decode-check only the images that will be used (a photo set can hold 70,000)
    data = ImageDataset(validate_records(records[:count] if count else records, "real image set"), resolution=size)
    for start in range(0, len(data), batch):
        yield torch.stack([data[i] for i in range(start, min(start + batch, len(data)))])


def _synthetic_images(domain: str, count: int, size: int, seed: int, batch: int) -> Iterator[Tensor]:
    from toonlift.synthetic.dataset import SyntheticFaces

    faces = SyntheticFaces(domain=domain, resolution=size, num_samples=count, seed=seed)
    for start in range(0, count, batch):
        yield faces.render(list(range(start, min(start + batch, count))))["image"]


def _mean_lpips(folders: list[Path]) -> float | None:
    """Mean of the avatars' final input-v-reconstruction LPIPS (``metrics.json``), ``None`` if none recorded it
    (avatars reconstructed with another perceptual distance record it under that distance's name)."""
    import json

    values = []
    for folder in folders:
        try:
            values.append(float(json.loads((folder / "metrics.json").read_text())["final"]["lpips"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sum(values) / len(values) if values else None


def _check(args: argparse.Namespace) -> None:
    from toonlift.errors import ConfigError

    if args.count < 2:
        raise ConfigError(f"--count must be at least 2 (FID needs two renders), got {args.count}.")
    if args.real_count is not None and args.real_count < 2:
        raise ConfigError(f"--real-count must be at least 2, got {args.real_count}.")
    if not (0 <= args.yaw_deg <= 90 and 0 <= args.pitch_deg <= 90):
        raise ConfigError(f"--yaw-deg and --pitch-deg must lie in [0, 90], got {args.yaw_deg} and {args.pitch_deg}.")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from toonlift.metrics.generative import build_feature_extractor
        from toonlift.stages.vlda.rendered_views import fid_kid, find_avatars, load_avatar, render_set

        _check(args)
        start = time.perf_counter()
        avatars = [load_avatar(f) for root in args.avatars for f in find_avatars(root)]
        size = avatars[0].depth.shape[-1]
        if any(a.depth.shape[-1] != size for a in avatars):
            from toonlift.errors import DataError

            raise DataError(f"The avatars under {args.avatars} differ in size; score each size separately.")
        fake = render_set(avatars, args.count, args.seed, args.yaw_deg, args.pitch_deg)
        if args.real is not None:
            real = _folder_images(args.real, args.real_count, size, args.batch)
        else:
            n = args.real_count or args.count
            real = _synthetic_images(args.real_synthetic, n, size, args.seed + 90_000, args.batch)
        features = build_feature_extractor(args.features, args.inception_weights)
        scores = fid_kid(fake, real, features, args.device)
    except (ToonliftError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    n_real = scores.pop("real")
    result = {
        **scores,
        "lpips_input_reconstruction": _mean_lpips([a.folder for a in avatars]),
        "avatars": len(avatars),
        "features": args.features,
        "real": args.real or f"synthetic:{args.real_synthetic}",
        "real_images": n_real,
        "views": {"yaw_deg": args.yaw_deg, "pitch_deg": args.pitch_deg, "seed": args.seed},
        "seconds": round(time.perf_counter() - start, 2),
    }
    if args.out is not None:
        atomic_write_json(Path(args.out), result)
    print(
        f"{scores['renders']} renders of {len(avatars)} avatar(s) v {n_real} real images "
        f"({args.features} features): FID {scores['fid']:.2f}, KID x1e3 {scores['kid_x1e3']:.2f} "
        f"± {scores['kid_std_x1e3']:.2f} ({result['seconds']:.1f} s)" + (f"; wrote {args.out}" if args.out else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
