"""``toonlift animate``: drive a rigged avatar from 2-D landmarks (issue 19): a video, an image sequence or a
synthetic sequence.

``--video FILE`` / ``--frames-dir DIR`` take each frame's landmarks from a detector plugin (``--detector``,
``dlib68`` by default) and write a driven MP4 or GIF (:mod:`toonlift.stages.rig_fit.drive`).

``--avatar DIR`` is a folder written by ``toonlift rig-viewer`` (``avatar.glb`` with its morph targets; the mesh
keeps the world head's vertex order, so the 68 iBUG landmark vertices are the head model's). ``--synthetic`` makes a
sequence with known weights ``beta(t)`` and head motion (yaw, pitch, roll, scale, translation) on the avatar's own
face, projects its landmark vertices with a **weak-perspective** camera, adds Gaussian pixel noise, and recovers
``beta`` per frame with :func:`toonlift.functional.landmark_solve.solve_weights` (pose, then ``lsq_linear`` in
``[0, 1]``; warm-started from the previous frame) and causal exponential smoothing. Only targets whose landmark
motion is identifiable (:func:`~toonlift.functional.landmark_solve.identifiable_targets`) are driven and solved.

Writes into ``--out`` (default ``DIR/driven``): ``animation.json`` (the recovered weights, for the viewer),
``viewer.html`` (the avatar playing them), ``driven.gif`` (left: the truth with its noisy landmarks; right: the
avatar driven by the recovered weights under the recovered camera) and ``metrics.json`` (weight MAE vs the truth,
jitter, landmark -> beta -> mesh frames per second).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from toonlift.errors import ConfigError
from toonlift.export.gltf_morph import MorphMesh, load_morph_glb
from toonlift.export.viewer import write_viewer
from toonlift.functional.landmark_solve import (
    identifiable_targets,
    jitter,
    project_weak_perspective,
    solve_weights,
)
from toonlift.synthetic.head_model import build_head_model
from toonlift.synthetic.raster import interpolate, rasterize, vertex_normals
from toonlift.utils.io import atomic_write_bytes
from toonlift.utils.output_dirs import check_writable_folder

_FLIP = np.diag([1.0, -1.0, 1.0])  # head frame (y up) -> pixel frame (y down)


def load_avatar(folder: Path) -> tuple[MorphMesh, np.ndarray]:
    """The avatar's morph mesh and its 68 landmark vertex indices (from the head model of matching detail)."""
    glb = Path(folder) / "avatar.glb"
    if not glb.is_file():
        raise ConfigError(f"No avatar.glb in {folder}; write one with `toonlift rig-viewer --out {folder}` first.")
    morph = load_morph_glb(glb)
    for detail in ("low", "high"):
        head = build_head_model(detail)
        if head.num_vertices == len(morph.mesh.vertices):
            return morph, head.landmarks.numpy()
    raise ConfigError(
        f"{glb} has {len(morph.mesh.vertices)} vertices, which matches no world head mesh; `toonlift animate` drives "
        "avatars written by `toonlift rig-viewer` (they keep the head's vertex order and landmarks)."
    )


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``[3, 3]`` rotation ``Rz(roll) Rx(pitch) Ry(yaw)`` (radians)."""
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return rz @ rx @ ry


def synthetic_sequence(k: int, frames: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Known weights ``[T, k]`` in ``[0, 1]`` and cameras: rotations ``[T, 3, 3]`` and ``(scale, tx, ty)`` ``[T, 3]``.

    About 40% of the targets are active, each an eased ``a sin^2`` wave with its own rate and phase; the head turns
    +-15 degrees in yaw, +-6 in pitch and +-4 in roll and drifts a few pixels."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / max(frames, 1)
    active = rng.uniform(size=k) < 0.4
    amp = rng.uniform(0.4, 1.0, size=k) * active
    rate, phase = rng.uniform(0.5, 2.0, size=k), rng.uniform(0, 1, size=k)
    beta = amp * np.sin(np.pi * (rate * t + phase)) ** 2
    ang = np.deg2rad(np.stack([15 * np.sin(2 * np.pi * t[:, 0]), 6 * np.sin(4 * np.pi * t[:, 0] + 1.0)], 1))
    roll = np.deg2rad(4 * np.sin(2 * np.pi * t[:, 0] + 2.0))
    rots = np.stack([rotation(a[0], a[1], r) for a, r in zip(ang, roll, strict=True)])
    wave = np.sin(2 * np.pi * t[:, 0])
    scale = size * 0.33 * (1 + 0.05 * wave)  # pixels per head unit
    cam = np.stack([scale, size / 2 + 3 * wave, np.full(frames, size / 2 + 0.05 * size)], 1)
    return beta, rots, cam


def recovered_cameras(cams: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Weak-perspective cameras ``(m [2, 3], t [2])`` -> rotations ``[T, 3, 3]`` and ``(scale, tx, ty)`` ``[T, 3]``
    for :func:`render_frames` (rows of ``m`` over the scale, the third row their cross product)."""
    rots, out = [], []
    for m, t in cams:
        s = np.linalg.norm(m, axis=1).mean()
        r2 = _FLIP[:2, :2] @ (m / s)
        rots.append(np.vstack([r2, np.cross(r2[0], r2[1])]))
        out.append([s, t[0], t[1]])
    return np.stack(rots), np.array(out)


