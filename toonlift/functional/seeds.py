"""Seeds to latent codes: seed ``s`` always gives the same code, whatever the batch or device."""

from __future__ import annotations

import torch
from torch import Tensor


def latents_from_seeds(seeds: Tensor, dim: int, device: torch.device | str = "cpu") -> Tensor:
    """One standard-normal code ``[dim]`` per seed, stacked to ``[B, dim]``, drawn on the CPU then moved."""
    rows = [torch.randn(dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds.tolist()]
    return torch.stack(rows).to(device)
