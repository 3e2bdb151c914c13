"""UV texture lookup with the OBJ/glTF-viewer convention used by toonlift's renderers and exporters.

UV convention (OBJ / Blender / trimesh): ``u`` runs left -> right and ``v`` bottom -> top over the texture image,
both in ``[0, 1]``; row 0 of a texture tensor ``[B, C, Ht, Wt]`` is the *top* of the image (``v = 1``). Texels are
areas, so ``(u, v) = (0.5 / Wt, 1 - 0.5 / Ht)`` is the centre of the top-left texel (``align_corners=False``).
glTF stores ``v`` top -> bottom; trimesh converts on export/import, so toonlift code never flips ``v`` by hand.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def uv_to_grid(uv: Tensor) -> Tensor:
    """UV coordinates ``[..., 2]`` to ``grid_sample`` coordinates (``x = 2u - 1``, ``y = 1 - 2v``)."""
    return torch.stack([uv[..., 0] * 2.0 - 1.0, 1.0 - uv[..., 1] * 2.0], dim=-1)


def sample_texture(texture: Tensor, uv: Tensor, mode: str = "bilinear") -> Tensor:
    """Look up a texture at per-pixel UVs (differentiable w.r.t. both).

    Args:
        texture: ``[B, C, Ht, Wt]`` (or ``[1, C, Ht, Wt]`` shared by the batch).
        uv: ``[B, H, W, 2]`` texture coordinates.
        mode: ``grid_sample`` interpolation mode.

    Returns:
        ``[B, C, H, W]``; UVs outside ``[0, 1]`` read the clamped border texel.
    """
    if texture.shape[0] == 1 and uv.shape[0] > 1:
        texture = texture.expand(uv.shape[0], -1, -1, -1)
    grid = uv_to_grid(uv).to(texture.dtype)
    return F.grid_sample(texture, grid, mode=mode, padding_mode="border", align_corners=False)
