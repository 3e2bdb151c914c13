"""Where Stage 2's starting direction ``n*`` comes from: SeFa on the generator, or a saved factorisation."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from toonlift.errors import CheckpointError, ConfigError
from toonlift.plugins.backbones.base import Backbone
from toonlift.plugins.backbones.capabilities import StyleModulation, require
from toonlift.utils.io import load_safetensors, require_file, safe_torch_load


def load_directions(path: str | Path) -> Tensor:
    """Directions ``[D, K]`` (one per column, rosinality's ``eigvec`` layout) from a saved factorisation.

    Accepts rosinality's ``closed_form_factorization.py`` output (``torch.save({"ckpt": ..., "eigvec": V})``) or a
    ``.safetensors`` file holding an ``eigvec`` tensor.
    """
    p = require_file(path, "the SeFa factorisation file", "Write it with rosinality's closed_form_factorization.py.")
    if p.suffix == ".safetensors":
        tensors, _ = load_safetensors(p, "SeFa factorisation")
    else:
        tensors = safe_torch_load(p, "SeFa factorisation")
    eigvec = tensors.get("eigvec") if isinstance(tensors, dict) else None
    if not isinstance(eigvec, Tensor) or eigvec.dim() != 2:
        raise CheckpointError(f"'{p}' holds no 2-D 'eigvec' tensor; expected rosinality's factorisation format.")
    return eigvec.float()


def sefa_directions(generator: Backbone, convention: str = "rosinality") -> Tensor:
    """SeFa's closed-form directions of ``generator`` as unit columns ``[D, D]``, strongest first.

    Args:
        generator: a backbone offering ``StyleModulation`` (the StyleGAN2 backbone does).
        convention: ``"rosinality"`` (conv1, to_rgb1 and every conv; no normalisation) or ``"genforce"`` (every
            W+ layer's modulation, rows normalised); see ``toonlift.functional.sefa``.
    """
    from toonlift.functional.sefa import CONVENTIONS, closed_form_directions, stack_modulation_weights

    if convention not in CONVENTIONS:
        raise ConfigError(f"sefa_convention must be one of {CONVENTIONS}, got {convention!r}")
    require(generator, StyleModulation, stage="Stage 2 (SeFa directions)")
    A = stack_modulation_weights(generator.modulation_weights(convention=convention), convention)
    directions, _ = closed_form_directions(A)
    return directions.float()


def pick_direction(directions: Tensor, index: int) -> Tensor:
    """Column ``index`` of ``[D, K]`` directions as ``[D]``, with a clear error when out of range."""
    if not 0 <= index < directions.shape[1]:
        raise ConfigError(f"direction_index {index} is out of range: there are {directions.shape[1]} directions.")
    return directions[:, index].clone()


def initial_offsets(direction: Tensor, alpha: float, batch: int, num_ws: int | None = None) -> Tensor:
    """``alpha * n*`` per latent: ``[B, D]``, or ``[B, L, D]`` (the same on every layer) when ``num_ws`` is set."""
    off = (alpha * direction).unsqueeze(0).expand(batch, -1)
    if num_ws is not None:
        off = off.unsqueeze(1).expand(-1, num_ws, -1)
    return torch.clone(off).contiguous()
