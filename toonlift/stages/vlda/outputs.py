"""Everything VLDA writes for one avatar: maps, rotation and relighting grids, rotation GIF and MP4, meshes, metrics.

Every file is written atomically (``atomic_path``): a killed run leaves complete files or none.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from toonlift.export.mesh_export import depth_map_to_mesh, save_glb, save_obj
from toonlift.functional.shading import reference_light_direction
from toonlift.stages.vlda.reconstructor import Canonical, render_view
from toonlift.stages.vlda.vlda_params import shaded_texture
from toonlift.utils.images import make_grid, save_grid, save_image, to_uint8
from toonlift.utils.io import atomic_path, atomic_write_bytes, atomic_write_json, save_safetensors

MAPS_FORMAT = "toonlift.stages.vlda.maps"
# renderer settings stored with the maps so they can be re-rendered (``toonlift.stages.vlda.rendered_views``)
RENDERER_KEYS = ("fov", "min_depth", "max_depth", "rot_center_depth")
ROTATION_YAWS_DEG = (-60.0, -40.0, -20.0, 0.0, 20.0, 40.0, 60.0)
ROTATION_PITCHES_DEG = (-20.0, 0.0, 20.0)
RELIGHT_DX = (-1.5, -0.7, 0.0, 0.7, 1.5)
RELIGHT_DY = (0.0, 0.6)


def _views(pitches_deg: list[float], yaws_deg: list[float], device: torch.device) -> Tensor:
    rows = [[math.radians(p), math.radians(y), 0, 0, 0, 0] for p in pitches_deg for y in yaws_deg]
    return torch.tensor(rows, dtype=torch.float32, device=device)


def _geometry(renderer: nn.Module) -> dict:
    """The renderer settings needed to re-render saved maps (``toonlift.stages.vlda.rendered_views``)."""
    return {k: float(getattr(renderer, k)) for k in RENDERER_KEYS if hasattr(renderer, k)}


def _on_white(image: Tensor, mask: Tensor) -> Tensor:
    return image * mask + (1 - mask)


@torch.no_grad()
def rotation_renders(renderer: nn.Module, texture: Tensor, depth: Tensor, views: Tensor, chunk: int = 8) -> Tensor:
    """Renders ``[N, C, H, W]`` of a canonical texture ``[1, C, H, W]`` from ``views`` ``[N, 6]`` on white."""
    out = []
    for i in range(0, views.shape[0], chunk):
        img, mask, _ = render_view(renderer, texture, depth, views[i : i + chunk])
        out.append(_on_white(img, mask))
    return torch.cat(out)


@torch.no_grad()
def relight_renders(canon: Canonical, renderer: nn.Module, strength: float = 0.3) -> Tensor:
    """The input-view renders under GAN2Shape's relighting set (``dx`` x ``dy``, shift ``r``) ``[10, 3, H, W]``."""
    dxy = torch.tensor([[dx, dy] for dy in RELIGHT_DY for dx in RELIGHT_DX], device=canon.depth.device)
    directions = reference_light_direction(dxy)
    cos = (canon.normal * directions.view(-1, 1, 1, 3)).sum(-1).clamp_min(0).unsqueeze(1)  # [10, 1, H, W]
    a, b = canon.light.ambient.view(-1, 1, 1, 1), canon.light.diffuse.view(-1, 1, 1, 1)
    shading = a - 0.6 * strength + (b + strength) * cos
    texture = shaded_texture(canon.albedo, shading)
    img, mask, _ = render_view(renderer, texture, canon.depth, canon.view.expand(len(dxy), -1))
    return _on_white(img, mask)


def depth_image(depth: Tensor, min_depth: float = 0.9, max_depth: float = 1.1) -> Tensor:
    """``[1, H, W]`` depth to a ``[1, H, W]`` image in ``[-1, 1]`` (near = bright)."""
    return ((max_depth - depth) / (max_depth - min_depth) * 2 - 1).clamp(-1, 1)


def save_gif(frames: Tensor, path: Path, fps: int = 12) -> Path:
    """Write ``[N, 3, H, W]`` frames in ``[-1, 1]`` as a looping GIF, atomically."""
    import imageio.v3 as iio

    arr = to_uint8(frames)  # [N, H, W, 3]
    with atomic_path(path) as tmp:
        iio.imwrite(tmp, arr, extension=".gif", duration=int(1000 / fps), loop=0)
    return path


