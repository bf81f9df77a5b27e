"""Writing files so that a reader, a crash or a second process never sees half of one: a unique temporary name in
the same folder, flushed to disk, then renamed over the target (and the folder flushed, so the rename survives a
power cut too)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_UMASK = os.umask(0)  # read once (setting it is the only way to read it), and put back at once
os.umask(_UMASK)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename into it) to disk; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: Path, mode: str = "w") -> Iterator[IO]:
    """A file to write `path`'s new content into (`mode` "w" for text, "wb" for bytes); on a clean exit it replaces
    `path` at once, on an error it is removed and `path` is untouched. Two writers of one path each write their own
    temporary file: the last rename wins, and both contents are whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # as open() would make it (mkstemp's 0600 would hide results from a team)
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (see `atomic_writer`)."""
    with atomic_writer(path) as f:
        f.write(text)


def move_into_place(source: Path, target: Path) -> None:
    """Rename `source` over `target` (same file system) and flush the folder."""
    os.replace(source, target)
    fsync_folder(target.parent)
