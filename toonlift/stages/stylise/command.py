"""``toonlift stylise``: one exemplar (an image file or a world render) -> a 3D-aware stylised avatar.

    toonlift stylise --method artmator --exemplar-world 3,ink,30 --generator eg3d.safetensors --out out/art
    toonlift stylise --method your3demoji --exemplar my_toon.png --input me.png --generator eg3d.safetensors \\
        --generator_2d toonlift/assets/synthetic_photo_g.safetensors --out out/emoji

Writes, per avatar, ``views.png``, ``rotation.gif``, ``rotation.mp4``, ``avatar.ply``, ``edits.png`` (expression
directions fitted in the original generator), ``style_degree.png`` and ``summary.json`` (see
``stages/stylise/outputs.py``).
Settings of either method change with ``--set name=value`` (the fields of ``Your3dEmojiSettings`` /
``ArtmatorSettings``), e.g. ``--set dual_steps=50``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from toonlift.errors import CheckpointError, ConfigError

METHODS = ("your3demoji", "artmator")
ASSETS = Path(__file__).resolve().parents[2] / "assets"
ASSET_G2D = str(ASSETS / "synthetic_photo_g.safetensors")
ASSET_G3D = str(ASSETS / "synthetic_eg3d_lite_g.safetensors")  # the shipped EG3D-lite (configs/eg3d_lite.yaml)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="toonlift stylise", description=__doc__.splitlines()[0])
    p.add_argument("--method", required=True, help="your3demoji or artmator")
    ex = p.add_mutually_exclusive_group(required=True)
    ex.add_argument("--exemplar", help="style exemplar image file (PNG, JPEG, WebP)")
    ex.add_argument("--exemplar-world", "--exemplar_world", dest="exemplar_world", help="FACE,DOMAIN,YAW world render")
    p.add_argument(
        "--exemplar-yaw",
        "--exemplar_yaw",
        dest="exemplar_yaw",
        type=float,
        default=0.0,
        help="orbit yaw (degrees) of an exemplar image; artmator: --set search_camera=true searches it",
    )
    inp = p.add_mutually_exclusive_group()
    inp.add_argument("--input", help="input photo file (your3demoji needs an input; artmator: default = the exemplar)")
    inp.add_argument("--input-world", "--input_world", dest="input_world", help="FACE,YAW photo render of the world")
    p.add_argument("--input-yaw", "--input_yaw", dest="input_yaw", type=float, default=0.0, help="yaw of --input")
    p.add_argument(
        "--generator",
        default=None,
        help="an eg3d export (.safetensors with its .json); default: the shipped EG3D-lite (synthetic world)",
    )
    p.add_argument(
        "--generator_2d",
        default=None,
        help="your3demoji: StyleGAN2 photo generator (default: the shipped synthetic_photo_g)",
    )
    p.add_argument("--discriminator_2d", default=None, help="your3demoji: its discriminator (default: the shipped one)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--rotation_frames", type=int, default=24)
    p.add_argument("--mesh_resolution", type=int, default=64, help="0: no mesh")
    p.add_argument("--mesh_level", type=float, default=10.0)
    p.add_argument("--boundaries", nargs="*", default=None, help="fit-boundary files (default: fitted here)")
    p.add_argument("--boundary_samples", type=int, default=200, help="latents for the fitted edit directions")
    return p


def parse_settings(cls: type, pairs: list[str]) -> object:
    """A settings dataclass from ``NAME=VALUE`` strings (values cast to the field's type)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in fields:
            raise ConfigError(f"--set '{pair}': give NAME=VALUE with NAME one of {', '.join(fields)}.")
        kind = type(getattr(cls(), name))
        try:
            kwargs[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
        except ValueError:
            raise ConfigError(f"--set '{pair}': {name} takes a {kind.__name__}, got '{value}'.") from None
    return cls(**kwargs)


def main(argv: list[str]) -> int:
    """Entry of ``toonlift stylise``."""
    import torch

    from toonlift.plugins.eg3d.backbone import EG3DBackbone
    from toonlift.plugins.export import load_model
    from toonlift.plugins.losses.analyser_perceptual import AnalyserPerceptualLoss
    from toonlift.stages.artmator.pipeline import Artmator, ArtmatorSettings
    from toonlift.stages.stylise.edits import fit_edit_normals, load_edit_normals
    from toonlift.stages.stylise.inputs import image_view, world_view
    from toonlift.stages.stylise.outputs import write_avatar
    from toonlift.stages.your3demoji.pipeline import Your3dEmoji, Your3dEmojiSettings
    from toonlift.utils.output_dirs import check_writable_folder

    a = _parser().parse_args(argv)
    if a.method not in METHODS:
        raise ConfigError(f"--method must be one of {', '.join(METHODS)}, got '{a.method}'.")
    settings = parse_settings(Your3dEmojiSettings if a.method == "your3demoji" else ArtmatorSettings, a.settings)
    if a.method == "your3demoji" and a.input is None and a.input_world is None:
        raise ConfigError(
            "your3demoji makes the avatar of an input photo: give --input FILE or --input-world FACE,YAW."
        )
    if a.rotation_frames < 0 or a.mesh_resolution < 0 or a.mesh_resolution == 1:
        raise ConfigError("--rotation_frames must be >= 0 and --mesh_resolution 0 (none) or >= 2.")
    out = check_writable_folder(a.out, "output folder (--out)")  # before any work
    if a.generator is None:
        a.generator = ASSET_G3D
    g = load_model(a.generator, kind="backbones").eval()
    if not isinstance(g, EG3DBackbone):
        raise CheckpointError(f"'{a.generator}' holds a {type(g).__name__}; --generator must be an EG3D export (eg3d).")
    size = g.resolution
    exemplar = world_view(a.exemplar_world, size) if a.exemplar_world else image_view(a.exemplar, g, a.exemplar_yaw)
    photo = None
    if a.input_world:
        photo = world_view(a.input_world, size, with_domain=False)
    elif a.input:
        photo = image_view(a.input, g, a.input_yaw)
    distance = AnalyserPerceptualLoss().distance
    t0 = time.perf_counter()
    if a.method == "your3demoji":
        g2 = load_model(a.generator_2d or ASSET_G2D, kind="backbones").eval()
        d2 = load_model(a.discriminator_2d or ASSET_G2D.replace("_g.", "_d."), kind="discriminators").eval()
        method = Your3dEmoji(g2, d2, g, distance, settings)
        method.prepare(exemplar.image)
    else:
        method = Artmator(g, distance, settings)
        search = a.exemplar is not None and settings.search_camera
        method.prepare(exemplar.image, None if search else exemplar.cond)
    avatar = method.avatar(None if photo is None else photo.image, None if photo is None else photo.cond)
    avatar.seconds = {**method.seconds, **avatar.seconds}
    avatar.history = {**getattr(method, "history", {}), **avatar.history}  # 3DArtmator's stage losses too
    if a.boundaries:
        normals = load_edit_normals(a.boundaries, g.w_dim)
    else:
        normals, _ = fit_edit_normals(g, num=a.boundary_samples, seed=0)
    with torch.no_grad():
        summary = write_avatar(avatar, out, a.rotation_frames, a.mesh_resolution, a.mesh_level, normals)
    print(f"{a.method}: wrote {', '.join(summary['files'])} to {out} in {time.perf_counter() - t0:.1f} s")
    return 0
