"""Contract: every built-in entry point loads and subclasses its kind's base (timm's test_models idea)."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from toonlift.registry import REGISTRIES

ROOT = Path(__file__).resolve().parents[1]


def _declared() -> list[tuple[str, str, str]]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    rows = []
    for group, body in cfg["options.entry_points"].items():
        if not group.startswith("toonlift."):
            continue
        for line in filter(None, (ln.strip() for ln in body.splitlines())):
            name, _, target = (part.strip() for part in line.partition("="))
            rows.append((group, name, target))
    return rows


BUILTINS = _declared()


def test_every_group_in_setup_cfg_is_a_registry() -> None:
    groups = {r.group for r in REGISTRIES.values()}
    assert {g for g, _, _ in BUILTINS} <= groups


@pytest.mark.parametrize(("group", "name", "target"), BUILTINS, ids=[f"{g[9:]}:{n}" for g, n, _ in BUILTINS])
def test_builtin_entry_point_loads_and_subclasses_base(group: str, name: str, target: str) -> None:
    registry = next(r for r in REGISTRIES.values() if r.group == group)
    assert name in registry.names(), "setup.cfg changed: re-run `pip install -e .`"
    assert registry.spec(name).target == target
    cls = registry.get(name)
    assert issubclass(cls, registry.base)
    assert cls.__doc__, f"{target} needs a docstring (it becomes --help)"
