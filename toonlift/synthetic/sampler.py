"""Hash-seeded sampling of every latent factor of a synthetic face: sample ``i`` of seed ``s`` is always the same.

Each sample draws from its own ``numpy`` generator seeded with ``SeedSequence([s, i])`` (a cryptographic-quality
hash of the pair), so samples are independent of batch composition, worker count and order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import Tensor

from toonlift.errors import ConfigError
from toonlift.synthetic.expression_basis import EXPRESSION_NAMES
from toonlift.synthetic.identity_basis import IDENTITY_NAMES

POSE_NAMES = ("yaw", "pitch", "roll")  # degrees; see toonlift.synthetic.camera for the rotation convention
LIGHT_NAMES = ("ambient", "diffuse", "dx", "dy")  # GAN2Shape/Unsup3d-style light: a + b * max(0, n . d)
# Skin tones from very light to very dark (linear RGB), interpolated by the "skin_tone" factor.
SKIN_TONES = np.array(
    [[0.93, 0.76, 0.67], [0.85, 0.62, 0.50], [0.72, 0.49, 0.36], [0.52, 0.33, 0.22], [0.32, 0.19, 0.12]]
)
HAIR_COLOURS = np.array(
    [
        [0.05, 0.04, 0.035],
        [0.18, 0.11, 0.07],
        [0.36, 0.22, 0.12],
        [0.78, 0.62, 0.38],
        [0.55, 0.2, 0.08],
        [0.6, 0.6, 0.6],
    ]
)
HAIR_PROBS = np.array([0.3, 0.25, 0.2, 0.12, 0.08, 0.05])
IRIS_COLOURS = np.array(
    [[0.3, 0.17, 0.08], [0.13, 0.07, 0.04], [0.25, 0.45, 0.7], [0.3, 0.5, 0.3], [0.45, 0.35, 0.15], [0.45, 0.5, 0.55]]
)
APPEARANCE_NAMES = ("skin_tone", "skin_red", "hair_r", "hair_g", "hair_b", "iris_r", "iris_g", "iris_b", "lip_tint")
BACKGROUND_NAMES = ("gradient", "r0", "g0", "b0", "r1", "g1", "b1", "angle")


@dataclass(frozen=True)
class FaceParams:
    """Every latent factor of a batch of faces (float32 tensors, batch first).

    Attributes:
        identity: ``[B, K]`` identity coefficients (about unit variance), names in ``IDENTITY_NAMES``.
        expression: ``[B, E]`` blendshape weights in ``[0, 1]``, names in ``EXPRESSION_NAMES``.
        pose: ``[B, 3]`` yaw, pitch, roll in degrees.
        light: ``[B, 4]`` ambient, diffuse, light direction ``dx, dy``.
        appearance: ``[B, 9]`` skin tone, skin redness, hair RGB, iris RGB, lip tint.
        background: ``[B, 8]`` gradient flag, two RGB colours, gradient angle (radians).
        noise_seed: ``[B]`` int64 seed of the per-sample texture noise.
    """

    identity: Tensor
    expression: Tensor
    pose: Tensor
    light: Tensor
    appearance: Tensor
    background: Tensor
    noise_seed: Tensor

    def __len__(self) -> int:
        return int(self.identity.shape[0])

    def to(self, device: torch.device | str) -> FaceParams:
        return FaceParams(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def __getitem__(self, idx: slice | Tensor | list[int]) -> FaceParams:
        return FaceParams(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def cat(items: Sequence[FaceParams]) -> FaceParams:
        return FaceParams(**{f.name: torch.cat([getattr(p, f.name) for p in items]) for f in fields(FaceParams)})


def _expression(rng: np.random.Generator) -> np.ndarray:
    e = np.where(rng.random(len(EXPRESSION_NAMES)) < 0.3, rng.random(len(EXPRESSION_NAMES)), 0.0)
    idx = {n: i for i, n in enumerate(EXPRESSION_NAMES)}
    if rng.random() < 0.3:  # symmetric smile, slightly uneven
        s = rng.random()
        e[idx["smile_left"]], e[idx["smile_right"]] = s, np.clip(s + rng.normal(0, 0.1), 0, 1)
    if rng.random() < 0.15:  # both eyes blink together
        s = rng.random()
        e[idx["blink_left"]] = e[idx["blink_right"]] = s
    return e


def sample_one(seed: int, index: int) -> dict[str, np.ndarray]:
    """The factors of sample ``index`` of ``seed`` as numpy arrays (see :class:`FaceParams`)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(index) & 0xFFFFFFFFFFFF]))
    identity = np.clip(rng.normal(0.0, 1.0, len(IDENTITY_NAMES)), -2.5, 2.5)
    expression = _expression(rng)
    pose = np.array([rng.uniform(-45, 45), rng.uniform(-20, 20), np.clip(rng.normal(0, 4), -10, 10)])
    light = np.array([rng.uniform(0.25, 0.55), rng.uniform(0.45, 0.85), rng.uniform(-1, 1), rng.uniform(-0.8, 0.5)])
    hair = HAIR_COLOURS[rng.choice(len(HAIR_COLOURS), p=HAIR_PROBS)] * rng.uniform(0.8, 1.2)
    iris = IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))] * rng.uniform(0.8, 1.15)
    appearance = np.concatenate([[rng.beta(1.3, 1.6), rng.normal(0, 0.03)], hair, iris, [rng.random()]])
    hue = rng.random(2)
    base = np.stack([0.5 + 0.5 * np.cos(2 * np.pi * (hue + k / 3)) for k in range(3)], 1)  # two hues
    cols = base * rng.uniform(0.3, 0.8, (2, 1)) + rng.uniform(0.1, 0.4, (2, 1))
    background = np.concatenate([[float(rng.random() < 0.6)], cols.reshape(-1).clip(0, 1), [rng.uniform(0, 2 * np.pi)]])
    return {
        "identity": identity,
        "expression": expression,
        "pose": pose,
        "light": light,
        "appearance": appearance,
        "background": background,
        "noise_seed": np.array(rng.integers(0, 2**62)),
    }


def sample_params(seed: int, indices: Sequence[int] | Tensor | range) -> FaceParams:
    """Batch of the factors of samples ``indices`` of ``seed`` (deterministic per ``(seed, index)``)."""
    idx = [int(i) for i in (indices.tolist() if isinstance(indices, Tensor) else indices)]
    if not idx:
        raise ConfigError("sample_params: indices is empty; ask for at least one sample.")
    if any(i < 0 for i in idx):
        raise ConfigError(f"sample_params: sample indices must be >= 0, got {min(idx)}.")
    rows = [sample_one(seed, i) for i in idx]
    out = {}
    for f in fields(FaceParams):
        arr = np.stack([r[f.name] for r in rows])
        out[f.name] = torch.from_numpy(arr.astype(np.int64 if f.name == "noise_seed" else np.float32))
    return FaceParams(**out)
