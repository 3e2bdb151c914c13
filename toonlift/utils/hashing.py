"""Content hashes of modules, so outputs record exactly which weights made them."""

from __future__ import annotations

import hashlib

import torch
from torch import nn


def state_dict_hash(module: nn.Module, length: int = 16) -> str:
    """SHA-256 (first ``length`` hex digits) of a module's state dict: names, shapes, dtypes and values.

    Two generators with the same weights hash the same whatever file they came from; any changed value changes it.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        if t.numel():
            digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:length]
