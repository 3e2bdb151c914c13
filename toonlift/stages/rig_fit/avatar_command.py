"""Entry point of ``toonlift avatar --image PHOTO --out DIR``: reconstruct, rig and write (see ``avatar.py``).

Nothing half-written: the output folder's parent is checked before any work, every file goes into a temporary
folder beside ``--out`` (``.NAME.tmp-PID``), and only a complete result is renamed to ``--out`` (an existing
``--out`` is replaced as a whole). A failure removes the temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import torch

from toonlift.errors import ConfigError, OutputError
from toonlift.stages.rig_fit.avatar import CROP, DETECTORS, reconstruct
from toonlift.stages.rig_fit.avatar_files import write_avatar_files
from toonlift.stages.rig_fit.photo_face import read_photo
from toonlift.utils.output_dirs import check_writable_folder, describe_os_error


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="toonlift avatar",
        description="One portrait to a textured, rigged 3D cartoon face (seed 002): OBJ, GLB with 57 morph targets, "
        "viewer.html, depth/normal maps, a rotation GIF and metrics.json.",
    )
    p.add_argument("--image", required=True, type=Path, help="the portrait (PNG, JPEG, ...)")
    p.add_argument("--out", required=True, type=Path, help="output folder (replaced as a whole when complete)")
    p.add_argument("--face", type=int, default=None, help="which face when there are several (0 = largest)")
    p.add_argument("--detector", default="dlib68", choices=DETECTORS, help="68-landmark detector plugin")
    p.add_argument("--regressor", default=None, help="rig_fit regressor export (.safetensors) to start the fit")
    p.add_argument("--parser-weights", default=None, help="BiSeNet 79999_iter.pth: snap eye landmarks to its eyes")
    p.add_argument("--generator", default=None, help="photo StyleGAN2 (export or .pt) for --cartoon-generator")
    p.add_argument("--cartoon-generator", default=None, help="its Stage-1 cartoon twin: reconstruct the cartoon")
    p.add_argument("--cartoon-steps", type=int, default=200, help="projection steps into --generator")
    p.add_argument("--lpips-weights", default=None, help="vgg16-397923af.pth for an LPIPS projection (else MSE)")
    p.add_argument("--fit-size", type=int, default=128, help="resolution of the analysis-by-synthesis fit")
    p.add_argument("--landmark-steps", type=int, default=150, help="Adam steps on landmarks + regulariser")
    p.add_argument("--photo-steps", type=int, default=20, help="Adam steps with the photometric term (renders)")
    p.add_argument("--texture-size", type=int, default=512, help="side of the UV texture")
    p.add_argument("--detail", default="high", choices=("high", "low"), help="rig mesh detail")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    return p


def _check_options(a: argparse.Namespace) -> None:
    if (a.generator is None) != (a.cartoon_generator is None):
        raise ConfigError(
            "toonlift avatar: --cartoon-generator and --generator go together (the portrait is inverted into the "
            "photo generator and rendered by its cartoon twin at the same w); give both or neither."
        )
    for name, path in (("--generator", a.generator), ("--cartoon-generator", a.cartoon_generator)):
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"toonlift avatar: {name} '{path}' does not exist (a StyleGAN2 .safetensors export).")
    for name, value, low in (
        ("--fit-size", a.fit_size, 32),
        ("--texture-size", a.texture_size, 64),
        ("--landmark-steps", a.landmark_steps, 0),
        ("--photo-steps", a.photo_steps, 0),
        ("--cartoon-steps", a.cartoon_steps, 1),
    ):
        if value < low:
            raise ConfigError(f"toonlift avatar: {name} must be >= {low}, got {value}.")


def _publish(tmp: Path, out: Path) -> None:
    """Rename the complete ``tmp`` folder to ``out``, replacing an existing ``out`` as a whole."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    try:
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    except OSError as err:
        if old.exists() and not out.exists():
            old.rename(out)
        raise describe_os_error(err, f"output folder (--out) '{out}'") from err
    shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``toonlift avatar``."""
    a = _parser().parse_args(argv)
    _check_options(a)
    if a.threads:
        torch.set_num_threads(a.threads)
    out = a.out.resolve()
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out '{out}' is a file; toonlift avatar writes a folder there. Choose another path.")
    check_writable_folder(out.parent, "the folder holding --out")  # before any work
    start, cpu = time.perf_counter(), time.process_time()
    photo = read_photo(a.image)
    avatar = reconstruct(
        photo,
        name=str(a.image),
        face=a.face,
        detector=a.detector,
        regressor=a.regressor,
        parser_weights=a.parser_weights,
        fit_size=a.fit_size,
        landmark_steps=a.landmark_steps,
        photo_steps=a.photo_steps,
        texture_size=a.texture_size,
        detail=a.detail,
        cartoon=None
        if a.cartoon_generator is None
        else {
            "generator": a.generator,
            "cartoon_generator": a.cartoon_generator,
            "steps": a.cartoon_steps,
            "lpips_weights": a.lpips_weights,
        },
    )
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        metrics = write_avatar_files(tmp, avatar, avatar.rig, title=f"toonlift avatar: {a.image.name}")
        metrics.update(
            image=str(a.image),
            detector=a.detector,
            wall_seconds=round(time.perf_counter() - start, 3),
            cpu_seconds=round(time.process_time() - cpu, 3),  # this process's CPU time: the load-free cost
        )
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2))
        _publish(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r, s = metrics["landmark_residual_px"], metrics["seconds"]
    print(
        f"wrote {out}: landmark residual coarse {r['coarse']:.2f} px -> fine {r['fine']:.2f} px ({CROP}-px crop), "
        f"dlib-ResNet cosine {metrics['dlib_resnet_similarity']['cosine']:.3f}, {metrics['morph_targets']} morph "
        f"targets; seconds: "
        + ", ".join(f"{k} {v:.2f}" for k, v in s.items())
        + f" (total {metrics['wall_seconds']:.1f} s wall, {metrics['cpu_seconds']:.1f} s CPU)"
    )
    return 0