def save_mp4(frames: Tensor, path: Path, fps: int = 12) -> Path | None:
    """Write ``[N, 3, H, W]`` frames in ``[-1, 1]`` as an H.264 MP4 (yuv420p, plays in browsers), atomically.

    ffmpeg comes with the ``imageio-ffmpeg`` dependency. Where it cannot run (an unusual platform) the MP4 is skipped
    with a warning and ``None`` is returned: the GIF holds the same frames.
    """
    import imageio.v3 as iio

    try:
        # macro_block_size 2: H.264 needs even sides only; keep the frames unscaled
        data = iio.imwrite("<bytes>", to_uint8(frames), extension=".mp4", fps=fps, codec="libx264", macro_block_size=2)
    except Exception as err:  # noqa: BLE001 - any ffmpeg/plugin failure only costs this optional copy of the GIF
        why = f"{type(err).__name__}: {err}"
        warnings.warn(f"{path.name} not written ({why}); the GIF has the same frames.", stacklevel=2)
        return None
    atomic_write_bytes(path, data)
    return path


@torch.no_grad()
def write_avatar(
    out_dir: Path,
    canon: Canonical,
    image: Tensor,
    recon: Tensor,
    renderer: nn.Module,
    metrics: dict,
    mesh_mask: Tensor | None = None,
    gif_frames: int = 24,
) -> list[Path]:
    """Write one avatar's outputs into ``out_dir`` and return the written paths.

    Args:
        out_dir: the avatar's folder.
        canon: canonical prediction (batch 1).
        image: the input ``[1, 3, H, W]``.
        recon: its reconstruction ``[1, 3, H, W]``.
        renderer: the depth-map renderer.
        metrics: JSON-serialisable numbers for ``metrics.json``.
        mesh_mask: ``[H, W]`` bool region of the depth map to export as mesh (``None``: all of it).
        gif_frames: frames of the rotation GIF (yaw -60 -> 60 -> -60).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    dev = canon.depth.device
    written = [
        save_image(image[0], out_dir / "input.png"),
        save_image(recon[0], out_dir / "reconstruction.png"),
        save_image(depth_image(canon.depth, renderer.min_depth, renderer.max_depth), out_dir / "depth.png"),
        # normals in toonlift's frame face the camera (n_z < 0); show them the usual way (blue = towards viewer)
        save_image(
            canon.normal[0].permute(2, 0, 1) * torch.tensor([1.0, -1.0, -1.0], device=dev).view(3, 1, 1),
            out_dir / "normal.png",
        ),
        save_image(canon.albedo[0], out_dir / "albedo.png"),
        save_image(canon.shading[0] - 1, out_dir / "shading.png"),  # shading in [0, 2] -> [-1, 1]
        save_image(canon.texture[0], out_dir / "canonical.png"),
    ]
    maps = out_dir / "maps.safetensors"
    save_safetensors(
        maps,
        {"depth": canon.depth[0], "albedo": canon.albedo[0], "normal": canon.normal[0], "shading": canon.shading[0]},
        {"format": MAPS_FORMAT, "version": 1, "view": canon.view[0].tolist(), "renderer": _geometry(renderer)},
    )
    written.append(maps)
    views = _views(list(ROTATION_PITCHES_DEG), list(ROTATION_YAWS_DEG), dev)
    rot = rotation_renders(renderer, canon.texture, canon.depth, views)
    written.append(save_grid(rot, out_dir / "rotation_grid.png", nrow=len(ROTATION_YAWS_DEG)))
    shape_tex = canon.diffuse.expand(-1, 3, -1, -1) * 1.4 - 1  # grey Lambertian shape under a frontal light
    shape = rotation_renders(renderer, shape_tex, canon.depth, views)
    written.append(save_grid(shape, out_dir / "shape_rotation_grid.png", nrow=len(ROTATION_YAWS_DEG)))
    written.append(save_grid(relight_renders(canon, renderer), out_dir / "relight_grid.png", nrow=len(RELIGHT_DX)))
    half = np.linspace(-60, 60, max(gif_frames // 2, 2)).tolist()
    frames = rotation_renders(renderer, canon.texture, canon.depth, _views([0.0], half + half[::-1][1:-1], dev))
    written.append(save_gif(frames, out_dir / "rotation.gif"))
    mp4 = save_mp4(frames, out_dir / "rotation.mp4")
    written += [mp4] if mp4 is not None else []
    mesh = depth_map_to_mesh(canon.depth[0], renderer.K, canon.texture[0], mask=mesh_mask)
    written += save_obj(mesh, out_dir / "mesh.obj")
    written.append(save_glb(mesh, out_dir / "mesh.glb"))
    atomic_write_json(out_dir / "metrics.json", metrics)
    written.append(out_dir / "metrics.json")
    return written


def grid_image(images: Tensor, nrow: int) -> Tensor:
    """One ``[C, H', W']`` grid (for loggers)."""
    return make_grid(images, nrow=nrow)
