"""The layers of the package hold: no module imports a package above its own, and no package cycle exists.

    errors  <  utils, registry  <  functional  <  synthetic  <  plugins, export  <  metrics, callbacks
            <  lightning_modules  <  datamodules, stages  <  demo, cli

A package may import its own modules and any package on a lower floor, never one on its own floor or above
(so stages never import data modules, and the synthetic world never imports a plugin). Imports inside functions
count too: a late import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "toonlift"
FLOORS = {
    "errors": 0,
    "utils": 1,
    "registry": 1,
    "functional": 2,
    "synthetic": 3,
    "plugins": 4,
    "export": 4,
    "metrics": 5,
    "callbacks": 5,
    "lightning_modules": 6,
    "datamodules": 7,
    "stages": 7,
    "demo": 8,
    "cli": 8,
}


def package_of(module: str) -> str:
    """``toonlift.plugins.stylegan2.generator`` -> ``plugins``; ``toonlift`` itself -> ``toonlift``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports(path: Path) -> list[tuple[str, int]]:
    """``(imported toonlift module, line)`` of every import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "toonlift":
            names = [f"{node.module}.{a.name}" for a in node.names] if node.module == "toonlift" else [node.module]
            found += [(n, node.lineno) for n in names]
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "toonlift"]
    return found


def upward_imports() -> list[str]:
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent)
        if path.parent == ROOT and path.name == "__init__.py":
            continue  # the package root may re-export anything
        source = package_of(".".join(rel.with_suffix("").parts))
        for module, line in imports(path):
            target = package_of(module)
            if target == source or target == "toonlift":
                continue
            if source not in FLOORS or target not in FLOORS:
                bad.append(f"{rel}:{line}: {source} -> {target} (a package with no floor: add it to FLOORS)")
            elif FLOORS[target] >= FLOORS[source]:
                bad.append(f"{rel}:{line}: {source} (floor {FLOORS[source]}) imports {module} (floor {FLOORS[target]})")
    return bad


def test_no_package_imports_upward_or_sideways() -> None:
    bad = upward_imports()
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_every_package_has_a_floor() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    packages |= {p.stem for p in ROOT.glob("*.py") if p.stem != "__init__"}
    assert packages <= set(FLOORS), sorted(packages - set(FLOORS))


@pytest.mark.parametrize("package", ["stages", "lightning_modules"])
def test_modules_do_not_import_data_modules(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in (ROOT / package).rglob("*.py")
        for module, line in imports(path)
        if package_of(module) == "datamodules"
    ]
    assert not offenders, offenders
