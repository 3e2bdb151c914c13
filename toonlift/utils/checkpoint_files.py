"""Say what is wrong with a checkpoint file that a safe ``torch.load`` refused, without ever running it.

``torch.load(weights_only=True)`` raises the same ``UnpicklingError`` for random bytes and for a hostile pickle, and
its text advises ``weights_only=False`` (the unsafe path). This module looks at the bytes instead: a file that
``torch.save`` wrote is a zip archive (``PK``) holding ``data.pkl``, or, in the legacy format, a pickle stream
(first byte ``0x80``). The pickle's opcodes are *listed* with :func:`pickletools.genops`, which parses and never
executes, so the Python objects a file would build (``os.system``...) can be named without building them.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path
from typing import Any

# globals a weights-only checkpoint legitimately names: torch's tensor/storage rebuilders and plain containers
_SAFE_PREFIXES = ("torch.", "collections.OrderedDict", "collections.defaultdict", "_codecs.encode")
_SAFE_BUILTINS = {"set", "frozenset", "bytearray", "slice", "complex", "int", "float", "str", "bool", "tuple", "list"}
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}


def pickle_globals(data: bytes, max_pickles: int = 8) -> list[str] | None:
    """The ``module.name`` globals a pickle stream would import, in order, or ``None`` if it is not a pickle.

    Parses up to ``max_pickles`` consecutive pickles (the legacy torch format stores several). Never executes.
    """
    stream = io.BytesIO(data)
    names: list[str] = []
    for index in range(max_pickles):
        if stream.tell() >= len(data):
            break
        strings: list[str] = []
        memo: dict[int, str] = {}
        last: str | None = None
        try:
            for opcode, arg, _ in pickletools.genops(stream):
                if opcode.name in _STRING_OPS:
                    last = str(arg)
                    strings.append(last)
                elif opcode.name == "MEMOIZE" and last is not None:
                    memo[len(memo)] = last
                elif opcode.name in ("BINGET", "LONG_BINGET", "GET") and arg in memo:
                    strings.append(memo[arg])
                if opcode.name in ("GLOBAL", "INST"):
                    names.append(str(arg).replace(" ", "."))
                elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                    names.append(f"{strings[-2]}.{strings[-1]}")
        except (ValueError, EOFError, TypeError, KeyError):  # not (or no longer) a pickle stream
            if index == 0:
                return None
            break
    return names


def unsafe_globals(names: list[str], allowed: tuple[str, ...] = ()) -> list[str]:
    """The globals among ``names`` that a weights-only load refuses (deduplicated, in order)."""
    out: list[str] = []
    for name in names:
        if name.startswith(_SAFE_PREFIXES) or name in allowed:
            continue
        if name.startswith("builtins.") and name.split(".", 1)[1] in _SAFE_BUILTINS:
            continue
        if name not in out:
            out.append(name)
    return out


def _is_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 10:
        return False
    header_len = int.from_bytes(head[:8], "little")
    return 0 < header_len < size and head[8:9] == b"{"


def diagnose_checkpoint(path: Path, allowed: tuple[str, ...] = ()) -> tuple[str, bool]:
    """What is wrong with a checkpoint file a safe load refused.

    Args:
        path: the file.
        allowed: extra ``module.name`` globals the caller accepts (e.g. ``argparse.Namespace``).

    Returns:
        ``(sentence, hostile)``: a sentence completing "The checkpoint '...' ..." and whether the file asks to build
        Python objects a safe load refuses (then the caller refuses it as such).
    """
    size = path.stat().st_size
    if size == 0:
        return "is an empty file (0 bytes): the save or the copy was cut before anything was written", False
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(b"PK"):
        if not zipfile.is_zipfile(path):
            return (
                f"is truncated: it starts as a PyTorch checkpoint (a zip archive) but its end is missing ({size} "
                "bytes), so the save was interrupted (a killed run or a full disk) or the copy was cut",
                False,
            )
        with zipfile.ZipFile(path) as zf:
            pkl = next((n for n in zf.namelist() if n.endswith("data.pkl")), None)
            if pkl is None:
                return "is a zip archive but not a PyTorch checkpoint (it holds no data.pkl)", False
            try:
                data = zf.read(pkl)
            except (zipfile.BadZipFile, OSError, EOFError) as err:
                return f"is a damaged PyTorch checkpoint ({err}): part of the archive cannot be read", False
    elif head[:1] == b"\x80":
        data = path.read_bytes()
    elif _is_safetensors(head, size):
        return "is a safetensors weights file, not a training checkpoint written by `toonlift fit`", False
    else:
        return (
            f"is not a PyTorch checkpoint: its first bytes ({head[:8].hex(' ')}) are neither a zip archive nor a "
            "pickle, the two formats torch.save writes, so it is random data, damaged, or another program's file",
            False,
        )
    names = pickle_globals(data)
    if names is None:
        return "is damaged: its pickled index is not a valid pickle stream", False
    bad = unsafe_globals(names, allowed)
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        return (
            f"asks to build Python objects that a safe load refuses ({shown}); toonlift never runs code from a file, "
            "so it refused it without running anything. The file is hostile or was written by other software",
            True,
        )
    return "uses pickle instructions that a safe load refuses, although it names no foreign object", False


def state_mismatch_summary(expected: dict[str, Any], given: dict[str, Any]) -> str:
    """One sentence on how a checkpoint's ``state_dict`` differs from a model's: counts and the first example."""
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    shapes = [
        k
        for k in expected
        if k in given and hasattr(expected[k], "shape") and hasattr(given[k], "shape")
        if tuple(expected[k].shape) != tuple(given[k].shape)
    ]
    parts = []
    if shapes:
        k = shapes[0]
        parts.append(
            f"{len(shapes)} tensor(s) differ in shape (first: {k} is {list(given[k].shape)} in the checkpoint and "
            f"{list(expected[k].shape)} in the model)"
        )
    if missing:
        parts.append(f"{len(missing)} tensor(s) of the model are missing from it (first: {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} tensor(s) in it are unknown to the model (first: {unexpected[0]})")
    return "; ".join(parts) if parts else "its tensors do not load into the model"
