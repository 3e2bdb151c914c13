"""The one benchmark protocol of toonlift: warm-up for every side, alternating A/B pairs, medians with their spread,
threads stated, and the machine's own limit measured in the same run.

Every script in ``benchmarks/`` reports through these helpers, so a published figure is always "median over N
alternating pairs (interquartile range), T threads, X % of this machine's sgemm (or memory bandwidth)". Alternating
A and B within each pair means a change of machine load hits both sides alike; a per-pair ratio's median is the
speed-up. Both sides must run in the same autograd mode: the caller passes closures that already fix it.

Example::

    from protocol import compare, machine_limits, report_header

    print(report_header())
    limits = machine_limits()
    result = compare({"toonlift": ours, "reference": theirs}, pairs=7, warmup=2)
    print(result.line("reference", "toonlift", unit_work=batch, unit="img"))
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

Clock = Callable[[], float]


def _sync(device: torch.device | None) -> None:
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


def time_once(fn: Callable[[], object], device: torch.device | None = None, clock: Clock = time.perf_counter) -> float:
    """Seconds of one call of ``fn`` (device work included: CUDA is synchronised before and after)."""
    _sync(device)
    start = clock()
    fn()
    _sync(device)
    return clock() - start


@dataclass(frozen=True)
class Spread:
    """Median and interquartile range of repeated measurements (seconds, or any quantity).

    Attributes:
        samples: every measurement, in order.
    """

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def quartiles(self) -> tuple[float, float]:
        """``(q1, q3)``; with fewer than 4 samples, ``(min, max)``."""
        if len(self.samples) < 4:
            return min(self.samples), max(self.samples)
        q = statistics.quantiles(self.samples, n=4, method="inclusive")
        return q[0], q[2]

    def text(self, scale: float = 1.0, fmt: str = ".3g") -> str:
        """``median [q1, q3]`` of ``samples * scale``."""
        q1, q3 = self.quartiles
        return f"{self.median * scale:{fmt}} [{q1 * scale:{fmt}}, {q3 * scale:{fmt}}]"


@dataclass
class Comparison:
    """Alternating-pair timings of several named callables (seconds per call)."""

    times: dict[str, Spread]
    order: list[str] = field(default_factory=list)

    def ratio(self, slower: str, faster: str) -> Spread:
        """Per-pair ratios ``time(slower) / time(faster)``: the speed-up of ``faster`` with its spread."""
        a, b = self.times[slower].samples, self.times[faster].samples
        return Spread(tuple(x / y for x, y in zip(a, b)))

    def line(self, baseline: str, candidate: str, unit_work: float = 1.0, unit: str = "call") -> str:
        """One printed line: both throughputs (``unit_work`` units per call) and the candidate's speed-up."""
        parts = []
        for name in (candidate, baseline):
            t = self.times[name]
            parts.append(f"{name} {unit_work / t.median:.4g} {unit}/s ({t.text(1e3, '.4g')} ms)")
        return " | ".join(parts) + f" | x{self.ratio(baseline, candidate).text(fmt='.3f')}"


def compare(
    fns: dict[str, Callable[[], object]],
    pairs: int = 7,
    warmup: int = 2,
    device: torch.device | None = None,
    clock: Clock = time.perf_counter,
) -> Comparison:
    """Time several callables in alternating rounds: ``warmup`` untimed calls of each, then ``pairs`` rounds that
    call each once, the order rotating every round (A B, B A, ...) so neither side always runs first.

    Args:
        fns: name -> zero-argument callable (fix the autograd mode inside it, the same for every side).
        pairs: timed rounds (the protocol asks for at least 5).
        warmup: untimed calls of each callable before timing (allocator, oneDNN primitive caches, JIT).
        device: synchronised around each call when it is a CUDA device.
        clock: the timer (tests inject a fake one).
    """
    if pairs < 1 or warmup < 0 or not fns:
        raise ValueError("compare needs at least one callable, pairs >= 1 and warmup >= 0")
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    samples: dict[str, list[float]] = {n: [] for n in names}
    order: list[str] = []
    for i in range(pairs):
        rotated = names[i % len(names) :] + names[: i % len(names)]
        for name in rotated:
            samples[name].append(time_once(fns[name], device, clock))
            order.append(name)
    return Comparison({n: Spread(tuple(s)) for n, s in samples.items()}, order)


def measure(
    fn: Callable[[], object],
    repeats: int = 7,
    warmup: int = 2,
    device: torch.device | None = None,
    clock: Clock = time.perf_counter,
) -> Spread:
    """Seconds per call of one callable, after ``warmup`` untimed calls (``clock``: e.g. ``time.process_time``)."""
    return compare({"fn": fn}, pairs=repeats, warmup=warmup, device=device, clock=clock).times["fn"]


def sgemm_gflops(n: int = 1024, repeats: int = 7, device: torch.device | None = None) -> Spread:
    """This machine's float32 matrix-multiply throughput now (GFLOP/s of ``[n, n] @ [n, n]``, ``2 n^3`` flops)."""
    dev = device or torch.device("cpu")
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    seconds = measure(lambda: torch.mm(a, b), repeats=repeats, warmup=2, device=device)
    return Spread(tuple(2 * n**3 / s / 1e9 for s in seconds.samples))


def memory_gbs(megabytes: int = 256, repeats: int = 7, device: torch.device | None = None) -> Spread:
    """This machine's copy bandwidth now (GB/s: bytes read plus bytes written per second)."""
    dev = device or torch.device("cpu")
    src = torch.empty(megabytes * 2**20 // 4, device=dev)
    dst = torch.empty_like(src)
    seconds = measure(lambda: dst.copy_(src), repeats=repeats, warmup=2, device=device)
    return Spread(tuple(2 * src.numel() * 4 / s / 1e9 for s in seconds.samples))


@dataclass(frozen=True)
class Limits:
    """The machine's limits measured in this run: sgemm GFLOP/s and copy GB/s (medians)."""

    sgemm_gflops: float
    memory_gbs: float

    def fraction_of_sgemm(self, flops: float, seconds: float) -> float:
        """Achieved ``flops / seconds`` as a fraction of the measured sgemm throughput."""
        return flops / seconds / 1e9 / self.sgemm_gflops

    def fraction_of_bandwidth(self, nbytes: float, seconds: float) -> float:
        """Achieved ``nbytes / seconds`` as a fraction of the measured copy bandwidth."""
        return nbytes / seconds / 1e9 / self.memory_gbs


def machine_limits(device: torch.device | None = None) -> Limits:
    """Measure sgemm and copy bandwidth now, print them, and return their medians."""
    gemm, mem = sgemm_gflops(device=device), memory_gbs(device=device)
    print(f"machine limits now: sgemm {gemm.text(fmt='.4g')} GFLOP/s, copy {mem.text(fmt='.4g')} GB/s")
    return Limits(gemm.median, mem.median)


def count_flops(fn: Callable[[], object]) -> float:
    """Floating-point operations of one call of ``fn`` (matrix products and convolutions, forward and backward,
    as counted by ``torch.utils.flop_counter``): the work to put against :meth:`Limits.fraction_of_sgemm`.

    The call runs under the counter (slower), so never time the same call.
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def report_header(device: torch.device | None = None) -> str:
    """One line naming the machine, the device, torch and the thread count."""
    dev = device or torch.device("cpu")
    gpu = f", gpu {torch.cuda.get_device_name(dev)}" if dev.type == "cuda" else ""
    return (
        f"machine: {platform.machine()} {platform.processor() or platform.system()}, cpus {os.cpu_count()}, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {dev}{gpu}"
    )
