"""Write a folder of synthetic faces that any image-folder data module reads like a real data set.

    python -m toonlift.synthetic.export --out data/synthetic_cartoon --domain cartoon --count 1000 --resolution 256

The folder appears atomically: images are written into a hidden temporary folder next to ``--out`` that is renamed
to ``--out`` only when everything (PNGs, ``meta.json`` and, with ``--ground-truth``, ``ground_truth.safetensors``)
is complete. An existing non-empty ``--out`` is refused unless ``--overwrite`` is given.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from toonlift.errors import ConfigError, ToonliftError
from toonlift.synthetic.render import DOMAINS, FaceRenderer
from toonlift.synthetic.sampler import sample_params
from toonlift.utils.images import save_image
from toonlift.utils.io import atomic_write_json, save_safetensors

GT_KEYS = ("identity", "expression", "pose", "light", "landmarks", "landmarks_visible")


def export_folder(
    out: str | Path,
    domain: str = "cartoon",
    count: int = 100,
    resolution: int = 256,
    seed: int = 0,
    first: int = 0,
    batch_size: int = 32,
    ground_truth: bool = False,
    overwrite: bool = False,
) -> Path:
    """Render samples ``first .. first + count - 1`` of ``seed`` to ``out/NNNNNNNN.png`` (see module docstring).

    Returns:
        The finished folder.
    """
    out = Path(out)
    if domain not in DOMAINS:
        raise ConfigError(f"Unknown synthetic domain '{domain}'; choose one of {', '.join(DOMAINS)}.")
    if count < 1 or resolution < 8 or batch_size < 1:
        raise ConfigError("--count and --batch-size must be >= 1 and --resolution >= 8.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise ConfigError(f"'{out}' already exists and is not empty; choose another --out or pass --overwrite.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        renderer = FaceRenderer()
        gt: dict[str, list[torch.Tensor]] = {k: [] for k in GT_KEYS}
        for lo in range(first, first + count, batch_size):
            ids = list(range(lo, min(lo + batch_size, first + count)))
            batch = renderer(sample_params(seed, ids), domain, resolution, GT_KEYS if ground_truth else ())
            for i, img in zip(ids, batch["image"]):
                save_image(img, tmp / f"{i:08d}.png")
            for k in gt if ground_truth else ():
                gt[k].append(batch[k])
        if ground_truth:
            tensors = {k: torch.cat(v) for k, v in gt.items()}
            tensors["landmarks_visible"] = tensors["landmarks_visible"].to(torch.uint8)
            tensors["index"] = torch.arange(first, first + count)
            save_safetensors(tmp / "ground_truth.safetensors", tensors, {"domain": domain, "seed": seed})
        meta = {"domain": domain, "resolution": resolution, "seed": seed, "first": first, "count": count}
        atomic_write_json(tmp / "meta.json", meta)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code."""
    p = argparse.ArgumentParser(prog="python -m toonlift.synthetic.export", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder to create")
    p.add_argument("--domain", default="cartoon", choices=DOMAINS)
    p.add_argument("--count", type=int, default=100, help="number of images")
    p.add_argument("--resolution", type=int, default=256, help="image side in pixels")
    p.add_argument("--seed", type=int, default=0, help="world seed")
    p.add_argument("--first", type=int, default=0, help="first sample index")
    p.add_argument("--batch-size", type=int, default=32, help="images per rasterisation")
    p.add_argument("--ground-truth", action="store_true", help="also write ground_truth.safetensors")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    a = p.parse_args(argv)
    try:
        path = export_folder(
            a.out, a.domain, a.count, a.resolution, a.seed, a.first, a.batch_size, a.ground_truth, a.overwrite
        )
    except ToonliftError as err:
        sys.stderr.write(f"toonlift: error: {err}\n")
        return 2
    print(f"wrote {a.count} {a.domain} faces at {a.resolution} px to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
