"""Output folders: unwritable ones refused before work starts by every command; nothing half-written left behind."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest

from tests.test_cli_faults import one_paragraph
from tests.test_synthetic_resume import _synthetic_config
from toonlift.cli import main
from toonlift.errors import OutputError
from toonlift.utils.output_dirs import check_writable_folder

ROOT = Path(__file__).resolve().parents[1]


def _unwritable(tmp_path: Path, how: str) -> Path:
    """A folder path no command can write: under a regular file, or inside a read-only folder."""
    if how == "under_a_file":
        blocker = tmp_path / "blocker"
        blocker.write_text("a file, not a folder")
        return blocker / "out"
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod cannot make a folder read-only (the under_a_file case covers root)")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    return locked / "out"


def _commands(tmp_path: Path, out: Path) -> dict[str, list[str]]:
    dummy = tmp_path / "g.safetensors"
    dummy.write_bytes(b"never read: the output folder is checked first")
    cfg = _synthetic_config(tmp_path, "tiny.yaml", tmp_path / "run")
    return {
        "fit": ["fit", "--config", str(cfg), "--trainer.default_root_dir", str(out)],
        "validate": ["validate", "--config", str(cfg), "--trainer.default_root_dir", str(out)],
        "blend": ["blend", "--low", str(dummy), "--high", str(dummy), "--output", str(out / "b.safetensors")],
        "export-generator": ["export-generator", str(dummy), str(out / "g.safetensors")],
        "project": ["project", "--checkpoint", str(dummy), "--image", str(dummy), "--output_dir", str(out)],
        "invert-synthetic": ["invert-synthetic", "--generator", str(dummy), "--out", str(out)],
        "demo": ["demo", "--quick", "--out", str(out)],
        "rig-viewer": ["rig-viewer", "--out", str(out)],
        "styleuv": ["styleuv", "--seed", "0", "--out", str(out)],
        "avatar": ["avatar", "--image", str(dummy), "--out", str(out)],
        "animate": ["animate", "--avatar", str(tmp_path), "--synthetic", "--out", str(out)],
        "eg3d-views": ["eg3d-views", "--generator", str(dummy), "--output_dir", str(out)],
        "fit-boundary": [
            "fit-boundary",
            "--generator",
            str(dummy),
            "--target",
            "yaw",
            "--output",
            str(out / "b.safetensors"),
        ],
        "convert-eg3d": [
            "convert-eg3d",
            "--pickle",
            str(dummy),
            "--output",
            str(out / "g.safetensors"),
            "--trust_pickle",
            "true",
        ],
    }


@pytest.mark.parametrize("how", ["under_a_file", "read_only"])
@pytest.mark.parametrize(
    "command",
    [
        "fit", "validate", "blend", "export-generator", "project", "invert-synthetic", "demo", "rig-viewer",
        "avatar", "animate", "eg3d-views", "fit-boundary", "convert-eg3d", "styleuv",
    ],
)  # fmt: skip
def test_every_command_refuses_an_unwritable_output_folder_before_work(tmp_path, capsys, command, how):
    out = _unwritable(tmp_path, how)
    argv = _commands(tmp_path, out)[command]
    assert main(argv) != 0
    err = capsys.readouterr().err
    if command == "invert-synthetic":  # this command prints its own "error:" line
        assert err.count("error:") == 1 and "Traceback" not in err
        text = " ".join(err.split())
    else:
        text = one_paragraph(err)
    assert "cannot be" in text and str(out.parent) in text
    assert ("is a file, not a folder" if how == "under_a_file" else "permission denied") in text


def test_a_full_disk_found_by_the_probe_leaves_nothing(tmp_path, monkeypatch):
    def full(fd: int) -> None:
        os.write(fd, b"\0" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("toonlift.utils.output_dirs._write_probe", full)
    with pytest.raises(OutputError, match="the disk is full"):
        check_writable_folder(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # the probe file is gone


def test_a_full_disk_during_a_checkpoint_save_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    import torch

    system_tmp = tmp_path / "system_tmp"  # where Lightning's default writer put its temporary files
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    real_save = torch.save

    def save_until_full(obj, f, *args, **kwargs):  # noqa: ANN001, ANN202 - torch.save's signature
        if isinstance(obj, dict) and "state_dict" in obj:  # a checkpoint: half of it fits on the disk
            f.write(b"PK\x03\x04" + b"\0" * 1000)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr("toonlift.callbacks.checkpoint_io.torch.save", save_until_full)
    cfg = _synthetic_config(tmp_path, "tiny.yaml", tmp_path / "run")
    argv = ["fit", "--config", str(cfg), "--model.init_args.max_iterations", "1"]
    assert main(argv) == 2
    text = one_paragraph(capsys.readouterr().err)
    checkpoints = tmp_path / "run" / "checkpoints"
    assert f"Cannot write the checkpoint '{checkpoints / 'iter000001.ckpt'}': the disk is full" in text
    assert sorted(p.name for p in checkpoints.iterdir()) == []  # no .tmp, no truncated checkpoint
    assert list(system_tmp.iterdir()) == []

    # a run killed mid-save leaves its temporary files; the next start removes them (and only them)
    stale = [checkpoints / ".last.ckpt.tmp", checkpoints / ".iter000001.ckpt.k3j2x9.tmp"]
    for path in stale:
        path.write_bytes(b"partial")
    (checkpoints / "notes.txt").write_text("not ours")
    monkeypatch.setattr("toonlift.callbacks.checkpoint_io.torch.save", real_save)
    assert main(argv) == 0
    assert sorted(p.name for p in checkpoints.iterdir()) == ["iter000001.ckpt", "last.ckpt", "notes.txt"]
