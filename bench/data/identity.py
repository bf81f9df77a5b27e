"""What a suite's documents are, for its runs' configuration key: the content hash of each file they are read from,
so that `--data-dir ../x` and its absolute path, or a copy of the files elsewhere, are the same data, and an edited
file is not."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench.config import SuiteConfig
from bench.data.files import source_files

_HASHES: dict[tuple[str, int, int], str] = {}  # (path, size, mtime): hashed once per process, however many runs


def file_hashes(suite: SuiteConfig, data_dir: Path | None = None) -> dict[str, str] | None:
    """split -> sha256 of the file its documents come from; None for hub data (its revision says what it is) and
    synthetic data (its generator's parameters do)."""
    files = source_files(suite, data_dir)
    if files is None:
        return None
    return {split: sha256(Path(path)) for split, path in files.items()}


def sha256(path: Path) -> str:
    """The file's sha256 (hex); a file that cannot be read has none ("missing"), and loading it says why."""
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if memo not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        _HASHES[memo] = digest.hexdigest()
    return _HASHES[memo]
