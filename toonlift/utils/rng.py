"""The seed derivations of toonlift, in one place: per-iteration, per-rank random streams (Stage 1) and seeds derived
from a tuple of parts (Stage 3's state machine). Both are reproducible, resumable and different on every rank.

Every random draw of a GAN iteration (latents, mixing, noise maps, augmentation) comes from one generator seeded by
``(seed * world_size + rank, iteration)``. Nothing depends on the global RNG or on how many draws came before, so a
resumed run draws exactly what the uninterrupted run drew, and ranks never share latents (Lightning #16166;
stylegan2-ada seeds ranks as ``seed * world + rank``).
"""

from __future__ import annotations

import zlib

import numpy as np
import torch


def stream_seed(seed: int, rank: int, world_size: int, iteration: int, stream: int = 0) -> int:
    """A well-mixed 63-bit seed for ``(seed * world_size + rank, iteration, stream)``."""
    state = np.random.SeedSequence([seed * world_size + rank, iteration, stream]).generate_state(1, dtype=np.uint64)
    return int(state[0] >> 1)


def iteration_generator(
    seed: int, rank: int, world_size: int, iteration: int, device: torch.device | str = "cpu", stream: int = 0
) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` for one iteration of one rank (``stream`` separates independent uses)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(stream_seed(seed, rank, world_size, iteration, stream))
    return gen


def derive_seed(*parts: object) -> int:
    """A 32-bit seed that depends only on ``parts`` (e.g. ``(seed, image, stage, phase, iteration)``).

    Python's ``hash`` of strings changes between processes; CRC-32 of the parts' ``repr`` does not, so a resumed run
    draws what the uninterrupted one drew.
    """
    return zlib.crc32(repr(parts).encode())
