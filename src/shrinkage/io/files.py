"""Atomic file writes: a temporary file in the target's directory, synced, then renamed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path as FilePath

__all__ = ["atomic_write"]


def atomic_write(target, write, *, overwrite=False):
    """Create ``target`` by ``write(binary_file)`` on a temporary file, then rename.

    The temporary file lives in the target's directory (so the rename is atomic), gets
    the permissions a plain ``open`` would give (``0o666`` less the umask), is synced to
    disk before the rename and removed on any failure. Used for every file shrinkage
    writes (models, plots, reports).

    Raises
    ------
    FileExistsError
        If ``target`` exists and ``overwrite`` is false (checked atomically).
    """
    target = FilePath(os.fspath(target))
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{str(target)!r} already exists; pass overwrite=True to replace it"
        )
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        _move_into_place(tmp, target, overwrite)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def _move_into_place(tmp, target, overwrite):
    if overwrite:
        os.replace(tmp, target)
        return
    # A hard link creates the name only if it does not exist: an atomic "no clobber"
    # even if another process created the file after our first check.
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise FileExistsError(
            f"{str(target)!r} already exists; pass overwrite=True to replace it"
        ) from None
    except OSError:  # file systems without hard links
        if target.exists():
            raise FileExistsError(
                f"{str(target)!r} already exists; pass overwrite=True to replace it"
            ) from None
        os.replace(tmp, target)
        return
    os.unlink(tmp)
