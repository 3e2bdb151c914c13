"""Loading and exporting StyleGAN2 weights: rosinality ``.pt`` checkpoints and toonlift safetensors exports.

rosinality's ``train.py`` saves ``{"g", "d", "g_ema", "g_optim", "d_optim", "args", "ada_aug_p"}`` and
``convert_weight.py`` saves ``{"g_ema", "latent_avg"}`` (+ ``g``/``d`` on request). ``args`` is an
``argparse.Namespace``, the only non-tensor class allowed while unpickling (``weights_only=True``): nothing in a
checkpoint can run code.

A toonlift export is ``name.safetensors`` (the module's own state dict, plus ``latent_avg`` for a generator that has
one) and ``name.json`` (registry name and architecture arguments), written and read by the one export path of every
model, :mod:`toonlift.plugins.export`; :func:`load_generator` / :func:`load_discriminator` rebuild the model from the
two files alone.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from toonlift.errors import CheckpointError
from toonlift.utils.io import require_file, safe_torch_load

HOW_TO_GET = (
    "Use a rosinality/stylegan2-pytorch checkpoint (the FFHQ 256 px config-F '550000.pt' linked from that "
    "repository's README, one written by its train.py, or an NVlabs .pkl converted with its convert_weight.py), or "
    "a toonlift .safetensors export (with its .json sidecar)."
)
KNOWN_KEYS = ("g", "g_ema", "d", "latent_avg", "args", "g_optim", "d_optim", "ada_aug_p")


def load_rosinality_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a rosinality checkpoint safely (``weights_only=True``, only ``argparse.Namespace`` allowed).

    Returns:
        The checkpoint dict (``g``, ``g_ema``, ``d``, ``latent_avg``, ``args``, optimiser states when present). A bare
        generator state dict (keys ``style.1.weight`` ...) is returned as ``{"g_ema": state_dict}``.

    Raises:
        WeightsNotFoundError: no file at ``path``.
        CheckpointError: truncated, corrupt, hostile (pickled code) or not a StyleGAN2 checkpoint.
    """
    p = require_file(path, "The StyleGAN2 checkpoint", HOW_TO_GET)
    with open(p, "rb") as f:
        magic = f.read(4)
    # torch.save writes a zip archive (new format) or a pickle starting with the protocol byte 0x80 (legacy)
    if magic != b"PK\x03\x04" and magic[:1] != b"\x80":
        raise CheckpointError(
            f"'{p}' is not a PyTorch checkpoint (it starts with bytes {magic!r}); it may be corrupt or another kind "
            f"of file. {HOW_TO_GET}"
        )
    ckpt = safe_torch_load(p, what="StyleGAN2 checkpoint", safe_globals=[argparse.Namespace])
    if not isinstance(ckpt, dict):
        raise CheckpointError(
            f"'{p}' holds a {type(ckpt).__name__}, not a StyleGAN2 checkpoint dict (expected keys like 'g_ema', "
            f"'g', 'd'). {HOW_TO_GET}"
        )
    if "style.1.weight" in ckpt:  # a bare generator state dict
        return {"g_ema": ckpt}
    if not any(k in ckpt for k in ("g", "g_ema", "d")):
        keys = ", ".join(map(str, list(ckpt)[:10]))
        raise CheckpointError(
            f"'{p}' is a PyTorch file but not a rosinality StyleGAN2 checkpoint: it has no 'g_ema', 'g' or 'd' entry "
            f"(top-level keys: {keys or 'none'}). {HOW_TO_GET}"
        )
    return ckpt


def checkpoint_args(ckpt: dict[str, Any]) -> dict[str, Any]:
    """The training arguments of a checkpoint (``args`` Namespace) as a dict, or ``{}``."""
    args = ckpt.get("args")
    if isinstance(args, argparse.Namespace):
        return dict(vars(args))
    return dict(args) if isinstance(args, dict) else {}


def describe_generator_state(state: dict[str, Tensor]) -> str:
    """Human summary of a generator state dict's architecture (resolution, widths) for error messages."""
    n_rgb = len({k.split(".")[1] for k in state if k.startswith("to_rgbs.")})
    n_mlp = len({k.split(".")[1] for k in state if re.match(r"style\.\d+\.weight$", k)})
    style = state.get("style.1.weight")
    widths = []
    if "conv1.conv.weight" in state:
        widths.append(f"4:{state['conv1.conv.weight'].shape[1]}")
    for k in range(n_rgb):
        w = state.get(f"convs.{2 * k + 1}.conv.weight")
        if w is not None:
            widths.append(f"{2 ** (k + 3)}:{w.shape[1]}")
    size = 2 ** (n_rgb + 2) if n_rgb else "?"
    dim = style.shape[1] if style is not None else "?"
    return f"size={size}, style_dim={dim}, n_mlp={n_mlp}, channels {{{', '.join(widths)}}}"


