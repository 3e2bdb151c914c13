"""Every document, picture or config that a file of the project cites exists (configs once cited a missing one)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# a path inside this repository: docs/..., configs/..., benchmarks/... ending in a file type we ship
CITED = re.compile(r"(?<![\w/.-])((?:docs|configs|benchmarks)/[A-Za-z0-9_./-]+\.(?:md|png|gif|yaml|py))")
SOURCES = ["README.md", "BENCHMARKS.md", "docs", "configs", "toonlift", "benchmarks", "examples"]


def _files() -> list[Path]:
    out = []
    for name in SOURCES:
        path = ROOT / name
        if path.is_file():
            out.append(path)
        else:
            out += [p for p in path.rglob("*") if p.suffix in (".md", ".py", ".yaml") and p.is_file()]
    return out


def test_every_cited_project_file_exists() -> None:
    missing = []
    for path in _files():
        for match in CITED.finditer(path.read_text(encoding="utf-8", errors="replace")):
            cited = match.group(1).rstrip(".")
            base = ROOT / "examples" / "plugin_package" if "plugin_package" in path.parts else ROOT
            if not (base / cited).exists() and not (ROOT / cited).exists():
                missing.append(f"{path.relative_to(ROOT)} cites {cited}")
    assert not missing, "\n".join(missing)
