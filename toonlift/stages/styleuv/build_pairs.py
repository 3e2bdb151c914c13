"""``python -m toonlift.stages.styleuv.build_pairs``: cache StyleFaceUV's ``(w, f)`` pairs to safetensors.

    python -m toonlift.stages.styleuv.build_pairs --inverted 320 --seed 9000 --random 6000 --out outputs/styleuv

writes ``OUT/pairs_inverted.safetensors`` (world faces of ``--seed`` inverted into the generator, true latents,
residuals) and ``OUT/pairs_random.safetensors`` (random codes labelled by the face analyser). Inversions run in
chunks saved under ``OUT/parts/``, so an interrupted run resumes where it stopped. Prints the labelling cost.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
from jsonargparse import ActionConfigFile, ArgumentParser, Namespace

from toonlift.stages.styleuv.assets import load_photo_generator
from toonlift.stages.styleuv.pairs import (
    analyser_pairs,
    concat_pairs,
    inverted_pairs,
    load_pairs,
    save_pairs,
)
from toonlift.synthetic.analyser import FaceAnalyser
from toonlift.utils.command_errors import run_reporting_errors


def build_inverted(generator: torch.nn.Module, out: Path, count: int, seed: int, steps: int, chunk: int) -> None:
    """Invert ``count`` faces of ``seed`` in chunks (each saved under ``out/parts``), then join them."""
    parts = []
    for lo in range(0, count, chunk):
        n = min(chunk, count - lo)
        part = out / "parts" / f"inverted_{seed}_{lo:05d}_{n}_{steps}.safetensors"
        if not part.is_file():
            t0 = time.perf_counter()
            save_pairs(part, inverted_pairs(generator, n, seed, first=lo, steps=steps), {"steps": steps})
            print(f"inverted {lo + n}/{count} ({(time.perf_counter() - t0) / n:.2f} s/face)", flush=True)
        parts.append(load_pairs(part))
    pairs = concat_pairs(parts)
    save_pairs(out / "pairs_inverted.safetensors", pairs, {"steps": steps})
    r = pairs.residual
    print(f"inverted pairs: {len(pairs)}, residual L1 {float(r.mean()):.4f} ± {float(r.std()):.4f}")


def build_parser() -> ArgumentParser:
    """The command's options; ``--config FILE`` reads them from YAML (``configs/styleuv/pairs.yaml``)."""
    p = ArgumentParser(prog="python -m toonlift.stages.styleuv.build_pairs", description=__doc__)
    p.add_argument("--config", action=ActionConfigFile, help="YAML file of these options (keys with underscores)")
    p.add_argument("--generator", default=None, help="StyleGAN2 export (default: the shipped photo generator)")
    p.add_argument("--inverted", type=int, default=320, help="world faces to invert (true latents)")
    p.add_argument("--seed", type=int, default=9000, help="world seed of the inverted faces (not 0: G trained on it)")
    p.add_argument("--steps", type=int, default=100, help="projector steps per face")
    p.add_argument("--chunk", type=int, default=16, help="faces per resumable chunk")
    p.add_argument("--random", type=int, default=6000, help="random codes labelled by the analyser (0: none)")
    p.add_argument("--random-seed", type=int, default=1)
    p.add_argument("--out", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; a bad input or file is one ``toonlift: error:`` line and exit status 2."""
    a = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: _build(a))


def _build(a: Namespace) -> int:
    out = Path(a.out)
    generator = load_photo_generator(a.generator)
    if a.random > 0:
        t0 = time.perf_counter()
        pairs = analyser_pairs(generator, FaceAnalyser.load(), a.random, a.random_seed)
        dt = time.perf_counter() - t0
        save_pairs(out / "pairs_random.safetensors", pairs)
        print(f"analyser pairs: {len(pairs)} in {dt:.1f} s ({1e3 * dt / len(pairs):.1f} ms/code)", flush=True)
    if a.inverted > 0:
        build_inverted(generator, out, a.inverted, a.seed, a.steps, a.chunk)
    return 0


if __name__ == "__main__":
    sys.exit(main())
