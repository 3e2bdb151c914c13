"""Faults and bad input at the command line: each ends in one paragraph, exit code != 0, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from toonlift.cli import main

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "configs" / "synthetic_cartoon_gan.yaml")


def one_paragraph(err: str) -> str:
    """The CLI's error text, checked to be one ``toonlift: error:`` paragraph, with its wrapping undone."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if line.startswith("toonlift: error:")]
    assert len(errors) == 1, err
    paragraph = lines[errors[0] :]
    assert all(line.startswith("  ") for line in paragraph[1:]), err  # continuation lines of the same paragraph
    assert "Traceback" not in err and "usage:" not in err, err
    return " ".join(line.strip() for line in paragraph)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    environment.pop("TOONLIFT_DEBUG", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, env=environment, timeout=300
    )


def test_unknown_backbone_in_a_subprocess_lists_the_names_and_the_closest_match():
    done = run_cli("fit", "--config", CONFIG, "--model.init_args.generator.class_path", "stylegan3")
    assert done.returncode != 0
    text = one_paragraph(done.stderr)
    assert "Unknown backbone 'stylegan3'" in text and "`model.generator`" in text
    assert "Closest match: 'stylegan2'" in text and "names that fit here are: stylegan2" in text
    assert len(done.stderr) < 1200  # not the 48-line usage dump


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (("--model.init_args.structure.class_path", "strucure"), "Unknown loss 'strucure'"),
        (("--model.init_args.r1.class_path", "r2"), "Closest match: 'r1'"),
        (("--data.class_path", "synthetic_face"), "Closest match: 'synthetic_faces'"),
    ],
)
def test_unknown_loss_and_data_names_are_one_paragraph(override, expected, capsys):
    assert main(["fit", "--config", CONFIG, *override]) == 2
    text = one_paragraph(capsys.readouterr().err)
    assert expected in text


def test_other_parse_errors_and_an_empty_config_are_one_paragraph(tmp_path, capsys):
    assert main(["fit", "--config", CONFIG, "--trainer.max_steps", "abc"]) == 2
    assert "trainer.max_steps" in one_paragraph(capsys.readouterr().err)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert main(["fit", "--config", str(empty)]) == 2
    assert "is empty or is not a YAML mapping" in one_paragraph(capsys.readouterr().err)