def render_frames(
    vertices: np.ndarray, faces: np.ndarray, colours: np.ndarray, rots, cams, size: int, width: int | None = None
) -> np.ndarray:
    """Lambert-shaded uint8 images ``[T, size, width or size, 3]`` of meshes ``[T, V, 3]`` under weak-perspective
    cameras (rotations ``[T, 3, 3]``, ``(scale, tx, ty)`` ``[T, 3]`` in pixels)."""
    v = torch.from_numpy(np.einsum("tij,tvj->tvi", rots, vertices)).float()  # rotated, head frame
    screen = torch.stack(
        [v[..., 0] * torch.from_numpy(cams[:, :1]).float() + torch.from_numpy(cams[:, 1:2]).float(),
         -v[..., 1] * torch.from_numpy(cams[:, :1]).float() + torch.from_numpy(cams[:, 2:3]).float(),
         5.0 - v[..., 2]], -1)  # fmt: skip
    f = torch.from_numpy(faces).long()
    frags = rasterize(screen, f, size, width or size)
    n = interpolate(frags, f, vertex_normals(v, f))  # [T, S, S, 3]
    light = torch.tensor([-0.3, 0.4, 0.87])
    shade = 0.35 + 0.65 * (torch.nn.functional.normalize(n, dim=-1) @ light).clamp(min=0)
    albedo = torch.from_numpy(colours.astype(np.float32) / 255.0).expand(len(v), -1, -1)
    rgb = interpolate(frags, f, albedo) * shade[..., None]
    rgb = torch.where(frags.mask[..., None], rgb.clamp(0, 1) ** (1 / 2.2), torch.tensor(0.93))
    return (rgb * 255).round().to(torch.uint8).numpy()


