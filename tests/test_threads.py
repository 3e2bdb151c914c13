"""Thread chooser: free cores from affinity and load, explicit requests, environment, and the busy warning."""

from __future__ import annotations

import math

import pytest
import torch

from toonlift.utils.threads import apply_threads, choose_threads, usable_cpus

TWO = {0, 1}


def test_idle_machine_uses_every_core_it_may_run_on_without_warning():
    c = choose_threads(affinity=TWO, load=0.2, environ={})
    assert (c.threads, c.cpus, c.source, c.warning) == (2, 2, "automatic", None)
    # affinity, not the machine's core count: a process pinned to 3 of 64 cores gets 3
    assert choose_threads(affinity={5, 9, 11}, load=0.0, environ={}).threads == 3


def test_busy_core_leaves_one_thread_and_warns_once():
    c = choose_threads(affinity=TWO, load=1.1, environ={})
    assert c.threads == 1
    assert c.warning is not None and "busy" in c.warning and "\n" not in c.warning
    assert choose_threads(affinity=TWO, load=0.6, environ={}).threads == 1  # rounds to one busy core
    assert choose_threads(affinity=TWO, load=0.4, environ={}).threads == 2


def test_overloaded_machine_still_gets_one_thread():
    c = choose_threads(affinity={0, 1, 2, 3}, load=9.0, environ={})
    assert c.threads == 1 and c.warning is not None


def test_unknown_load_counts_as_idle():
    c = choose_threads(affinity=TWO, load=math.nan, environ={})
    assert c.threads == 2 and c.warning is None


def test_explicit_request_wins_and_warns_only_when_oversubscribing():
    c = choose_threads(4, affinity=TWO, load=0.0, environ={"OMP_NUM_THREADS": "1"})
    assert (c.threads, c.source) == (4, "argument")
    assert c.warning is not None  # 4 threads on 2 cores
    assert choose_threads(1, affinity=TWO, load=1.0, environ={}).warning is None
    with pytest.raises(ValueError, match="threads"):
        choose_threads(-1, affinity=TWO, load=0.0, environ={})


def test_environment_is_a_request_and_junk_is_ignored():
    c = choose_threads(0, affinity=TWO, load=1.5, environ={"OMP_NUM_THREADS": "2"})
    assert (c.threads, c.source) == (2, "environment")
    for junk in ("", "0", "two", "-3"):
        c = choose_threads(None, affinity=TWO, load=0.0, environ={"OMP_NUM_THREADS": junk})
        assert c.source == "automatic" and c.threads == 2


def test_usable_cpus_of_this_process_and_apply_sets_torch(capsys: pytest.CaptureFixture[str]):
    assert usable_cpus() >= 1
    assert usable_cpus(set()) == 1
    before = torch.get_num_threads()
    try:
        choice = apply_threads(1, quiet=True)
        assert torch.get_num_threads() == 1 == choice.threads
        assert capsys.readouterr().err == ""
    finally:
        torch.set_num_threads(before)


def test_fit_takes_threads_out_of_lightning_arguments_and_applies_them():
    import torch

    from toonlift.cli import main
    from toonlift.errors import ConfigError
    from toonlift.utils.threads import pop_threads

    assert pop_threads(["fit", "--config", "c.yaml", "--threads", "1", "--trainer.max_steps", "2"]) == (
        ["fit", "--config", "c.yaml", "--trainer.max_steps", "2"],
        1,
    )
    assert pop_threads(["fit", "--threads=0"]) == (["fit"], 0)
    assert pop_threads(["fit", "--config", "c.yaml"]) == (["fit", "--config", "c.yaml"], None)
    for bad in (["fit", "--threads"], ["fit", "--threads", "two"], ["fit", "--threads=-1"]):
        with pytest.raises(ConfigError, match="--threads"):
            pop_threads(bad)
    before = torch.get_num_threads()
    try:
        # the count is applied before LightningCLI parses (which then fails on the missing config: a user error)
        assert main(["fit", "--threads", "1", "--config", "/nonexistent/toonlift.yaml"]) != 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
