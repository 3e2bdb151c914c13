"""``toonlift styleuv``: a StyleGAN2 latent, a seed or a photo to a textured, displaced 3D face with renders.

    toonlift styleuv --seed 3 --out outputs/styleuv_seed3
    toonlift styleuv --latent my_w.safetensors --out outputs/styleuv_mine --parts P --uv-generator U
    toonlift styleuv --image portrait.jpg --out outputs/styleuv_photo --steps 200

Writes into ``--out``: ``face.obj`` (+ ``.mtl`` + texture PNG) and ``face.glb`` (the rig mesh of ``F_3D(w)``,
displaced, neutral pose, with the diffuse UV map as texture), ``diffuse.png`` / ``displacement.png`` (the UV maps),
``views.png`` (the latent's StyleGAN2 image, the render at F_3D's own pose pasted on it, then frontal renders
at yaw -60...60), ``edits.png`` (neutral expression, relit from four directions, jaw open / smile / brows raised /
blink, the diffuse map and the displacement map stretched to its own min..max), ``styleuv.png`` (both rows) and
``styleuv.json`` (the coefficients, paths).

``--image``: the photo's face is found, framed like the rig's mean face and inverted into the generator
(``photo_input.py``: the avatar command's detector and crop, toonlift's StyleGAN2 projector); ``views.png`` then
starts with the face crop, and the folder also holds ``photo.png`` (the crop), ``projection.png`` (the crop at the
generator's side | G(w)) and ``latent.safetensors`` (the code, for ``--latent``); ``styleuv.json`` gains
``input`` (photo, face box, the projector's residuals).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.export.mesh_export import camera_to_export_frame, export_mesh, mesh_from_tensors
from toonlift.functional.seeds import latents_from_seeds
from toonlift.functional.shading import lambert_sh_coefficients
from toonlift.plugins.head_rig.backbone import rig_camera_vertices
from toonlift.plugins.head_rig.latent import SLICES, split_latent
from toonlift.stages.styleuv.assets import load_photo_generator
from toonlift.stages.styleuv.parts import StyleUVParts, load_parts
from toonlift.stages.styleuv.photo_input import PhotoInversion, invert_photo
from toonlift.stages.styleuv.uv_generator import UVGenerator, load_uv_generator
from toonlift.stages.styleuv.uv_render import UVRigRenderer
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.utils.images import make_grid, save_image
from toonlift.utils.io import atomic_write_json, load_safetensors, safe_torch_load, save_safetensors
from toonlift.utils.output_dirs import check_writable_folder

YAWS = (-60.0, -45.0, -30.0, -15.0, 0.0, 15.0, 30.0, 45.0, 60.0)
LIGHTS = ((-0.8, -0.3), (0.8, -0.3), (0.0, -0.9), (0.0, 0.6))  # (x, y) of the light direction, +y down
DEFAULT_DIR = Path("outputs/styleuv")


def read_latent(path: str | Path, num_ws: int) -> Tensor:
    """A W (``[D]``/``[1, D]``) or W+ (``[L, D]``/``[1, L, D]``) code from a .safetensors or .pt file: ``[1, L, D]``."""
    p = Path(path)
    if p.suffix == ".safetensors":
        tensors, _ = load_safetensors(p, "latent file")
        obj = next((tensors[k] for k in ("w_plus", "ws", "latent", "w") if k in tensors), None)
    else:
        obj = safe_torch_load(p, "latent file")
        if isinstance(obj, dict):
            obj = next((obj[k] for k in ("w_plus", "ws", "latent", "w") if isinstance(obj.get(k), Tensor)), None)
    if not isinstance(obj, Tensor):
        raise ConfigError(f"'{p}' holds no latent tensor (keys w_plus, ws, latent or w).")
    t = obj.float()
    while t.dim() > 2 and t.shape[0] == 1:
        t = t[0]
    if t.dim() == 2 and t.shape[0] == 1:
        t = t[0]
    if t.dim() == 1:
        t = t[None].expand(num_ws, -1)
    if t.dim() != 2 or t.shape[0] != num_ws:
        raise ConfigError(f"'{p}': expected a W [D] or W+ [{num_ws}, D] code, got shape {tuple(obj.shape)}.")
    return t[None].contiguous()


def light_sh(latent: Tensor, direction: tuple[float, float]) -> Tensor:
    """A Lambert light from ``direction`` (camera frame, towards the light), as SH, with the latent's brightness."""
    d = torch.tensor([[direction[0], direction[1], -1.0]])
    d = d / d.norm()
    base = float(latent[0, SLICES["light"].start]) / (2 * math.sqrt(math.pi))  # ambient-ish level of the DC term
    return lambert_sh_coefficients(d, max(0.25, 0.6 * base), 0.6)


