"""``toonlift export-generator``: write a generator of a Stage-1 Lightning checkpoint as safetensors + JSON sidecar."""

from __future__ import annotations

import argparse
from pathlib import Path

from toonlift.errors import CheckpointError
from toonlift.utils.io import safe_torch_load
from toonlift.utils.output_dirs import check_writable_parent

_PREFIX = {"ema": "generator_ema.", "train": "generator.", "base": "generator_base.", "discriminator": "discriminator."}


def _rebuild(meta: dict, which: str, ckpt_path: str | Path) -> tuple[type, dict, str]:
    """``(class, arch, kind)`` of network ``which`` recorded in a Stage-1 checkpoint's ``toonlift_finetune`` entry.

    Round-1 checkpoints recorded only the architectures (their networks were always StyleGAN2).
    """
    from toonlift.registry import BACKBONES, DISCRIMINATORS

    is_d = which == "discriminator"
    kind, reg = ("discriminators", DISCRIMINATORS) if is_d else ("backbones", BACKBONES)
    model = meta.get("discriminator_model" if is_d else "generator_model") or {}
    name = model.get("name") or "stylegan2"
    arch = model.get("arch") or meta.get("discriminator_arch" if is_d else "generator_arch")
    if not arch:
        raise CheckpointError(
            f"'{ckpt_path}' records no architecture for its {'discriminator' if is_d else 'generator'}; it was "
            "written before toonlift recorded one. Export it from a checkpoint of this version."
        )
    if name not in reg:
        raise CheckpointError(f"'{ckpt_path}' was trained with the {kind[:-1]} '{name}', which is not installed here.")
    return reg.get(name), arch, kind


def export_from_checkpoint(ckpt_path: str | Path, out: str | Path, which: str = "ema") -> Path:
    """Rebuild network ``which`` (ema|train|base|discriminator) of a FinetuneModule checkpoint and export it.

    The network's class comes from the registry name recorded in the checkpoint and is rebuilt with ``from_arch``,
    so any exportable backbone round-trips, not only StyleGAN2.
    """
    from toonlift.plugins.export import save_model

    ckpt = safe_torch_load(ckpt_path, what="Stage-1 checkpoint")
    meta = ckpt.get("toonlift_finetune") if isinstance(ckpt, dict) else None
    if not meta or not (meta.get("generator_arch") or meta.get("generator_model")):
        raise CheckpointError(
            f"'{ckpt_path}' is not a toonlift Stage-1 (FinetuneModule) checkpoint: it has no 'toonlift_finetune' "
            "entry. Give a checkpoint written by `python cli.py fit` with a finetune config."
        )
    prefix = _PREFIX[which]
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    if not state:
        raise CheckpointError(f"'{ckpt_path}' holds no '{which}' network (keys starting with '{prefix}').")
    cls, arch, _ = _rebuild(meta, which, ckpt_path)
    model = cls.from_arch(arch)
    model.load_export_state(state, f"The '{which}' network of '{ckpt_path}'")
    return save_model(model, out)


def main(argv: list[str]) -> int:
    """CLI: ``toonlift export-generator CKPT OUT.safetensors [--which ema|train|base]``."""
    parser = argparse.ArgumentParser(prog="toonlift export-generator", description=__doc__)
    parser.add_argument("ckpt", help="a FinetuneModule checkpoint, e.g. outputs/disney/checkpoints/last.ckpt")
    parser.add_argument("out", help="destination .safetensors (a .json sidecar is written beside it)")
    parser.add_argument(
        "--which",
        choices=sorted(_PREFIX),
        default="ema",
        help="which network: a generator (ema, train, base) or the discriminator (default: ema)",
    )
    args = parser.parse_args(argv)
    check_writable_parent(args.out, "exported network (OUT)")
    path = export_from_checkpoint(args.ckpt, args.out, args.which)
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0
