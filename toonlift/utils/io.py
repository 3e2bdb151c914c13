"""Safe file I/O: atomic writes, safe checkpoint loading, safetensors with a JSON sidecar.

* Nothing is ever half-written: every writer goes to a temporary name in the same folder, then renames.
* Checkpoints load with ``torch.load(weights_only=True)``; only explicitly allowed globals are accepted.
* A safetensors file ``x.safetensors`` carries its architecture arguments in ``x.json`` beside it, so a model can be
  rebuilt from the two files with no other information.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from toonlift.errors import CheckpointError, WeightsNotFoundError

PathLike = str | os.PathLike


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds.

    Args:
        path: the final destination. Its parent folder is created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the permissions a plain open() would (0666 minus umask)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def remove_stale_temporaries(folder: PathLike, stem_glob: str = "*") -> list[Path]:
    """Delete temporary files a killed or failed writer left in ``folder`` (only ``.<stem_glob>.tmp`` names).

    Call it where no writer of the same folder can be running (a run's start, on rank 0).

    Returns:
        The files removed.
    """
    root = Path(folder)
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for tmp in root.glob(f".{stem_glob}.tmp"):
        if tmp.is_file():
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def require_file(path: PathLike, what: str, how_to_get: str) -> Path:
    """Return ``Path(path)`` if it is a non-empty file, else raise :class:`WeightsNotFoundError`.

    Args:
        path: the file the user gave.
        what: what the file is, e.g. ``"the FFHQ-256 StyleGAN2 checkpoint"``.
        how_to_get: where to get it, one sentence.
    """
    p = Path(os.path.expanduser(str(path)))
    if not p.is_file():
        raise WeightsNotFoundError(f"{what} was not found at '{p}'. {how_to_get}")
    if p.stat().st_size == 0:
        raise CheckpointError(f"{what} at '{p}' is an empty file (0 bytes): the download or copy was cut. {how_to_get}")
    return p


def safe_torch_load(path: PathLike, what: str = "checkpoint", safe_globals: Sequence[Any] = ()) -> Any:
    """``torch.load`` with ``weights_only=True`` and clear errors; never unpickles arbitrary objects.

    Args:
        path: file to read (CPU map location).
        what: description used in error messages.
        safe_globals: extra classes allowed in the pickle (e.g. ``argparse.Namespace`` of rosinality checkpoints).

    Raises:
        CheckpointError: the file is missing, truncated, not a torch file, or holds objects that are not allowed.
    """
    import torch

    from toonlift.utils.checkpoint_files import diagnose_checkpoint

    p = Path(os.path.expanduser(str(path)))
    if p.is_dir():
        inside = sorted(x.name for x in p.glob("*.ckpt"))[:3]
        hint = f" It holds {', '.join(inside)}; give one of them." if inside else ""
        raise CheckpointError(f"The {what} '{p}' is a folder, not a checkpoint file.{hint}")
    if not p.is_file():
        raise WeightsNotFoundError(f"The {what} '{p}' does not exist. Check the path.")
    allowed = tuple(f"{g.__module__}.{g.__qualname__}" for g in safe_globals if isinstance(g, type))
    try:
        with torch.serialization.safe_globals(list(safe_globals)):
            return torch.load(p, map_location="cpu", weights_only=True)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        zipfile.BadZipFile,
        OSError,
        ValueError,
        KeyError,
        AttributeError,
        IndexError,
    ) as err:
        # torch's own text advises weights_only=False and cannot tell random bytes from a hostile pickle: the
        # message comes from the file's bytes instead (read, never executed)
        reason, hostile = diagnose_checkpoint(p, allowed)
        if hostile:
            fix = (
                "Use a checkpoint written by toonlift, or, if you wrote the file yourself, re-save only its tensors "
                "(torch.save of a state_dict, or safetensors)."
            )
        else:
            fix = "Use an earlier checkpoint (e.g. another iter*.ckpt in the same folder) or copy the file again."
        raise CheckpointError(f"The {what} '{p}' {reason}. {fix}") from err


def sidecar_path(path: PathLike) -> Path:
    """The JSON sidecar of a safetensors file: ``model.safetensors`` -> ``model.json``."""
    return Path(path).with_suffix(".json")


def save_safetensors(path: PathLike, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
    """Save tensors as safetensors plus a JSON sidecar, both atomically.

    Args:
        path: destination ``*.safetensors``.
        tensors: name -> tensor (made contiguous; shared storage is cloned).
        meta: JSON-serialisable architecture arguments and provenance, written to the sidecar.
    """
    from safetensors.torch import save_file

    flat = {k: v.detach().contiguous().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(flat, str(tmp), metadata={"toonlift": json.dumps(meta, sort_keys=True)})
    atomic_write_json(sidecar_path(path), meta)


def load_safetensors(path: PathLike, what: str = "weights file") -> tuple[dict[str, Any], dict[str, Any]]:
    """Load a safetensors file and its metadata (the JSON sidecar, else the header copy).

    Returns:
        ``(tensors, meta)``.

    Raises:
        CheckpointError: missing, truncated or corrupt file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    p = Path(path)
    if not p.is_file():
        raise WeightsNotFoundError(f"The {what} '{p}' does not exist. Check the path.")
    try:
        tensors = load_file(str(p), device="cpu")
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as f:
            header_meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"The {what} '{p}' is not a valid safetensors file ({err}). It may be truncated; copy it again."
        ) from err
    side = sidecar_path(p)
    if side.is_file():
        try:
            meta = json.loads(side.read_text())
        except json.JSONDecodeError as err:
            raise CheckpointError(f"The sidecar '{side}' of '{p}' is not valid JSON ({err}).") from err
    elif "toonlift" in header_meta:
        meta = json.loads(header_meta["toonlift"])
    else:
        meta = {}
    return tensors, meta