def with_values(latent: Tensor, **values: Tensor | float) -> Tensor:
    """Copy of ``latent [1, 53]`` with named slices or single values (``yaw``, ``light``, an expression) replaced."""
    out = latent.clone()
    for name, value in values.items():
        if name == "yaw":
            out[:, SLICES["pose"].start] = value
        elif name in SLICES:
            out[:, SLICES[name]] = value
        else:
            out[:, SLICES["expression"].start + EXPRESSION_NAMES.index(name)] = value
    return out


def frontal(latent: Tensor) -> Tensor:
    """The latent with pose (yaw, pitch, roll) zeroed."""
    out = latent.clone()
    out[:, SLICES["pose"]] = 0
    return out


@dataclass
class Models:
    """What the command reads, loaded (and so checked) before any long work."""

    generator: torch.nn.Module
    parts: StyleUVParts
    uv_gen: UVGenerator
    uv_meta: dict
    parts_path: Path
    uv_path: Path

    @classmethod
    def load(cls, generator_path: str | None, parts_path: str | Path, uv_path: str | Path) -> Models:
        uv_gen, uv_meta = load_uv_generator(uv_path)
        return cls(load_photo_generator(generator_path), load_parts(parts_path), uv_gen, uv_meta, Path(parts_path),
                   Path(uv_path))  # fmt: skip


@torch.no_grad()
def run(w_plus: Tensor, out: Path, models: Models, size: int, photo: PhotoInversion | None = None) -> dict:
    """Every output file of ``w_plus`` ``[1, L, D]`` (and of the ``photo`` it was inverted from) into ``out``."""
    generator, parts, uv_gen, uv_meta = models.generator, models.parts, models.uv_gen, models.uv_meta
    renderer = UVRigRenderer(image_size=size, uv_size=uv_gen.size, detail="high",
                             displacement_scale=float(uv_meta.get("displacement_scale", 0.05)))  # fmt: skip
    image = generator.synthesis(w_plus, noise_mode="const").image
    latent = parts.coeff(w_plus)
    diffuse, disp = uv_gen(w_plus)
    white = torch.ones(1, 3, size, size)
    up = torch.nn.functional.interpolate(image, size=(size, size), mode="bilinear", antialias=True)

    def draw(lat: Tensor) -> Tensor:
        return renderer(lat, diffuse, disp, background=white, visibility=False).image

    own = renderer(latent, diffuse, disp, background=up, visibility=False).image  # F_3D's own pose, pasted
    views = [up, own] + [draw(with_values(frontal(latent), yaw=a)) for a in YAWS]
    if photo is not None:  # the input face first, then G(w) of its code
        views.insert(0, torch.nn.functional.interpolate(photo.crop, size=(size, size), mode="area"))
    neutral = with_values(frontal(latent), expression=0.0)
    relit = [draw(with_values(neutral, light=light_sh(latent, d))) for d in LIGHTS]
    edits = [draw(with_values(neutral, jaw_open=0.8))]
    edits += [draw(with_values(neutral, smile_left=1.0, smile_right=1.0))]
    edits += [draw(with_values(neutral, brow_raise_left=1.0, brow_raise_right=1.0))]
    edits += [draw(with_values(neutral, blink_left=1.0, blink_right=1.0))]
    span = (disp - disp.amin()) / (disp.amax() - disp.amin()).clamp_min(1e-6) * 2 - 1  # shown min..max
    maps = torch.nn.functional.interpolate(torch.cat([diffuse.clamp(-1, 1), span.expand(-1, 3, -1, -1)]), size=size)
    out.mkdir(parents=True, exist_ok=True)
    save_image(make_grid(torch.cat(views), nrow=len(views)), out / "views.png")
    row2 = torch.cat([draw(neutral), *relit, *edits, maps])
    save_image(make_grid(row2, nrow=len(row2)), out / "edits.png")
    save_image(make_grid(torch.cat([torch.cat(views), row2]), nrow=len(views)), out / "styleuv.png")
    save_image(diffuse[0].clamp(-1, 1), out / "diffuse.png")
    save_image(disp[0].expand(3, -1, -1), out / "displacement.png")
    files = export_face(renderer, neutral, diffuse, disp, out)
    lat = split_latent(latent)
    info = {
        "coefficients": {
            name: getattr(lat, name)[0].tolist() for name in ("identity", "expression", "albedo", "light", "pose")
        },  # fmt: skip
        "yaws": list(YAWS),
        "files": [str(p) for p in files],
        "parts": str(models.parts_path),
        "uv_generator": str(models.uv_path),
        "displacement_range": [float(disp.min()), float(disp.max())],
    }
    if photo is not None:
        info["input"] = {**photo.info, "notes": photo.notes}
        info["files"] += [str(p) for p in save_photo_files(photo, out)]
    atomic_write_json(out / "styleuv.json", info)
    return info


