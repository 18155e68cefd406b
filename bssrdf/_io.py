"""Atomic file writes: a hidden temporary file beside the target, renamed into place on success.

A failed or interrupted write leaves the target as it was (absent or old) and no temporary behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_write", "temporary_beside"]


def temporary_beside(path: str | os.PathLike) -> Path:
    """A new, empty, hidden file in ``path``'s folder, with the permissions a new file would get.

    The caller writes it and renames it over ``path`` (or removes it).
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return Path(tmp)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[Path]:
    """``with atomic_write(p) as tmp:`` write ``tmp``; on success it replaces ``p``, on error it goes."""
    tmp = temporary_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
