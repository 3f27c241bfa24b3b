"""Atomic file writes: a temporary file in the target's directory, synced, then renamed."""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from pathlib import Path as FilePath

__all__ = ["STALE_TEMPORARY_AGE", "atomic_write", "remove_stale_temporaries"]

# Seconds after its last write at which a temporary file of a save is taken as left by
# a killed process: a save writes as it goes, so a live one's file is never this old.
STALE_TEMPORARY_AGE = 600
# What tempfile.mkstemp puts between our prefix and suffix: 8 of these characters.
_RANDOM_PART = r"[a-z0-9_]{8}"


def atomic_write(target, write, *, overwrite=False):
    """Create ``target`` by ``write(binary_file)`` on a temporary file, then rename.

    The temporary file lives in the target's directory (so the rename is atomic), gets
    the permissions a plain ``open`` would give (``0o666`` less the umask), is synced to
    disk before the rename and removed on any failure. Used for every file shrinkage
    writes (models, plots, reports).

    A process killed while writing (SIGKILL, power loss) cannot remove its temporary
    file ``.{name}.XXXXXXXX.tmp``; after a successful write, such files of the same
    target name that were last modified more than :data:`STALE_TEMPORARY_AGE` seconds
    (10 minutes) ago are removed (:func:`remove_stale_temporaries`). Nothing else is
    ever removed: other names, other targets' temporaries, links and directories stay.
    (A write to the same target stalled for that long would lose its temporary file and
    fail with FileNotFoundError on the rename; it never produces a partial target.)

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
    remove_stale_temporaries(target)
    return target


def remove_stale_temporaries(target, max_age=STALE_TEMPORARY_AGE):
    """Remove the temporary files that interrupted writes of ``target`` left behind.

    Only regular files named like :func:`atomic_write`'s temporaries of this very target
    (``.{target.name}.`` + 8 random characters + ``.tmp``, in its directory) and last
    modified more than ``max_age`` seconds ago are removed. Best effort: a file that
    cannot be removed (gone already, no permission) is left, silently.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    target = FilePath(os.fspath(target))
    pattern = re.compile(re.escape(f".{target.name}.") + _RANDOM_PART + re.escape(".tmp"))
    cutoff = time.time() - max_age
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if pattern.fullmatch(entry.name) is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(FilePath(entry.path))
        except OSError:
            continue
    return removed


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
