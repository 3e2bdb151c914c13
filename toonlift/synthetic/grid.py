"""A picture of the synthetic world: photo / cartoon / ink renders of the same faces with depth, normals, parts.

python -m toonlift.synthetic.grid --out docs/images/synthetic_grid.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import Tensor

from toonlift.synthetic import layout as L
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params
from toonlift.utils.images import save_grid

# A fixed colour per part label for the label-map row ([-1, 1] RGB).
_PART_COLOURS = torch.tensor(
    [
        [0.1, 0.1, 0.1],
        [0.9, 0.7, 0.6],
        [0.9, 0.4, 0.3],
        [0.35, 0.2, 0.1],
        [1.0, 1.0, 1.0],
        [0.2, 0.5, 0.9],
        [0.0, 0.0, 0.0],
        [0.8, 0.1, 0.3],
        [0.4, 0.0, 0.1],
        [0.6, 0.45, 0.2],
        [0.95, 0.8, 0.3],
        [0.7, 0.6, 0.5],
    ]
)


def depth_to_image(depth: Tensor, mask: Tensor) -> Tensor:
    """Depth ``[B, 1, H, W]`` in the 0.9-1.1 range to a grey image in ``[-1, 1]`` (near = bright)."""
    d = ((1.1 - depth) / 0.2).clamp(0, 1) * mask
    return (d * 2 - 1).repeat(1, 3, 1, 1)


def normal_to_image(normal: Tensor) -> Tensor:
    """Camera-frame normals to the usual RGB picture (x right = red, y up = green, toward viewer = blue)."""
    return normal * normal.new_tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1)


def pair_grid(seed: int = 0, count: int = 6, size: int = 128) -> Tensor:
    """Rows: photo, cartoon, ink, depth, normals, part labels of samples ``0 .. count-1`` of ``seed``."""
    renderer = FaceRenderer()
    p = sample_params(seed, range(count))
    photo = renderer(p, "photo", size)
    rows = [photo["image"], renderer(p, "cartoon", size)["image"], renderer(p, "ink", size)["image"]]
    rows.append(depth_to_image(photo["depth"], photo["mask"]))
    rows.append(normal_to_image(photo["normal"]))
    rows.append((_PART_COLOURS[photo["parts"]] * 2 - 1).permute(0, 3, 1, 2))
    assert len(_PART_COLOURS) == len(L.PART_NAMES)
    return torch.cat(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m toonlift.synthetic.grid", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="docs/images/synthetic_grid.png")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count", type=int, default=6)
    ap.add_argument("--size", type=int, default=128)
    a = ap.parse_args(argv)
    save_grid(pair_grid(a.seed, a.count, a.size), Path(a.out), nrow=a.count)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