def _describe_module(module: nn.Module) -> str:
    if hasattr(module, "arch_args"):
        return ", ".join(f"{k}={v}" for k, v in module.arch_args().items())
    return type(module).__name__


def load_state_strict(module: nn.Module, state: dict[str, Tensor], source: str, summary: str = "") -> None:
    """``module.load_state_dict(state, strict=True)`` with an error that lists what differs and why.

    Args:
        module: the model to fill.
        state: the state dict read from the file.
        source: where it came from (path and key), for the message.
        summary: one-line architecture description of ``state`` (e.g. :func:`describe_generator_state`).
    """
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{source} is not a state dict of tensors. {HOW_TO_GET}")
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = [
            f"{len(items)} {label}: " + sep.join(items[:8]) + (" ..." if len(items) > 8 else "")
            for label, items, sep in (
                ("shape mismatch(es)", shapes, "; "),
                ("missing key(s)", missing, ", "),
                ("unexpected key(s)", unexpected, ", "),
            )
            if items
        ]
        hint = f" The file looks like {summary}." if summary else ""
        raise CheckpointError(
            f"{source} does not match the model ({_describe_module(module)}): {'. '.join(parts)}.{hint} Build the "
            "model with the checkpoint's resolution and widths (size, channel_multiplier, channel_max, style_dim, "
            "n_mlp), or pick the right checkpoint."
        )
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"{source} contains NaN or infinite values in {', '.join(bad[:5])}; the file is corrupt.")
    module.load_state_dict(state, strict=True)


def _export_arch(path: Path, kind: str) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """``(tensors, arch)`` of a toonlift export of a StyleGAN2 ``kind`` (either sidecar format)."""
    from toonlift.plugins.export import read_export_meta

    tensors, meta, found, name = read_export_meta(path)
    what = "generator" if kind == "backbones" else "discriminator"
    if found != kind or name != "stylegan2":
        raise CheckpointError(
            f"'{path}' is an export of the {found[:-1]} '{name}', not of a StyleGAN2 {what}. Give the StyleGAN2 "
            f"{what}'s export (each network is exported to its own .safetensors file)."
        )
    return tensors, meta["arch"]


def load_generator_checkpoint(backbone: nn.Module, path: str | Path, key: str = "g_ema") -> None:
    """Fill a :class:`StyleGAN2Backbone` from a rosinality ``.pt`` (entry ``key``) or a toonlift safetensors export."""
    p = require_file(path, "The StyleGAN2 generator checkpoint", HOW_TO_GET)
    if p.suffix == ".safetensors":
        tensors, arch = _export_arch(p, "backbones")
        summary = ", ".join(f"{k}={v}" for k, v in arch.items())
        set_latent_avg(backbone, tensors.pop("latent_avg", None))
        load_state_strict(backbone, tensors, f"The generator export '{p}'", summary)
        return
    ckpt = load_rosinality_checkpoint(p)
    if key not in ckpt:
        have = [k for k in ("g_ema", "g", "d") if k in ckpt]
        raise CheckpointError(
            f"The checkpoint '{p}' has no '{key}' entry (it has: {', '.join(have)}). Set checkpoint_key to one of "
            "the generators ('g_ema' is the averaged generator used for sampling, 'g' the trained one)."
        )
    state = ckpt[key]
    args = checkpoint_args(ckpt)
    summary = describe_generator_state(state) if isinstance(state, dict) else ""
    if args.get("size") is not None:
        summary += f" (training args: size={args.get('size')}, channel_multiplier={args.get('channel_multiplier')})"
    load_state_strict(backbone, state, f"The checkpoint '{p}' entry '{key}'", summary)
    set_latent_avg(backbone, ckpt.get("latent_avg"))


def set_latent_avg(backbone: nn.Module, latent_avg: Any) -> None:
    """Store a checkpoint's average ``w`` (the truncation centre) when it has one of the right size."""
    if isinstance(latent_avg, Tensor) and latent_avg.numel() == backbone.style_dim:
        backbone.latent_avg.copy_(latent_avg.reshape(-1))
        backbone.has_latent_avg = True


def save_generator(backbone: nn.Module, path: str | Path) -> Path:
    """Export a generator (``.safetensors`` + sidecar, through :func:`toonlift.plugins.export.save_model`).

    The tensors are exactly the rosinality state dict (plus ``latent_avg`` if the generator has one).
    """
    from toonlift.plugins.export import save_model

    return save_model(backbone, path)


def load_generator(path: str | Path) -> nn.Module:
    """Rebuild a :class:`StyleGAN2Backbone` from a toonlift ``.safetensors`` export and its sidecar alone."""
    from toonlift.plugins.stylegan2.generator import StyleGAN2Backbone

    p = require_file(path, "The StyleGAN2 generator export", HOW_TO_GET)
    _, arch = _export_arch(p, "backbones")
    return StyleGAN2Backbone(**arch, checkpoint=str(p))


