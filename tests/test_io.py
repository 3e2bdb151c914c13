"""Safe I/O: atomic writes, safe checkpoint loading, safetensors with sidecar."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from toonlift.errors import CheckpointError, WeightsNotFoundError
from toonlift.utils.io import atomic_path, load_safetensors, require_file, safe_torch_load, save_safetensors


class _Hostile:
    """Unpickling this runs a shell command: a stand-in for a malicious checkpoint."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/toonlift_pwned",))


def test_atomic_path_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out" / "file.bin"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert not target.exists()
    assert list(target.parent.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask, "atomic writes must not leave private (0600) files"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]


def test_safe_load_refuses_hostile_pickle(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"g": {"w": torch.zeros(1)}, "payload": _Hostile()}, path)
    marker = Path("/tmp/toonlift_pwned")
    marker.unlink(missing_ok=True)
    with pytest.raises(CheckpointError, match=r"safe load refuses \(posix.system\)"):
        safe_torch_load(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"this is not a checkpoint", b"PK\x03\x04garbage"])
def test_safe_load_rejects_garbage(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        safe_torch_load(path, what="generator checkpoint")
    assert "bad.pt" in str(info.value)


def test_safe_load_rejects_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.pt"
    torch.save({"w": torch.randn(256, 256)}, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        safe_torch_load(path)


def test_safe_load_allows_listed_globals(tmp_path: Path) -> None:
    import argparse

    path = tmp_path / "ok.pt"
    torch.save({"args": argparse.Namespace(size=256), "w": torch.ones(2)}, path)
    with pytest.raises(CheckpointError):
        safe_torch_load(path)
    data = safe_torch_load(path, safe_globals=[argparse.Namespace])
    assert data["args"].size == 256 and torch.equal(data["w"], torch.ones(2))


def test_missing_files_raise_weights_not_found(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFoundError, match="download"):
        require_file(tmp_path / "nope.pth", "the identity network", "download it from X.")
    with pytest.raises(WeightsNotFoundError):
        safe_torch_load(tmp_path / "nope.pt")


def test_safetensors_round_trip_with_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "g.safetensors"
    tensors = {"a": torch.randn(3, 4), "b": torch.arange(5)}
    save_safetensors(path, tensors, {"size": 64, "kind": "test"})
    assert path.with_suffix(".json").is_file()
    loaded, meta = load_safetensors(path)
    assert meta == {"size": 64, "kind": "test"}
    assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)
    path.with_suffix(".json").unlink()  # the header copy is the fallback
    assert load_safetensors(path)[1] == meta
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(CheckpointError):
        load_safetensors(path)


def test_pickle_module_is_not_used_for_loading() -> None:
    # guard: the loader must not fall back to pickle.load anywhere
    import inspect

    import toonlift.utils.io as io

    assert "pickle.load" not in inspect.getsource(io)
    assert pickle  # imported for the exception type only
