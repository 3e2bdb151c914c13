"""A world "video" with known expression weights and head motion, to check landmark-driven animation (issue 19).

The face is the world's sample ``(seed, index)`` in ``domain`` (the face a ``toonlift rig-viewer`` avatar of the same
options carries); its 12 blendshape weights follow :func:`~toonlift.stages.rig_fit.animate.synthetic_sequence`'s
``sin^2`` waves (about 40% of them active) while the head turns (yaw +-15 deg, pitch +-6, roll +-4). Frames are
rendered by the world's own renderer, so a detector sees what it would see in a clip, and the world's true landmarks
of each frame come with them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from toonlift.stages.rig_fit.animate import synthetic_sequence
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params


def world_sequence(
    seed: int, index: int, domain: str, frames: int, size: int = 256, motion_seed: int = 0, batch: int = 8
) -> dict[str, np.ndarray]:
    """``frames`` ``[T, S, S, 3]`` uint8, true ``landmarks`` ``[T, 68, 2]`` pixels, ``beta`` ``[T, 12]`` (world
    order) and ``pose`` ``[T, 3]`` (yaw, pitch, roll degrees) of the world face ``(seed, index)``."""
    beta, _, _ = synthetic_sequence(len(EXPRESSION_NAMES), frames, size, motion_seed)
    t = np.arange(frames) / max(frames, 1)
    pose = np.stack([15 * np.sin(2 * np.pi * t), 6 * np.sin(4 * np.pi * t + 1.0), 4 * np.sin(2 * np.pi * t + 2.0)], 1)
    base = sample_params(seed, [index])
    renderer = FaceRenderer()
    images, points = [], []
    for i in range(0, frames, batch):
        n = min(batch, frames - i)
        p = replace(
            base[[0] * n],
            expression=torch.from_numpy(beta[i : i + n]).float(),
            pose=torch.from_numpy(pose[i : i + n]).float(),
        )
        out = renderer(p, domain, size, outputs=("image", "landmarks"))
        images.append(((out["image"].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())
        points.append(out["landmarks"].double().numpy())
    return {"frames": np.concatenate(images), "landmarks": np.concatenate(points), "beta": beta, "pose": pose}


def write_png_sequence(frames: np.ndarray, folder: Path) -> list[Path]:
    """Write ``[T, H, W, 3]`` uint8 frames as ``frame_0000.png``, ... in ``folder``."""
    import imageio.v3 as iio

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, f in enumerate(frames):
        path = folder / f"frame_{i:04d}.png"
        iio.imwrite(path, f)
        paths.append(path)
    return paths


def beta_errors(solved: np.ndarray, names: list[str], truth: np.ndarray) -> dict[str, float]:
    """Mean absolute error and jitter of solved weights ``[T, K]`` (rig ``names``) against world weights ``[T, 12]``
    (targets outside the world's 12 have truth 0)."""
    from toonlift.functional.landmark_solve import jitter

    idx = {n: i for i, n in enumerate(EXPRESSION_NAMES)}
    ref = np.stack([truth[:, idx[n]] if n in idx else np.zeros(len(truth)) for n in names], 1)
    return {
        "beta_mae": float(np.abs(solved - ref).mean()),
        "beta_max_error": float(np.abs(solved - ref).max()),
        "jitter": jitter(solved),
        "jitter_truth": jitter(ref),
    }
