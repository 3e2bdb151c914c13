"""Image grids of ``G_ema`` at fixed yaws during EG3D training: saved as PNG and sent to W&B / TensorBoard.

The grid is drawn with fixed seeds, constant noise and deterministic ray sampling (no global random state is
touched), so logging it does not change what a run, or a resumed run, computes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.stages.eg3d_gan.views import render_views


@torch.no_grad()
def yaw_grid(g: EG3DBackbone, seeds: list[int], yaws_deg: list[float]) -> Tensor:
    """``[3, H', W']`` grid in ``[-1, 1]``: per seed one row of images then one row of depth, columns = yaws."""
    from torchvision.utils import make_grid

    images, _, depth, _ = render_views(g, seeds, yaws_deg)
    depth = torch.nn.functional.interpolate(depth, size=images.shape[-2:], mode="nearest").expand(-1, 3, -1, -1)
    y = len(yaws_deg)
    rows = [t for s in range(len(seeds)) for t in (images[s * y : (s + 1) * y], depth[s * y : (s + 1) * y])]
    return make_grid(torch.cat(rows).cpu(), nrow=y, padding=1, pad_value=1.0)


def log_yaw_grid(
    g: EG3DBackbone, seeds: list[int], yaws_deg: list[float], folder: Path, iteration: int, loggers: list[Any]
) -> Path:
    """Save the grid as ``folder/yaws_iter{N:06d}.png`` and send it to the W&B and TensorBoard loggers."""
    from toonlift.utils.images import save_image

    grid = yaw_grid(g, seeds, yaws_deg)
    folder.mkdir(parents=True, exist_ok=True)
    path = save_image(grid, folder / f"yaws_iter{iteration:06d}.png")
    caption = "rows: image, depth per seed; columns: yaw " + ", ".join(f"{y:g}" for y in yaws_deg)
    for logger in loggers:
        kind = type(logger).__name__
        if kind == "WandbLogger":
            logger.log_image(key="eg3d/yaw_grid", images=[str(path)], caption=[caption])
        elif kind == "TensorBoardLogger":
            logger.experiment.add_image("eg3d/yaw_grid", grid.add(1).div(2).clamp(0, 1), iteration)
    return path
