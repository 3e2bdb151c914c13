"""``toonlift eg3d-views``: an EG3D generator's faces at fixed yaws (image, raw render and depth grids) and meshes.

Each seed's latent is mapped with the frontal camera (EG3D's ``gen_samples.py`` conditions on a fixed camera, so
the identity stays put while the render camera moves) and rendered at every yaw with deterministic sampling. Writes
``views.png`` (rows: seeds, columns: yaws), ``raw.png`` (the neural renders), ``depth.png`` (near = bright, over the
ray range), with ``--rotation_frames N > 0`` a ``seed{NNNN}_rotation.gif`` per seed (yaw swept back and forth
across the ``--yaws`` range in ``N`` frames) and ``rotation.gif`` with all seeds side by side, and, with
``--mesh_resolution > 0``, ``seed{NNNN}.{ply,obj,glb}`` meshes of the density field.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from jsonargparse import ArgumentParser
from torch import Tensor

from toonlift.errors import CheckpointError, ConfigError
from toonlift.plugins.eg3d.backbone import EG3DBackbone
from toonlift.utils.output_dirs import check_writable_folder


@torch.no_grad()
def render_views(
    g: EG3DBackbone, seeds: list[int], yaws_deg: list[float], pitch_deg: float = 0.0, truncation: float = 0.7
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(images, raw, depth, ws)``: ``[S * Y, ...]`` renders (seed-major) and the ``[S, num_ws, w_dim]`` latents."""
    z = torch.cat([g.sample_z(1, generator=torch.Generator().manual_seed(s), device="cpu") for s in seeds]).to(
        g.mapping_net.w_avg
    )
    ws = g.mapping(z, g.default_cond(len(seeds)), truncation=truncation)
    yaw = torch.tensor([math.radians(y) for y in yaws_deg]).repeat(len(seeds))
    cams = g.orbit_cond(yaw, torch.full_like(yaw, math.radians(pitch_deg))).to(ws)
    out = g.synthesis(ws.repeat_interleave(len(yaws_deg), dim=0), cams, noise_mode="const")
    lo, hi = g.render_options.ray_start, g.render_options.ray_end
    depth = (1 - 2 * (out.depth - lo) / (hi - lo)).clamp(-1, 1) * out.mask.clamp(0, 1) - (1 - out.mask.clamp(0, 1))
    return out.image, out.image_raw, depth, ws


def write_rotation_gif(
    g: EG3DBackbone,
    seed: int | list[int],
    yaw_min: float,
    yaw_max: float,
    frames: int,
    pitch: float,
    truncation: float,
    path: Path,
) -> Path:
    """A looping GIF with the yaw swept ``min -> max -> min`` (cosine, ``frames`` frames, 12 fps); several seeds are
    tiled side by side in one GIF."""
    from PIL import Image

    from toonlift.utils.images import to_uint8
    from toonlift.utils.io import atomic_path

    seeds = [seed] if isinstance(seed, int) else list(seed)
    phase = torch.arange(frames, dtype=torch.float64) / frames * 2 * math.pi
    yaws = (yaw_min + (yaw_max - yaw_min) * (1 - torch.cos(phase)) / 2).tolist()
    images, _, _, _ = render_views(g, seeds, yaws, pitch, truncation)  # [S * F, 3, H, W], seed-major
    _, c, h, w = images.shape
    tiled = images.reshape(len(seeds), frames, c, h, w).permute(1, 2, 3, 0, 4).reshape(frames, c, h, len(seeds) * w)
    pics = [Image.fromarray(x) for x in to_uint8(tiled)]
    with atomic_path(path) as tmp:
        pics[0].save(tmp, format="GIF", save_all=True, append_images=pics[1:], duration=83, loop=0)
    return path


def _parser() -> ArgumentParser:
    p = ArgumentParser(prog="toonlift eg3d-views", description=__doc__.splitlines()[0])
    p.add_argument("--generator", type=str, required=True, help="an eg3d export (.safetensors with its .json)")
    p.add_argument("--output_dir", type=str, required=True)
    p.add_argument("--seeds", type=list[int], default=[0, 1, 2, 3])
    p.add_argument("--yaws", type=list[float], default=[-30.0, -15.0, 0.0, 15.0, 30.0], help="degrees")
    p.add_argument("--pitch", type=float, default=0.0, help="degrees")
    p.add_argument("--truncation", type=float, default=0.7)
    p.add_argument("--rotation_frames", type=int, default=0, help="frames of a rotation GIF per seed; 0: none")
    p.add_argument("--mesh_resolution", type=int, default=0, help="marching-cubes grid side; 0: no meshes")
    p.add_argument("--mesh_level", type=float, default=10.0, help="iso-level of the raw density (EG3D: 10)")
    p.add_argument("--mesh_format", type=str, default="ply", help="ply, obj or glb")
    return p


def main(argv: list[str]) -> int:
    """Entry of ``toonlift eg3d-views``."""
    from toonlift.export.mesh_export import export_mesh, mesh_from_tensors
    from toonlift.plugins.eg3d.mesh import extract_mesh
    from toonlift.plugins.export import load_model
    from toonlift.utils.images import save_grid

    a = _parser().parse_args(argv)
    if not a.seeds or not a.yaws:
        raise ConfigError("eg3d-views needs at least one seed (--seeds) and one yaw (--yaws).")
    out = check_writable_folder(a.output_dir, "output folder (--output_dir)")
    g = load_model(a.generator, kind="backbones")
    if not isinstance(g, EG3DBackbone):
        raise CheckpointError(f"'{a.generator}' holds a {type(g).__name__}, not an EG3D generator (eg3d).")
    images, raw, depth, ws = render_views(g, a.seeds, a.yaws, a.pitch, a.truncation)
    for name, x in (("views", images), ("raw", raw), ("depth", depth)):
        save_grid(x, out / f"{name}.png", nrow=len(a.yaws))
    for seed in a.seeds if a.rotation_frames > 0 else []:
        write_rotation_gif(g, seed, min(a.yaws), max(a.yaws), a.rotation_frames, a.pitch, a.truncation,
                           out / f"seed{seed:04d}_rotation.gif")  # fmt: skip
    if a.rotation_frames > 0 and len(a.seeds) > 1:
        write_rotation_gif(g, a.seeds, min(a.yaws), max(a.yaws), a.rotation_frames, a.pitch, a.truncation,
                           out / "rotation.gif")  # fmt: skip
    for i, seed in enumerate(a.seeds if a.mesh_resolution > 0 else []):
        verts, faces, colors = extract_mesh(g, ws[i : i + 1], a.mesh_resolution, a.mesh_level)
        export_mesh(mesh_from_tensors(verts, faces, vertex_colors=colors), out / f"seed{seed:04d}.{a.mesh_format}")
    print(f"wrote {out}/views.png, raw.png, depth.png" + (" and meshes" if a.mesh_resolution > 0 else ""))
    return 0
