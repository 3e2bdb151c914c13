"""How many torch CPU threads to use on a possibly shared machine.

torch defaults to one thread per core it sees. When other processes are busy on those cores, OpenMP threads that
wait for each other spin instead of sleeping, so a second thread can multiply the run time many times (measured on
2 cores with another job busy on one: ``demo --quick`` 24 s with one thread, 45 s with torch's default two). The rule
here: use the cores this process may run on (``os.sched_getaffinity``, not ``os.cpu_count``), minus the ones the
1-minute load average says are already busy, at least one; print one line when the machine is busy. An explicit
``--threads N`` (or ``OMP_NUM_THREADS``) always wins.

Every function takes the affinity and the load as arguments, so the choice can be tested without a busy machine.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from toonlift.errors import ConfigError

ENV_VAR = "OMP_NUM_THREADS"


@dataclass(frozen=True)
class ThreadChoice:
    """The chosen thread count and why.

    Attributes:
        threads: torch intra-op threads to use (>= 1).
        cpus: cores this process may run on.
        load: 1-minute load average seen (``nan`` when unknown).
        source: ``"argument"``, ``"environment"`` or ``"automatic"``.
        warning: one line to print when the machine is busy or the request oversubscribes it, else ``None``.
    """

    threads: int
    cpus: int
    load: float
    source: str
    warning: str | None = None


def usable_cpus(affinity: set[int] | None = None) -> int:
    """Cores this process may run on: ``os.sched_getaffinity(0)`` where it exists, else ``os.cpu_count()``."""
    if affinity is None:
        try:
            affinity = os.sched_getaffinity(0)
        except (AttributeError, OSError):  # not on macOS / Windows
            return max(1, os.cpu_count() or 1)
    return max(1, len(affinity))


def current_load() -> float:
    """The 1-minute load average, or ``nan`` where the platform has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return math.nan


def choose_threads(
    requested: int | None = None,
    affinity: set[int] | None = None,
    load: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> ThreadChoice:
    """Pick the torch thread count.

    Args:
        requested: ``--threads`` (``None`` or ``0``: choose automatically).
        affinity: the cores this process may use (default: ``os.sched_getaffinity(0)``).
        load: the 1-minute load average (default: ``os.getloadavg()[0]``); it counts runnable processes, this
            one included only once it runs, so it is read before the heavy work starts.
        environ: environment (default ``os.environ``); a positive integer ``OMP_NUM_THREADS`` is a request.

    Returns:
        :class:`ThreadChoice`. Automatic: ``cpus - round(load)`` clamped to ``[1, cpus]``, with a warning when
        that is fewer than ``cpus``. Explicit: the request, with a warning when it exceeds the free cores.
    """
    cpus = usable_cpus(affinity)
    load = current_load() if load is None else float(load)
    env = os.environ if environ is None else environ
    busy = 0 if math.isnan(load) else max(0, int(math.floor(load + 0.5)))  # cores other work keeps busy
    free = max(1, cpus - busy)
    source = "argument"
    if not requested:
        raw = env.get(ENV_VAR, "").strip()
        requested = int(raw) if raw.isdigit() and int(raw) > 0 else None
        source = "environment" if requested else "automatic"
    if requested is not None and requested < 0:
        raise ValueError(f"--threads must be >= 0 (0 = automatic), got {requested}")
    if requested:
        warning = None
        if requested > free:
            warning = (
                f"toonlift: {requested} threads requested but only {free} of {cpus} cores look free (load "
                f"{load:.1f}); waiting threads spin, so fewer threads may run faster"
            )
        return ThreadChoice(requested, cpus, load, source, warning)
    warning = None
    if free < cpus:
        warning = (
            f"toonlift: machine busy (load {load:.1f} on {cpus} cores): using {free} torch thread"
            f"{'s' if free > 1 else ''}; set --threads N or {ENV_VAR}=N to override"
        )
    return ThreadChoice(free, cpus, load, source, warning)


def apply_threads(requested: int | None = None, quiet: bool = False) -> ThreadChoice:
    """Choose (see :func:`choose_threads`), call ``torch.set_num_threads`` and print the warning line, if any."""
    choice = choose_threads(requested)
    torch.set_num_threads(choice.threads)
    if choice.warning and not quiet:
        print(choice.warning, file=sys.stderr, flush=True)
    return choice


def pop_threads(args: list[str]) -> tuple[list[str], int | None]:
    """Remove ``--threads N`` / ``--threads=N`` from a ``fit``/``validate``/... argument list (LightningCLI does
    not know it) and return ``(rest, N)``; ``N`` is ``None`` when absent.

    Raises:
        ConfigError: the value is missing or not an integer >= 0.
    """
    rest, threads, i = [], None, 0
    while i < len(args):
        arg = args[i]
        if arg == "--threads" or arg.startswith("--threads="):
            value = arg.split("=", 1)[1] if "=" in arg else (args[i + 1] if i + 1 < len(args) else "")
            i += 1 if "=" in arg else 2
            if not value.isdigit():
                raise ConfigError(f"--threads needs a whole number >= 0 (0 = the free cores), got {value!r}.")
            threads = int(value)
            continue
        rest.append(arg)
        i += 1
    return rest, threads
