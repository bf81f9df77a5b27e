"""Output paths named on the command line, checked before a command does any work."""

from __future__ import annotations

from pathlib import Path

from bench.errors import BenchError


def check_out_folder(out: Path | None, flag: str = "--out") -> None:
    """Refuse an output folder that cannot be one (an existing file, or a path inside one) in one line, before the
    command reads or computes anything: it used to fail with a traceback once the work was done.

    Raises:
        BenchError: `out` or one of its parents exists and is not a folder.
    """
    if out is None:
        return
    for path in (out, *out.parents):
        if path.is_dir():
            return
        if path.exists():
            where = "is a file" if path == out else f"is inside {path}, which is a file"
            raise BenchError(f"{flag} {out} {where}; give a folder (one that does not exist yet is created)")
