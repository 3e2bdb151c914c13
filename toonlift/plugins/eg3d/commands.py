"""``toonlift convert-eg3d``: an official EG3D network pickle to a toonlift export (registered in ``toonlift.cli``)."""

from __future__ import annotations

from jsonargparse import ArgumentParser

from toonlift.errors import ConfigError


def _convert_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="toonlift convert-eg3d",
        description=(
            "Convert a network of an official EG3D pickle (NVlabs/eg3d, e.g. ffhq512-128.pkl) to a .safetensors file "
            "with its .json sidecar, loadable as the 'eg3d' backbone (or the 'eg3d_dual' discriminator) without "
            "running pickled code. Unpickling the source runs code from it and needs NVlabs' repository: pass "
            "--trust_pickle true for files you trust and --eg3d_repo pointing at a clone of NVlabs/eg3d."
        ),
    )
    p.add_argument("--pickle", type=str, required=True, help="the official network pickle (.pkl)")
    p.add_argument("--output", type=str, required=True, help="where to write the export (.safetensors)")
    p.add_argument("--trust_pickle", type=bool, default=False, help="allow unpickling (it runs code from the file)")
    p.add_argument("--eg3d_repo", type=str | None, default=None, help="clone of NVlabs/eg3d the pickle's code is in")
    p.add_argument("--key", type=str, default="G_ema", help="which network: G_ema, G or D")
    return p


def convert_main(argv: list[str]) -> int:
    """Entry of ``toonlift convert-eg3d``."""
    from toonlift.plugins.eg3d.convert import convert_eg3d_pickle
    from toonlift.utils.output_dirs import check_writable_parent

    args = _convert_parser().parse_args(argv)
    if not args.output.endswith(".safetensors"):
        raise ConfigError(
            f"--output must end in .safetensors (its .json sidecar is written beside it), got '{args.output}'."
        )
    if args.key not in ("G_ema", "G", "D"):
        raise ConfigError(f"--key must be G_ema, G or D (the networks of an EG3D pickle), got '{args.key}'.")
    check_writable_parent(args.output, "output file (--output)")
    out = convert_eg3d_pickle(args.pickle, args.output, args.trust_pickle, args.eg3d_repo, args.key)
    print(f"wrote {out} (+ {out.with_suffix('.json').name})")
    return 0
