"""Validation of numeric settings at construction, so a bad config value surfaces before any work, as one message.

Each check raises :class:`~toonlift.errors.ConfigError` naming the owner, the setting, the rule and the value. NaN
fails every check (it compares false with everything), which is why the rules are written as ``not (ok)``.
"""

from __future__ import annotations

import math

from toonlift.errors import ConfigError


def finite_number(owner: str, name: str, value: object) -> float:
    """``value`` as a float, refused unless it is a finite number (not a bool, string or NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{owner}: {name} must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise ConfigError(f"{owner}: {name} must be a finite number, got {value!r}.")
    return float(value)


def positive(owner: str, name: str, value: float) -> None:
    """``value > 0`` and finite (learning rates, strengths, sizes)."""
    if not finite_number(owner, name, value) > 0:
        raise ConfigError(f"{owner}: {name} must be > 0, got {value!r}.")


def non_negative(owner: str, name: str, value: float) -> None:
    """``value >= 0`` and finite (loss weights, counts that may be zero)."""
    if not finite_number(owner, name, value) >= 0:
        raise ConfigError(f"{owner}: {name} must be >= 0, got {value!r}.")


def at_least(owner: str, name: str, value: int, minimum: int) -> None:
    """An integer ``>= minimum`` (iterations, batch sizes)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}.")


def unit_interval(owner: str, name: str, value: float, closed_right: bool = True) -> None:
    """``0 <= value <= 1`` (probabilities, fractions), or ``< 1`` with ``closed_right=False`` (decays, betas)."""
    v = finite_number(owner, name, value)
    ok = 0.0 <= v <= 1.0 if closed_right else 0.0 <= v < 1.0
    if not ok:
        raise ConfigError(f"{owner}: {name} must be in [0, 1{']' if closed_right else ')'}, got {value!r}.")
