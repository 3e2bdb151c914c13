"""A coloured triangle mesh from an EG3D generator's density field (marching cubes, scikit-image).

The raw density (the decoder's first output, before the marcher's ``softplus(sigma - 1)``) is sampled on an
``N^3`` grid over the tri-planes' cube (side ``box_warp``, centred at the origin) and its ``level`` iso-surface is
extracted; EG3D's ``gen_samples.py`` uses level 10 on the same field. Vertices are in EG3D's world frame, which is
already the export frame (``+Y`` up, ``+Z`` toward the frontal camera), faces wind counter-clockwise seen from
outside, and vertices are coloured by the decoder's RGB there. Hand the tensors to
``toonlift.export.mesh_export.mesh_from_tensors`` / ``export_mesh`` to write OBJ, GLB or PLY.
"""

from __future__ import annotations

import torch
from torch import Tensor

from toonlift.errors import ConfigError, DataError
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.plugins.eg3d.decoder import TriplaneDecoder
from toonlift.plugins.eg3d.renderer import query_points


@torch.no_grad()
def density_grid_from_planes(
    planes: Tensor, decoder: TriplaneDecoder, box_warp: float, resolution: int, chunk: int = 1 << 18
) -> Tensor:
    """Raw densities ``[N, N, N]`` (indexed x, y, z) of tri-planes ``[1, 3, C, P, P]`` on the cube's grid."""
    if resolution < 2:
        raise ConfigError(f"A density grid needs resolution >= 2, got {resolution}.")
    half = box_warp / 2
    axis = torch.linspace(-half, half, resolution, device=planes.device, dtype=planes.dtype)
    pts = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1).reshape(1, -1, 3)
    sigma = torch.cat([query_points(planes, decoder, p, box_warp)[1] for p in pts.split(chunk, 1)], 1)
    return sigma.reshape(resolution, resolution, resolution)


def mesh_from_density(sigma: Tensor, level: float, box_warp: float) -> tuple[Tensor, Tensor]:
    """``(vertices [V, 3], faces [F, 3])`` of the ``level`` surface of a grid ``[N, N, N]`` over the cube."""
    try:
        from skimage.measure import marching_cubes
    except ImportError as err:
        raise ConfigError(
            "EG3D mesh extraction needs scikit-image (marching cubes): pip install scikit-image."
        ) from err
    lo, hi = float(sigma.min()), float(sigma.max())
    if not lo < level < hi:
        raise DataError(
            f"The density field ranges over [{lo:.3g}, {hi:.3g}], so the level {level} has no surface; choose a level "
            "inside that range (EG3D uses 10 for its trained generators)."
        )
    step = box_warp / (sigma.shape[0] - 1)
    verts, faces, _, _ = marching_cubes(sigma.float().cpu().numpy(), level=level, spacing=(step, step, step))
    # skimage winds its triangles clockwise seen from the side the density descends to (outside, for a density
    # that grows inward); swap two corners for the counter-clockwise-from-outside order the mesh export expects
    faces = torch.from_numpy(faces[:, [0, 2, 1]].astype("int64"))
    return torch.from_numpy(verts.copy()) - box_warp / 2, faces


@torch.no_grad()
def extract_mesh(
    g: EG3DBackbone, ws: Tensor, resolution: int = 128, level: float = 10.0, noise_mode: str = "const"
) -> tuple[Tensor, Tensor, Tensor]:
    """``(vertices [V, 3], faces [F, 3] int64, colours [V, 3] in [-1, 1])`` of one latent's density surface.

    Args:
        g: the generator.
        ws: one latent, ``[1, w_dim]`` or ``[1, num_ws, w_dim]``.
        resolution: grid side ``N``.
        level: iso-level of the raw density.
        noise_mode: tri-plane noise.
    """
    planes = g.synthesize_planes(ws, noise_mode)
    if planes.shape[0] != 1:
        raise ConfigError(f"extract_mesh takes one latent at a time, got a batch of {planes.shape[0]}.")
    box = g.render_options.box_warp
    verts, faces = mesh_from_density(density_grid_from_planes(planes, g.decoder, box, resolution), level, box)
    rgb, _ = query_points(planes, g.decoder, verts.to(planes)[None], box)
    return verts.float(), faces, (rgb[0, :, :3] * 2 - 1).clamp(-1, 1).float().cpu()
