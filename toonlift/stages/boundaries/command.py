"""``toonlift fit-boundary``: an InterFaceGAN attribute boundary of any exported backbone (registered in
``toonlift.cli``)."""

from __future__ import annotations

from jsonargparse import ArgumentParser

from toonlift.errors import ConfigError


def _parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="toonlift fit-boundary",
        description=(
            "Sample latents of a generator, label the top/bottom fraction by one dimension of the synthetic "
            "analyser's read-out (expr_* expression, yaw/pitch/roll, light), fit a linear SVM in W and write its unit "
            "normal (.safetensors + .json with the held-out accuracy). Edit with w + d * normal."
        ),
    )
    p.add_argument("--generator", type=str, required=True, help="a toonlift backbone export (.safetensors + .json)")
    p.add_argument("--target", type=str, required=True, help="read-out dimension, e.g. yaw or expr_jaw_open")
    p.add_argument("--output", type=str, required=True, help="where to write the boundary (.safetensors)")
    p.add_argument("--analyser", type=str | None, default=None, help="analyser weights (default: the shipped one)")
    p.add_argument("--num", type=int, default=2000, help="latents to sample")
    p.add_argument("--fraction", type=float, default=0.1, help="share kept at each end as positives/negatives")
    p.add_argument("--train_ratio", type=float, default=0.7, help="share of the kept latents used to fit")
    p.add_argument("--batch", type=int, default=64, help="render batch size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sampled_cameras", type=bool, default=False, help="camera-conditioned: sample cameras")
    p.add_argument("--condition_on", type=list[str], default=[], help="boundary files whose normals to project out")
    return p


def main(argv: list[str]) -> int:
    """Entry of ``toonlift fit-boundary``."""
    import torch

    from toonlift.plugins.export import load_model
    from toonlift.stages.boundaries.fit import fit_backbone_boundary, load_boundary
    from toonlift.stages.offsets.evaluation import analyser_readout
    from toonlift.utils.output_dirs import check_writable_parent

    args = _parser().parse_args(argv)
    if not args.output.endswith(".safetensors"):
        raise ConfigError(
            f"--output must end in .safetensors (a .json sidecar is written beside it), got '{args.output}'."
        )
    check_writable_parent(args.output, "output file (--output)")  # before sampling and fitting, not after
    conditions = {}
    for path in args.condition_on:
        b = load_boundary(path)
        conditions[b.name] = b.normal
    g = load_model(args.generator, kind="backbones").eval()
    net, read, names = analyser_readout(args.analyser)
    net.eval()
    with torch.no_grad():
        fit = fit_backbone_boundary(
            g, read, names, args.target, num=args.num, fraction=args.fraction, train_ratio=args.train_ratio,
            seed=args.seed, batch=args.batch, sampled_cameras=args.sampled_cameras, conditions=conditions,
            out=args.output,
        )  # fmt: skip
    print(
        f"boundary '{args.target}': held-out accuracy {fit.val_accuracy:.3f} ({fit.num_val} latents), train "
        f"{fit.train_accuracy:.3f}; wrote {args.output}"
    )
    return 0
