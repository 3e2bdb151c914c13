"""Synthetic-world throughput (images/s per domain and resolution) and the shipped analyser's accuracy.

    python benchmarks/bench_synthetic.py                 # rendering speed, 2 threads
    python benchmarks/bench_synthetic.py --analyser      # + analyser accuracy on fresh seeds
    python benchmarks/bench_synthetic.py --threads 4 --sizes 64 128

Prints wall-clock images/s and, because the CI/dev machines are often shared, also images per CPU-second
(process time of all threads): on an idle machine wall-clock throughput approaches threads x that figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from toonlift.synthetic.render import FaceRenderer
from toonlift.synthetic.sampler import sample_params

BATCH = {64: 64, 128: 32, 256: 16}


def bench_render(sizes: list[int], domains: list[str], repeats: int) -> None:
    renderer = FaceRenderer()
    print(f"{'domain':8s} {'size':>5s} {'batch':>5s} {'images/s (wall)':>16s} {'images/CPU-s':>13s}")
    for size in sizes:
        batch = BATCH.get(size, 16)
        params = [sample_params(0, range(i * batch, (i + 1) * batch)) for i in range(repeats + 1)]
        for domain in domains:
            renderer(params[0], domain, size)  # warm-up (builds the mesh, allocator)
            t_wall, t_cpu = time.perf_counter(), time.process_time()
            for p in params[1:]:
                renderer(p, domain, size)
            wall, cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
            n = batch * repeats
            print(f"{domain:8s} {size:5d} {batch:5d} {n / wall:16.1f} {n / cpu:13.1f}")


def bench_analyser(seed: int, count: int) -> None:
    from toonlift.synthetic.analyser import FaceAnalyser
    from toonlift.synthetic.analyser_eval import evaluate_analyser

    report = evaluate_analyser(FaceAnalyser.load(), seed=seed, count=count)
    for group, scores in report.items():
        print(f"{group}: mean R^2 {scores['r2']['mean']:.3f}, mean MAE {scores['mae']['mean']:.3f}")
        print("   " + ", ".join(f"{n} {v:.2f}" for n, v in scores["r2"].items() if n != "mean"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--domains", nargs="+", default=["photo", "cartoon", "ink"])
    ap.add_argument("--repeats", type=int, default=3, help="timed batches per setting")
    ap.add_argument("--analyser", action="store_true", help="also measure the shipped analyser's accuracy")
    ap.add_argument("--analyser-seed", type=int, default=1000)
    ap.add_argument("--analyser-count", type=int, default=512)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} logical CPUs")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, load average {os.getloadavg()}")
    bench_render(a.sizes, a.domains, a.repeats)
    if a.analyser:
        bench_analyser(a.analyser_seed, a.analyser_count)


if __name__ == "__main__":
    main()
