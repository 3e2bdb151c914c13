"""Output folders checked before long work starts, and write failures told in one paragraph.

A command that runs for minutes or hours must not find at the end that it cannot write its results. Every command
calls :func:`check_writable_folder` on each folder it will write before it starts: the folder is created if needed
and a small probe file is written and removed there, which catches a missing permission, a read-only file system, a
full disk and a file standing where a folder should be. :func:`describe_os_error` turns the same failures met later
(a disk filling up during training) into one :class:`~toonlift.errors.OutputError` paragraph.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from toonlift.errors import OutputError

# the write failures a user fixes by choosing another folder or making room: everything else is a bug to show
WRITE_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR})
_PROBE_BYTES = 64 * 1024  # enough to need a new block on a full disk, small enough to cost nothing


def _why(err: OSError) -> str:
    code = err.errno
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied: this user cannot write there. Choose a folder you can write, or fix its permissions"
    if code == errno.EROFS:
        return "it is on a read-only file system. Choose a folder on a writable disk"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full (or the disk quota is used up). Free some space, or choose a folder on another disk"
    if code in (errno.ENOTDIR, errno.EEXIST):
        return "a file stands where a folder is needed. Choose another path, or move that file away"
    return f"{err.strerror or type(err).__name__}. Choose another folder"


def describe_os_error(err: OSError, what: str = "output") -> OutputError:
    """One paragraph for a failed write: which file or folder, what is wrong, how to fix it."""
    target = err.filename or "(unknown path)"
    return OutputError(f"Cannot write the {what} '{target}': {_why(err)}.")


def _write_probe(fd: int) -> None:
    os.write(fd, b"\0" * _PROBE_BYTES)
    os.fsync(fd)  # a full disk may only refuse the data when it is flushed


def check_writable_folder(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Create ``path`` if needed and prove a file can be written in it (a probe file, then removed).

    Args:
        path: the folder a command will write.
        what: how messages call it, e.g. ``"output folder (--output_dir)"``.

    Returns:
        The folder, as a ``Path``.

    Raises:
        OutputError: the folder cannot be created or written (the message names it and says why).
    """
    folder = Path(path).expanduser()
    for ancestor in (folder, *folder.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise OutputError(
                    f"The {what} '{folder}' cannot be created: '{ancestor}' is a file, not a folder. Choose another "
                    "path, or move that file away."
                )
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".toonlift-write-probe.", suffix=".tmp", dir=folder)
        try:
            _write_probe(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as err:
        raise OutputError(f"The {what} '{folder}' cannot be written: {_why(err)}.") from err
    return folder


def check_writable_parent(path: str | os.PathLike, what: str = "output file") -> Path:
    """:func:`check_writable_folder` on the folder of the file ``path`` will be; returns ``Path(path)``."""
    target = Path(path).expanduser()
    if target.is_dir():
        raise OutputError(f"The {what} '{target}' is a folder; give a file name inside it.")
    check_writable_folder(target.parent if str(target.parent) else Path("."), f"folder of the {what}")
    return target