def run_synthetic(
    folder: Path,
    out: Path,
    frames: int,
    size: int,
    noise: float,
    alpha: float,
    seed: int,
    ridge: float = 1.0,
    tol: float = 0.3,
) -> dict:
    """Generate, solve, write ``animation.json``, ``viewer.html``, ``driven.gif`` and ``metrics.json``."""
    import imageio.v2 as imageio

    morph, lm = load_avatar(folder)
    neutral = morph.mesh.vertices.astype(np.float64)  # [V, 3]
    targets = morph.targets.astype(np.float64)  # [E, V, 3]
    keep = identifiable_targets(targets[:, lm], tol)
    dk = targets[keep]  # [K, V, 3]
    beta, rots, cam = synthetic_sequence(len(keep), frames, size, seed)
    truth_mesh = neutral + np.einsum("tk,kvj->tvj", beta, dk)  # [T, V, 3]
    ms = cam[:, :1, None] * (np.eye(3)[None, :2] @ _FLIP @ rots)  # [T, 2, 3]
    obs = np.stack([project_weak_perspective(truth_mesh[i, lm], ms[i], cam[i, 1:]) for i in range(frames)])
    obs = obs + np.random.default_rng(seed + 1).normal(scale=noise, size=obs.shape)

    # landmarks -> beta -> mesh, online (warm start and causal smoothing use only past frames)
    raw, smooth, meshes, cams = np.zeros_like(beta), np.zeros_like(beta), [], []
    start = time.perf_counter()
    for i in range(frames):
        raw[i], m, t = solve_weights(obs[i], neutral[lm], dk[:, lm], init=raw[i - 1] if i else None, ridge=ridge)
        smooth[i] = raw[i] if i == 0 else alpha * raw[i] + (1 - alpha) * smooth[i - 1]
        meshes.append(neutral + np.tensordot(smooth[i], dk, axes=1))
        cams.append((m, t))
    seconds = time.perf_counter() - start

    reproj = [project_weak_perspective(meshes[i][lm], *cams[i]) - obs[i] for i in range(frames)]
    full = np.zeros((frames, len(morph.names)))
    full[:, keep] = smooth
    animation = {"fps": 25.0, "names": list(morph.names), "weights": np.round(full, 4).tolist()}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "animation.json", json.dumps(animation).encode())
    write_viewer(folder / "avatar.glb", out=out / "viewer.html", animation=animation, title="toonlift: driven avatar")

    # the driven mesh under the recovered camera (scale and rotation from m: rows of m / scale, third = cross)
    rec_rots, rec_cam = recovered_cameras(cams)
    colours = morph.mesh.vertex_colors if morph.mesh.vertex_colors is not None else np.full((len(neutral), 3), 200)
    left = render_frames(truth_mesh, morph.mesh.faces, colours, rots, cam, size)
    right = render_frames(np.stack(meshes), morph.mesh.faces, colours, rec_rots, rec_cam, size)
    for i, p in enumerate(obs):  # the observed landmarks as red dots on the truth
        xy = np.clip(np.round(p).astype(int), 0, size - 1)
        left[i, xy[:, 1], xy[:, 0]] = (230, 30, 30)
    gif = out / "driven.gif"
    tmp = out / ".driven.gif.tmp"
    imageio.mimsave(tmp, list(np.concatenate([left, right], 2)), format="GIF", duration=0.04, loop=0)
    tmp.replace(gif)

    names = [morph.names[i] for i in keep]
    metrics = {
        "camera": "weak perspective (scaled orthographic)",
        "frames": frames,
        "image_size": size,
        "landmark_noise_px": noise,
        "smoothing_alpha": alpha,
        "ridge": ridge,
        "identifiable_tol": tol,
        "solved_targets": names,
        "unidentifiable_targets": [n for n in morph.names if n not in names],
        "beta_mae_raw": float(np.abs(raw - beta).mean()),
        "beta_mae_smoothed": float(np.abs(smooth - beta).mean()),
        "beta_max_error_raw": float(np.abs(raw - beta).max()),
        "jitter_truth": jitter(beta),
        "jitter_raw": jitter(raw),
        "jitter_smoothed": jitter(smooth),
        "reprojection_rmse_px": float(np.sqrt(np.mean(np.square(reproj)))),
        "mesh_mae_head_units": float(np.abs(np.stack(meshes) - truth_mesh).mean()),
        "landmarks_to_mesh_fps": frames / seconds,
    }
    atomic_write_bytes(out / "metrics.json", json.dumps(metrics, indent=2).encode())
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``toonlift animate``."""
    p = argparse.ArgumentParser(prog="toonlift animate", description=__doc__.split("\n\n")[0])
    p.add_argument("--avatar", required=True, type=Path, help="a folder written by `toonlift rig-viewer`")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--synthetic", action="store_true", help="drive from a synthetic sequence with known weights")
    src.add_argument("--video", type=Path, default=None, help="drive from a video file (MP4, anything ffmpeg reads)")
    src.add_argument("--frames-dir", "--frames_dir", dest="frames_dir", type=Path, default=None,
                     help="drive from a folder of images (sorted by name)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help="output folder (default AVATAR/driven)")
    p.add_argument("--frames", type=int, default=60, help="sequence length (--synthetic)")
    p.add_argument(
        "--size", type=int, default=128, help="image size of the GIF and of the landmark pixels (--synthetic)"
    )
    p.add_argument("--noise", type=float, default=0.5, help="landmark noise standard deviation in pixels (--synthetic)")
    p.add_argument("--alpha", type=float, default=0.5, help="exponential smoothing factor in (0, 1]; 1 = none")
    p.add_argument("--seed", type=int, default=0, help="seed of the sequence and the noise (--synthetic)")
    p.add_argument("--ridge", type=float, default=1.0, help="Tikhonov weight on beta (pixels^2); 0 = plain bounds")
    p.add_argument("--tol", type=float, default=0.3, help="identifiability threshold (share of a target's motion)")
    p.add_argument("--detector", default="dlib68", help="landmark detector plugin (--video / --frames-dir)")
    p.add_argument("--targets", default="facs", choices=("facs", "world"), help="solve all targets or the world's 12")
    p.add_argument("--format", default="mp4", choices=("mp4", "gif"), help="the driven animation's format")
    p.add_argument("--max_frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--redetect_every", type=int, default=0, help="full face search every N frames (0: when lost)")
    a = p.parse_args(argv)
    if not (a.synthetic or a.video or a.frames_dir):
        raise ConfigError(
            "`toonlift animate` needs a source: --video FILE, --frames-dir DIR (a folder of images) or --synthetic "
            "(a sequence with known weights)."
        )
    if a.frames < 1 or a.size < 16 or a.noise < 0 or not 0 < a.alpha <= 1 or a.ridge < 0:
        raise ConfigError(
            f"Bad options: --frames {a.frames} (>= 1), --size {a.size} (>= 16), --noise {a.noise} (>= 0), "
            f"--alpha {a.alpha} (in (0, 1]), --ridge {a.ridge} (>= 0); fix the one out of range."
        )
    out = a.out or a.avatar / "driven"
    check_writable_folder(out, "output folder (--out)")  # before any work, not after it
    if not a.synthetic:
        return _drive_main(a, out)
    m = run_synthetic(a.avatar, out, a.frames, a.size, a.noise, a.alpha, a.seed, a.ridge, a.tol)
    print(
        f"wrote {out}: beta MAE {m['beta_mae_smoothed']:.4f} (raw {m['beta_mae_raw']:.4f}) over "
        f"{len(m['solved_targets'])} targets, jitter {m['jitter_smoothed']:.4f} (raw {m['jitter_raw']:.4f}, truth "
        f"{m['jitter_truth']:.4f}), {m['landmarks_to_mesh_fps']:.1f} frames/s landmarks -> beta -> mesh"
    )
    return 0


def _drive_main(a: argparse.Namespace, out: Path) -> int:
    """``--video`` / ``--frames-dir``: detector landmarks -> beta -> the driven avatar."""
    from toonlift.registry import LANDMARK_DETECTORS
    from toonlift.stages.rig_fit.drive import LandmarkTracker, drive_frames
    from toonlift.utils.frames_io import iter_frames

    load_avatar(a.avatar)  # a clear error about the avatar before the video is opened
    frames, fps = iter_frames(video=a.video, frames_dir=a.frames_dir)
    tracker = LandmarkTracker(LANDMARK_DETECTORS.build(a.detector), a.redetect_every)
    m = drive_frames(
        a.avatar, frames, tracker, out, alpha=a.alpha, ridge=a.ridge, tol=a.tol, targets=a.targets, fmt=a.format,
        fps=fps, max_frames=a.max_frames,
    )  # fmt: skip
    print(
        f"wrote {out / m['video']}, viewer.html, animation.json: {m['frames']} frames ({m['frames_with_face']} with a "
        f"face, {tracker.searches} face searches), {len(m['solved_targets'])} targets, jitter "
        f"{m['jitter_smoothed']:.4f}, {m['frames_per_second_end_to_end']:.1f} frames/s end to end"
    )
    return 0