def load_discriminator_checkpoint(disc: nn.Module, path: str | Path, key: str = "d") -> None:
    """Fill a :class:`StyleGAN2Discriminator` from a rosinality ``.pt`` (entry ``key``) or a toonlift export."""
    p = require_file(path, "The StyleGAN2 discriminator checkpoint", HOW_TO_GET)
    if p.suffix == ".safetensors":
        tensors, arch = _export_arch(p, "discriminators")
        summary = ", ".join(f"{k}={v}" for k, v in arch.items())
        load_state_strict(disc, tensors, f"The discriminator export '{p}'", summary)
        return
    ckpt = load_rosinality_checkpoint(p)
    if key not in ckpt:
        raise CheckpointError(
            f"The checkpoint '{p}' has no '{key}' entry (it has: {', '.join(k for k in KNOWN_KEYS if k in ckpt)}). "
            "Checkpoints converted from NVlabs .pkl files only hold a discriminator when converted with --disc."
        )
    state = ckpt[key]
    n_blocks = len({k.split(".")[1] for k in state if k.startswith("convs.")}) if isinstance(state, dict) else 0
    summary = f"a discriminator for size={2 ** (n_blocks + 1)}" if n_blocks else ""
    load_state_strict(disc, state, f"The checkpoint '{p}' entry '{key}'", summary)


def save_discriminator(disc: nn.Module, path: str | Path) -> Path:
    """Export a discriminator (``.safetensors`` + sidecar, through :func:`toonlift.plugins.export.save_model`)."""
    from toonlift.plugins.export import save_model

    return save_model(disc, path)


def load_discriminator(path: str | Path) -> nn.Module:
    """Rebuild a :class:`StyleGAN2Discriminator` from a toonlift export and its sidecar alone."""
    from toonlift.plugins.stylegan2.discriminator import StyleGAN2Discriminator

    p = require_file(path, "The StyleGAN2 discriminator export", HOW_TO_GET)
    _, arch = _export_arch(p, "discriminators")
    return StyleGAN2Discriminator(**arch, checkpoint=str(p))


def infer_generator_args(state: dict[str, Tensor]) -> dict[str, int]:
    """Architecture arguments (``size, style_dim, n_mlp, channel_multiplier, channel_max``) of a G state dict."""
    from toonlift.plugins.stylegan2.generator import stylegan2_channels

    try:
        n_rgb = len({k.split(".")[1] for k in state if k.startswith("to_rgbs.")})
        size = 2 ** (n_rgb + 2)
        style_dim = int(state["style.1.weight"].shape[1])
        n_mlp = len({k.split(".")[1] for k in state if re.match(r"style\.\d+\.weight$", k)})
        observed = {4: int(state["conv1.conv.weight"].shape[1])}
        for k in range(n_rgb):
            observed[2 ** (k + 3)] = int(state[f"convs.{2 * k + 1}.conv.weight"].shape[1])
    except (KeyError, IndexError, AttributeError) as err:
        raise CheckpointError(f"not a StyleGAN2 generator state dict (missing {err}). {HOW_TO_GET}") from err
    for cmax in sorted({*observed.values(), 512}):
        for cm in (2, 1, 4, 8, 16, 32):
            if stylegan2_channels(size, cm, cmax) == observed:
                args = {"size": size, "style_dim": style_dim, "n_mlp": n_mlp}
                return {**args, "channel_multiplier": cm, "channel_max": cmax}
    # not a rosinality table: an explicit width budget, read off the widest uncapped block
    args = {"size": size, "style_dim": style_dim, "n_mlp": n_mlp, "channel_multiplier": 1}
    for cmax in sorted(set(observed.values())):
        for res in sorted(observed):
            base = observed[res] * res
            if stylegan2_channels(size, 1, cmax, base) == observed:
                return {**args, "channel_max": cmax, "channel_base": base}
    raise CheckpointError(f"the channel widths {observed} of this generator match no StyleGAN2 configuration")


def generator_from_checkpoint(path: str | Path, key: str = "g_ema") -> nn.Module:
    """Build a :class:`StyleGAN2Backbone` of the right architecture from any supported file and load it."""
    from toonlift.plugins.stylegan2.generator import StyleGAN2Backbone

    p = require_file(path, "The StyleGAN2 generator checkpoint", HOW_TO_GET)
    if p.suffix == ".safetensors":
        return load_generator(p)
    ckpt = load_rosinality_checkpoint(p)
    if key not in ckpt or not isinstance(ckpt[key], dict):
        raise CheckpointError(f"The checkpoint '{p}' has no generator entry '{key}'. Pass the right key.")
    args = infer_generator_args(ckpt[key])
    lr_mlp = checkpoint_args(ckpt).get("lr_mlp", 0.01)
    return StyleGAN2Backbone(**args, lr_mlp=float(lr_mlp), checkpoint=str(p), checkpoint_key=key)
