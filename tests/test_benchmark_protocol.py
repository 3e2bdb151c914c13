"""The shared benchmark protocol: warm-up for every side, alternating order, medians, spread and per-pair ratios."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "protocol", Path(__file__).resolve().parents[1] / "benchmarks" / "protocol.py"
)
protocol = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("protocol", protocol)  # dataclasses look their module up by name
_SPEC.loader.exec_module(protocol)


class FakeClock:
    """A clock that only moves when a fake workload says how long it took."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def work(self, seconds: float, log: list[str], name: str):  # noqa: ANN201
        def fn() -> None:
            log.append(name)
            self.now += seconds

        return fn


def test_alternating_rounds_warm_up_every_side_and_rotate_the_order() -> None:
    clock, log = FakeClock(), []
    fns = {"a": clock.work(2.0, log, "a"), "b": clock.work(1.0, log, "b")}
    result = protocol.compare(fns, pairs=5, warmup=2, clock=clock)
    assert log[:4] == ["a", "b", "a", "b"]  # both sides warmed up, untimed
    assert result.order == ["a", "b", "b", "a", "a", "b", "b", "a", "a", "b"]
    assert result.times["a"].samples == (2.0,) * 5 and result.times["b"].median == 1.0
    assert result.ratio("a", "b").median == pytest.approx(2.0)
    line = result.line("a", "b", unit_work=4, unit="img")
    assert "b 4 img/s" in line and "a 2 img/s" in line and "x2.000" in line


def test_spread_reports_median_and_interquartile_range() -> None:
    s = protocol.Spread((1.0, 2.0, 3.0, 4.0, 100.0))
    assert s.median == 3.0
    q1, q3 = s.quartiles
    assert q1 == 2.0 and q3 == 4.0  # the outlier does not move the quartiles
    assert s.text() == "3 [2, 4]"
    assert protocol.Spread((1.0, 5.0)).quartiles == (1.0, 5.0)


def test_machine_limits_are_positive_and_fractions_scale() -> None:
    gemm = protocol.sgemm_gflops(n=128, repeats=3)
    assert gemm.median > 0
    limits = protocol.Limits(sgemm_gflops=100.0, memory_gbs=10.0)
    assert limits.fraction_of_sgemm(50e9, 1.0) == pytest.approx(0.5)
    assert limits.fraction_of_bandwidth(5e9, 1.0) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        protocol.compare({}, pairs=3)


def test_count_flops_counts_matrix_products_forward_and_backward() -> None:
    import torch

    a = torch.randn(8, 16, requires_grad=True)
    b = torch.randn(16, 4)
    assert protocol.count_flops(lambda: torch.mm(a, b)) == 2 * 8 * 16 * 4
    # backward of a @ b w.r.t. a is one more [8, 4] @ [4, 16] product
    assert protocol.count_flops(lambda: torch.mm(a, b).sum().backward()) == 2 * (2 * 8 * 16 * 4)
