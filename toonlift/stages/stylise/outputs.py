"""What ``toonlift stylise`` writes for an avatar: rotation GIF, view grid, mesh, expression edits, style degrees.

Every file is written to a temporary name and renamed (``toonlift.utils.io.atomic_path``).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor

from toonlift.errors import DataError
from toonlift.plugins.eg3d.backbone import EG3DBackbone

BENCH_YAWS = [-36.0, -24.0, -12.0, 0.0, 12.0, 24.0, 36.0]  # 004's 7 views in [-pi/5, pi/5]


@torch.no_grad()
def render_yaws(g: EG3DBackbone, ws: Tensor, yaws_deg: list[float], pitch_deg: float = 0.0) -> tuple[Tensor, ...]:
    """``(images, depth, mask)`` of one latent ``[1, L, D]`` at orbit yaws (degrees): ``[Y, ...]`` each."""
    yaw = torch.tensor([math.radians(y) for y in yaws_deg])
    cams = g.orbit_cond(yaw, torch.full_like(yaw, math.radians(pitch_deg))).to(ws)
    out = g.synthesis(ws.expand(len(yaws_deg), -1, -1), cams, noise_mode="const")
    return out.image, out.depth, out.mask


@torch.no_grad()
def render_conds(g: EG3DBackbone, ws: Tensor, conds: Tensor) -> tuple[Tensor, ...]:
    """``(images, depth, mask)`` of one latent at explicit cameras ``[Y, 25]``."""
    out = g.synthesis(ws.expand(conds.shape[0], -1, -1), conds.to(ws), noise_mode="const")
    return out.image, out.depth, out.mask


def write_gif(frames: Tensor, path: Path, fps: int = 12) -> Path:
    """A looping GIF of frames ``[T, 3, H, W]`` in [-1, 1]."""
    from PIL import Image

    from toonlift.utils.images import to_uint8
    from toonlift.utils.io import atomic_path

    pics = [Image.fromarray(x) for x in to_uint8(frames)]
    with atomic_path(path) as tmp:
        pics[0].save(tmp, format="GIF", save_all=True, append_images=pics[1:], duration=int(1000 / fps), loop=0)
    return path


def rotation_sweep(g: EG3DBackbone, ws: Tensor, frames: int, yaw_max: float = 36.0) -> Tensor:
    """``frames`` renders with the yaw swept ``-yaw_max -> yaw_max -> -yaw_max`` (cosine)."""
    phase = torch.arange(frames, dtype=torch.float64) / frames * 2 * math.pi
    yaws = (-yaw_max + 2 * yaw_max * (1 - torch.cos(phase)) / 2).tolist()
    return render_yaws(g, ws, yaws)[0]


def write_mesh(g: EG3DBackbone, ws: Tensor, path: Path, resolution: int, level: float) -> tuple[Path, float]:
    """The density surface of the avatar as a mesh file; returns ``(path, level used)``. When ``level`` lies outside
    the field's range (an untrained or flattened field) the midpoint of the range is used instead."""
    from toonlift.export.mesh_export import export_mesh, mesh_from_tensors
    from toonlift.plugins.eg3d.mesh import density_grid_from_planes, mesh_from_density
    from toonlift.plugins.eg3d.renderer import query_points

    with torch.no_grad():
        planes = g.synthesize_planes(ws, "const")
        box = g.render_options.box_warp
        sigma = density_grid_from_planes(planes, g.decoder, box, resolution)
        lo, hi = float(sigma.min()), float(sigma.max())
        if not lo < level < hi:
            if not lo < hi:
                raise DataError("The avatar's density field is constant, so it has no surface to export as a mesh.")
            level = (lo + hi) / 2
        verts, faces = mesh_from_density(sigma, level, box)
        rgb, _ = query_points(planes, g.decoder, verts.to(planes)[None], box)
    colors = (rgb[0, :, :3] * 2 - 1).clamp(-1, 1).float().cpu()
    export_mesh(mesh_from_tensors(verts.float(), faces, vertex_colors=colors), path)
    return path, level


@torch.no_grad()
def edit_grid(g: EG3DBackbone, ws: Tensor, normals: dict[str, Tensor], distances: list[float], cond: Tensor) -> Tensor:
    """Renders ``[E * D, 3, H, W]`` of ``ws + d * normal`` (each attribute a row, each distance a column)."""
    rows = []
    for normal in normals.values():
        edited = torch.cat([ws + d * normal.to(ws).view(1, 1, -1) for d in distances])
        rows.append(g.synthesis(edited, cond.to(ws).expand(len(distances), -1), noise_mode="const").image)
    return torch.cat(rows)


def write_avatar(
    avatar: object,
    out: Path,
    rotation_frames: int = 24,
    mesh_resolution: int = 64,
    mesh_level: float = 10.0,
    normals: dict[str, Tensor] | None = None,
    edit_distances: tuple[float, ...] = (-2.0, 0.0, 2.0),
    degrees: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0),
) -> dict[str, object]:
    """Write an :class:`~toonlift.stages.your3demoji.pipeline.Avatar` into the folder ``out``; returns the summary.

    Files: ``views.png`` (rows: photo-style generator, stylised generator; columns: the 7 benchmark yaws),
    ``rotation.gif`` and ``rotation.mp4`` (the same frames), ``avatar.ply`` (``mesh_resolution > 0``), ``edits.png``
    (one row per edit direction, columns ``edit_distances``), ``style_degree.png`` (the input's view at each style
    degree) and ``summary.json``.
    """
    from toonlift.utils.images import save_grid
    from toonlift.utils.io import atomic_write_json

    g, ws, cond = avatar.generator, avatar.ws, avatar.cond
    photo = render_yaws(avatar.photo_generator, ws, BENCH_YAWS)[0]
    styl = render_yaws(g, ws, BENCH_YAWS)[0]
    save_grid(torch.cat([photo, styl]), out / "views.png", nrow=len(BENCH_YAWS))
    files = ["views.png"]
    if rotation_frames > 0:
        from toonlift.stages.vlda.outputs import save_mp4

        frames = rotation_sweep(g, ws, rotation_frames)
        write_gif(frames, out / "rotation.gif")
        files.append("rotation.gif")
        if save_mp4(frames, out / "rotation.mp4") is not None:  # H.264 through imageio-ffmpeg; skipped with a warning
            files.append("rotation.mp4")
    summary: dict[str, object] = {"seconds": avatar.seconds}
    if mesh_resolution > 0:
        _, level = write_mesh(g, ws, out / "avatar.ply", mesh_resolution, mesh_level)
        files.append("avatar.ply")
        summary["mesh_level"] = level
    if normals:
        save_grid(edit_grid(g, ws, normals, list(edit_distances), cond), out / "edits.png", nrow=len(edit_distances))
        files.append("edits.png")
        summary["edits"] = {"rows": list(normals), "distances": list(edit_distances)}
    with torch.no_grad():
        strip = torch.cat([avatar.at_degree(t).synthesis(ws, cond, noise_mode="const").image for t in degrees])
    save_grid(strip, out / "style_degree.png", nrow=len(degrees))
    files.append("style_degree.png")
    summary["style_degrees"] = list(degrees)
    summary["files"] = files + ["summary.json"]
    summary["final_losses"] = {k: v[-1] for k, v in avatar.history.items() if v}
    atomic_write_json(out / "summary.json", summary)
    return summary