def save_photo_files(photo: PhotoInversion, out: Path) -> list[Path]:
    """``photo.png`` (the face crop), ``projection.png`` (crop at G's side | G(w)), ``latent.safetensors``."""
    save_image(photo.crop[0], out / "photo.png")
    save_image(torch.cat([photo.target[0], photo.projection[0].clamp(-1, 1)], dim=2), out / "projection.png")
    meta = {"format": "toonlift.styleuv.photo_latent", "image": photo.info["image"]}
    save_safetensors(out / "latent.safetensors", {"w_plus": photo.w_plus[0].contiguous()}, meta)
    return [out / "photo.png", out / "projection.png", out / "latent.safetensors"]


def export_face(renderer: UVRigRenderer, latent: Tensor, diffuse: Tensor, disp: Tensor, out: Path) -> list[Path]:
    """OBJ (+ MTL + PNG) and GLB of the displaced, frontal rig mesh with the diffuse map as texture."""
    r = renderer(latent, diffuse, disp, visibility=False)
    verts = rig_camera_vertices(r.object_vertices, latent[:, SLICES["pose"]])[0]
    mesh = mesh_from_tensors(camera_to_export_frame(verts, 1.0, 10.0), renderer.rig.faces, renderer.rig.uv,
                             diffuse[0].clamp(-1, 1))  # fmt: skip
    return export_mesh(mesh, out / "face.obj") + export_mesh(mesh, out / "face.glb")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="toonlift styleuv", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--seed", type=int, help="z seed of the generator's mapping")
    src.add_argument("--latent", help="W [D] or W+ [L, D] code (.safetensors or .pt)")
    src.add_argument("--image", help="a photo with a face: found, framed and inverted into the generator first")
    p.add_argument("--out", required=True)
    p.add_argument("--parts", default=str(DEFAULT_DIR / "parts.safetensors"), help="F_3D / d / F_yaw file")
    p.add_argument("--uv-generator", default=str(DEFAULT_DIR / "uv_generator.safetensors"))
    p.add_argument("--generator", default=None, help="StyleGAN2 export (default: the shipped photo generator)")
    p.add_argument("--size", type=int, default=128, help="render side in pixels")
    p.add_argument("--truncation", type=float, default=1.0)
    g = p.add_argument_group("--image (a photo)")
    g.add_argument("--steps", type=int, default=200, help="projector steps")
    g.add_argument("--face", type=int, default=None, help="which face when several are found (0 = the largest)")
    g.add_argument("--detector", default="dlib68", help="landmark detector for the crop: dlib68 or mediapipe")
    g.add_argument("--per-layer-w", action="store_true", help="free W+ code (default: one w, what F_3D saw)")
    g.add_argument("--lpips-weights", default=None, help="vgg16 weights: LPIPS instead of the analyser distance")
    g.add_argument("--projection-seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.image is not None and a.steps < 1:
        raise ConfigError(f"toonlift styleuv: --steps must be >= 1 (projector steps for --image), got {a.steps}.")
    check_writable_folder(a.out, "output folder (--out)")  # before any work
    # A context, not torch.set_grad_enabled(False): main() also runs inside other processes (tests, notebooks).
    photo = None
    with torch.no_grad():
        models = Models.load(a.generator, a.parts, a.uv_generator)  # a bad file is refused before the projection
        generator = models.generator
        if a.image is not None:
            photo = invert_photo(
                a.image, generator, a.steps, a.face, a.detector, a.per_layer_w, a.lpips_weights, a.projection_seed
            )
            for note in photo.notes:
                print(note)
            w_plus = photo.w_plus
        elif a.seed is not None:
            z = latents_from_seeds(torch.tensor([a.seed]), generator.z_dim)
            lat_avg = generator.mean_latent(4096, torch.Generator().manual_seed(0)) if a.truncation != 1 else None
            w_plus = generator.mapping(z, truncation=a.truncation, truncation_latent=lat_avg)
        else:
            w_plus = read_latent(a.latent, generator.num_ws)
        info = run(w_plus, Path(a.out), models, a.size, photo)
    summary = {"out": a.out, "files": info["files"]}
    if photo is not None:
        summary["projection"] = {k: photo.info["projection"][k] for k in ("loss_first", "loss_last", "l1")}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
