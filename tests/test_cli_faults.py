"""Faults and bad input at the command line: each ends in one paragraph, exit code != 0, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from toonlift.cli import main
from toonlift.registry import REGISTRIES

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
    assert "Closest match: 'stylegan2'" in text
    # every registered backbone is listed (today eg3d, head_rig, stylegan2), in order
    names = ", ".join(sorted(REGISTRIES["backbones"].names()))
    assert f"names that fit here are: {names}." in text
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


# ---------------------------------------------------------------- --ckpt_path: bad files of every kind


class _Hostile:
    """Unpickling this runs ``touch MARKER``: a real hostile pickle (the test checks it never runs)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny synthetic Stage-1 run of one iteration: its config and its checkpoint folder."""
    from tests.test_synthetic_resume import _synthetic_config

    root = tmp_path_factory.mktemp("trained")
    cfg = _synthetic_config(root, "tiny.yaml", root / "run")
    assert main(["fit", "--config", str(cfg), "--model.init_args.max_iterations", "1"]) == 0
    return cfg, root / "run" / "checkpoints"


def _bad_checkpoint(kind: str, folder: Path, good: Path) -> Path:
    import torch

    path = folder / f"{kind}.ckpt"
    if kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(np_random_bytes(4096))
    elif kind == "hostile":
        torch.save({"state_dict": {}, "payload": _Hostile(folder / "PWNED")}, path)
    elif kind == "folder":
        path.mkdir()
        (path / "last.ckpt").write_bytes(good.read_bytes())
    return path


def np_random_bytes(n: int) -> bytes:
    import numpy as np

    return np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8).tobytes()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("truncated", "is truncated: it starts as a PyTorch checkpoint"),
        ("empty", "is an empty file (0 bytes)"),
        ("random", "is not a PyTorch checkpoint: its first bytes"),
        ("hostile", "asks to build Python objects that a safe load refuses (posix.system)"),
        ("folder", "is a folder, not a checkpoint file. It holds last.ckpt"),
        ("missing", "does not exist"),
    ],
)
def test_bad_ckpt_path_files_are_one_paragraph_each(trained, tmp_path, capsys, kind, expected):
    cfg, checkpoints = trained
    bad = _bad_checkpoint(kind, tmp_path, checkpoints / "last.ckpt")
    capsys.readouterr()
    assert main(["fit", "--config", str(cfg), "--ckpt_path", str(bad)]) == 2
    text = one_paragraph(capsys.readouterr().err)
    assert expected in text and str(bad) in text
    assert "weights_only=False" not in text and "will likely succeed" not in text
    assert not (tmp_path / "PWNED").exists()  # the hostile payload never ran
    assert text.endswith(".")  # a complete sentence, not cut


def test_a_truncated_last_ckpt_found_by_last_is_one_paragraph(trained, tmp_path, capsys):
    import yaml

    cfg, checkpoints = trained
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    good = (checkpoints / "last.ckpt").read_bytes()
    (folder / "last.ckpt").write_bytes(good[: len(good) // 3])  # a run killed while writing it in place
    config = yaml.safe_load(Path(cfg).read_text())
    config["trainer"]["callbacks"][0]["init_args"]["dirpath"] = str(folder)
    moved = tmp_path / "moved.yaml"
    moved.write_text(yaml.safe_dump(config))
    assert main(["fit", "--config", str(moved), "--ckpt_path", "last"]) == 2
    text = one_paragraph(capsys.readouterr().err)
    assert f"'{folder / 'last.ckpt'}' is truncated" in text


def test_an_architecture_mismatch_is_one_paragraph_naming_the_file(trained, capsys):
    cfg, checkpoints = trained
    ckpt = str(checkpoints / "iter000001.ckpt")
    argv = ["fit", "--config", str(cfg), "--model.init_args.generator.init_args.style_dim", "16", "--ckpt_path", ckpt]
    assert main(argv) == 2
    text = one_paragraph(capsys.readouterr().err)
    assert ckpt in text and "do not match this FinetuneModule" in text
    assert "differ in shape (first: generator.style.1.weight is [32, 32] in the checkpoint and [16, 16]" in text


def test_a_hostile_ckpt_path_in_a_subprocess_is_refused_without_running_it(tmp_path):
    bad = _bad_checkpoint("hostile", tmp_path, tmp_path)
    done = run_cli("fit", "--config", CONFIG, "--ckpt_path", str(bad))
    assert done.returncode != 0
    assert "refused it without running anything" in one_paragraph(done.stderr)
    assert not (tmp_path / "PWNED").exists()


# ---------------------------------------------------------------- missing inputs


def test_a_config_without_its_files_names_every_missing_input_and_the_doc(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing of data/ or checkpoints/ exists here
    assert main(["fit", "--config", str(ROOT / "configs" / "disney.yaml")]) == 2
    text = one_paragraph(capsys.readouterr().err)
    for setting in ("`model.generator.checkpoint` = 'checkpoints/ffhq256.pt'", "`data.path` = 'data/disney'"):
        assert setting in text
    assert "docs/data.md" in text


def test_missing_latents_say_which_command_writes_them(tmp_path, capsys, monkeypatch):
    from toonlift.errors import DataError
    from toonlift.stages.vlda.inputs import load_latents

    monkeypatch.chdir(ROOT)
    latents, truth = tmp_path / "vlda_gt" / "latents.safetensors", tmp_path / "vlda_gt" / "ground_truth.safetensors"
    argv = ["fit", "--config", "configs/vlda_synthetic.yaml", "--model.init_args.images.latents", str(latents)]
    argv += ["--model.init_args.images.ground_truth", str(truth), "--trainer.default_root_dir", str(tmp_path / "r")]
    assert main(argv) == 2
    text = one_paragraph(capsys.readouterr().err)
    assert f"`model.images.latents` = '{latents}'" in text and f"`model.images.ground_truth` = '{truth}'" in text
    assert "latents come from `toonlift invert-synthetic`" in text
    with pytest.raises(DataError, match=r"does not exist. Write it first: `toonlift invert-synthetic"):
        load_latents(latents, 16)


def test_max_steps_a_module_cannot_honour_is_refused_naming_its_own_setting(capsys):
    # Stage 1 steps D and G (and their regularisers) per iteration: Lightning's max_steps would stop mid-iteration
    assert main(["fit", "--config", CONFIG, "--trainer.max_steps", "1"]) == 2
    text = one_paragraph(capsys.readouterr().err)
    assert "--trainer.max_steps 1 cannot bound FinetuneModule" in text
    assert "--model.init_args.max_iterations" in text
