"""Synthetic-world throughput (images/s per domain and resolution) and the shipped analyser's accuracy.

    python benchmarks/bench_synthetic.py                 # rendering speed, 2 threads
    python benchmarks/bench_synthetic.py --analyser      # + analyser accuracy on fresh seeds
    python benchmarks/bench_synthetic.py --threads 4 --sizes 64 128
    python benchmarks/bench_synthetic.py --quick         # 64 px, photo only

Every setting renders the same batch ``--repeats`` times after ``--warmup`` untimed calls (``benchmarks/protocol.py``)
and prints the median images/s with its interquartile range -- wall clock and, because the CI/dev machines are often
shared, per CPU-second (process time of all threads, a second run of the same protocol) -- and the rendered bytes
per second as a fraction of this machine's copy bandwidth measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import torch
from protocol import Limits, Spread, machine_limits, measure, report_header

from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params
from toonlift.utils.threads import apply_threads

BATCH = {64: 64, 128: 32, 256: 16}


def _nbytes(out: object) -> int:
    """Bytes of every tensor in a (nested) render output."""
    if isinstance(out, torch.Tensor):
        return out.numel() * out.element_size()
    if isinstance(out, dict):
        return sum(_nbytes(v) for v in out.values())
    if isinstance(out, list | tuple):
        return sum(_nbytes(v) for v in out)
    return sum(_nbytes(v) for v in getattr(out, "__dict__", {}).values())


def bench_render(sizes: list[int], domains: list[str], repeats: int, warmup: int, limits: Limits) -> None:
    renderer = FaceRenderer()
    print("| domain | size | batch | images/s (wall) | images/CPU-s | % copy bw (output bytes) |")
    print("|---|---|---|---|---|---|")
    for size in sizes:
        batch = BATCH.get(size, 16)
        params = sample_params(0, range(batch))
        for domain in domains:
            fn = lambda p=params, d=domain, s=size: renderer(p, d, s)  # noqa: E731
            wall = measure(fn, repeats=repeats, warmup=warmup)
            cpu = measure(fn, repeats=repeats, warmup=0, clock=time.process_time)
            per_s = _per_second(wall, batch)
            bw = 100 * limits.fraction_of_bandwidth(_nbytes(fn()), wall.median)
            print(f"| {domain} | {size} | {batch} | {per_s} | {_per_second(cpu, batch)} | {bw:.1f} |", flush=True)


def _per_second(seconds: Spread, batch: int) -> str:
    """``median [q1, q3]`` of images per second from seconds per batch."""
    q1, q3 = seconds.quartiles
    return f"{batch / seconds.median:.4g} [{batch / q3:.4g}, {batch / q1:.4g}]"


def bench_analyser(seed: int, count: int) -> None:
    from toonlift.synthetic.analyser import FaceAnalyser
    from toonlift.synthetic.analyser_eval import evaluate_analyser

    report = evaluate_analyser(FaceAnalyser.load(), seed=seed, count=count)
    for group, scores in report.items():
        print(f"{group}: mean R^2 {scores['r2']['mean']:.3f}, mean MAE {scores['mae']['mean']:.3f}")
        print("   " + ", ".join(f"{n} {v:.2f}" for n, v in scores["r2"].items() if n != "mean"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default 0: the free cores)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--domains", nargs="+", default=["photo", "cartoon", "ink"])
    ap.add_argument("--repeats", type=int, default=5, help="timed batches per setting (>= 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed batches per setting first")
    ap.add_argument("--quick", action="store_true", help="64 px, photo only")
    ap.add_argument("--analyser", action="store_true", help="also measure the shipped analyser's accuracy")
    ap.add_argument("--analyser-seed", type=int, default=1000)
    ap.add_argument("--analyser-count", type=int, default=512)
    a = ap.parse_args()
    if a.quick:
        a.sizes, a.domains = [64], ["photo"]
    apply_threads(a.threads)
    print(report_header())
    limits = machine_limits()
    bench_render(a.sizes, a.domains, a.repeats, a.warmup, limits)
    if a.analyser:
        bench_analyser(a.analyser_seed, a.analyser_count)


if __name__ == "__main__":
    main()
