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


def main(argv: list[str]) -> int:
    """CLI: ``toonlift export-generator CKPT OUT.safetensors [--which ema|train|base]``."""
    parser = argparse.ArgumentParser(prog="toonlift export-generator", description=__doc__)
    parser.add_argument("ckpt", help="a FinetuneModule checkpoint, e.g. outputs/disney/checkpoints/last.ckpt")
    parser.add_argument("out", help="destination .safetensors (a .json sidecar is written beside it)")
    parser.add_argument("--which", choices=sorted(_PREFIX), default="ema", help="which generator (default: ema)")
    args = parser.parse_args(argv)
    path = export_generator_from_checkpoint(args.ckpt, args.out, args.which)
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0
