"""``toonlift export-generator``: write a generator of a Stage-1 Lightning checkpoint as safetensors + JSON sidecar."""

from __future__ import annotations

import argparse
from pathlib import Path

from toonlift.errors import CheckpointError
from toonlift.utils.io import safe_torch_load

_PREFIX = {"ema": "generator_ema.", "train": "generator.", "base": "generator_base."}


def export_generator_from_checkpoint(ckpt_path: str | Path, out: str | Path, which: str = "ema") -> Path:
    """Rebuild the StyleGAN2 generator ``which`` (ema|train|base) of a FinetuneModule checkpoint and export it."""
    from toonlift.plugins.backbones.stylegan2 import StyleGAN2Backbone, save_generator

    ckpt = safe_torch_load(ckpt_path, what="Stage-1 checkpoint")
    meta = ckpt.get("toonlift_finetune") if isinstance(ckpt, dict) else None
    if not meta or not meta.get("generator_arch"):
        raise CheckpointError(f"'{ckpt_path}' is not a toonlift Stage-1 (FinetuneModule) checkpoint of a StyleGAN2.")
    prefix = _PREFIX[which]
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    if not state:
        raise CheckpointError(f"'{ckpt_path}' holds no '{which}' generator (keys starting with '{prefix}').")
    g = StyleGAN2Backbone(**meta["generator_arch"])
    g.load_state_dict(state)
    return save_generator(g, out)


def export_discriminator_from_checkpoint(ckpt_path: str | Path, out: str | Path) -> Path:
    """Rebuild the StyleGAN2 discriminator of a FinetuneModule checkpoint and export it (safetensors + sidecar).

    Its architecture is the checkpoint's ``discriminator_arch``; checkpoints written before that was recorded use
    the generator's resolution and widths (toonlift's configs pair them), and the strict load proves the guess.
    """
    from toonlift.plugins.backbones.stylegan2.checkpoint import save_discriminator
    from toonlift.plugins.discriminators.stylegan2 import StyleGAN2Discriminator

    ckpt = safe_torch_load(ckpt_path, what="Stage-1 checkpoint")
    meta = ckpt.get("toonlift_finetune") if isinstance(ckpt, dict) else None
    if not meta or not meta.get("generator_arch"):
        raise CheckpointError(f"'{ckpt_path}' is not a toonlift Stage-1 (FinetuneModule) checkpoint of a StyleGAN2.")
    arch = meta.get("discriminator_arch")
    if not arch:
        g = meta["generator_arch"]
        arch = {k: g[k] for k in ("size", "channel_multiplier", "channel_max", "channel_base") if k in g}
    state = {k[len("discriminator.") :]: v for k, v in ckpt["state_dict"].items() if k.startswith("discriminator.")}
    d = StyleGAN2Discriminator(**arch)
    try:
        d.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(f"'{ckpt_path}': the discriminator does not fit {arch}: {str(err)[:300]}") from err
    return save_discriminator(d, out)


def main(argv: list[str]) -> int:
    """CLI: ``toonlift export-generator CKPT OUT.safetensors [--which ema|train|base]``."""
    parser = argparse.ArgumentParser(prog="toonlift export-generator", description=__doc__)
    parser.add_argument("ckpt", help="a FinetuneModule checkpoint, e.g. outputs/disney/checkpoints/last.ckpt")
    parser.add_argument("out", help="destination .safetensors (a .json sidecar is written beside it)")
    parser.add_argument(
        "--which",
        choices=[*sorted(_PREFIX), "discriminator"],
        default="ema",
        help="which network: a generator (ema, train, base) or the discriminator (default: ema)",
    )
    args = parser.parse_args(argv)
    if args.which == "discriminator":
        path = export_discriminator_from_checkpoint(args.ckpt, args.out)
    else:
        path = export_generator_from_checkpoint(args.ckpt, args.out, args.which)
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0
