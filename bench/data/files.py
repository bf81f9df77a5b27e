"""Local data files: which file holds each split (a suite's own, or --data-dir's), reading jsonl / csv / parquet
with one-line errors, and aclImdb folders converted to jsonl."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from bench.config import SuiteConfig
from bench.errors import BenchError
from bench.results.files import atomic_writer

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict

FORMATS = {".jsonl": "json", ".json": "json", ".jsonl.gz": "json", ".json.gz": "json", ".csv": "csv", ".csv.gz": "csv",
           ".parquet": "parquet"}  # fmt: skip


def cache_dir() -> Path:
    """Where bench keeps generated data and trained tokenizers (BENCH_CACHE, else ~/.cache/bench)."""
    return Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "bench")


def source_files(suite: SuiteConfig, data_dir: Path | None = None) -> dict[str, Path] | None:
    """split -> the file its documents are read from, for a suite read from files (its own, or `data_dir`'s); None
    for hub and synthetic data. An aclImdb folder is converted to one cached jsonl file first."""
    if data_dir is not None:
        return _find_files(suite, data_dir)
    if suite.data.source == "files":
        base = Path(suite.source_file).parent if suite.source_file else Path.cwd()
        return {split: _named_file(base, name) for split, name in suite.data.files.items()}
    return None


def _named_file(base: Path, name: str) -> Path:
    """`base/name`; a name without a data format's extension (`train`) is a stem, found as `train.jsonl`,
    `train.jsonl.gz`, `train.csv` or `train.parquet` (the first in that order that exists), so that one suite reads
    both a plain and a gzipped copy."""
    path = base / name
    if path.exists() or _format(path):
        return path
    found = [base / f"{name}{ext}" for ext in FORMATS if (base / f"{name}{ext}").is_file()]
    return found[0] if found else path


def _find_files(suite: SuiteConfig, data_dir: Path) -> dict[str, Path]:
    if not data_dir.is_dir():
        raise BenchError(f"--data-dir {data_dir} is not a directory; point it at a folder with train and test files")
    if suite.data.files:
        found = {split: _named_file(data_dir, name) for split, name in suite.data.files.items()}
        # a stem (`dev`) that matched no file is named with the endings it was looked for under
        missing = [str(p) if _format(p) else f"{p}.jsonl(.gz)/.csv/.parquet" for p in found.values() if not p.exists()]
        if missing:
            raise BenchError(f"data file(s) {', '.join(missing)} not found; check --data-dir or the suite's data.files")
        return found
    found = {}
    splits = (suite.data.train_split, suite.data.validation_split, suite.data.test_split)
    for split in (s for s in splits if s is not None):
        candidates = [p for p in sorted(data_dir.glob(f"{split}.*")) if _format(p)]
        if candidates:
            found[split] = candidates[0]
        elif (data_dir / split).is_dir():
            found[split] = _acl_imdb_to_jsonl(data_dir / split)
        else:
            raise BenchError(
                f"no '{split}' data in {data_dir}: expected {split}.jsonl, {split}.jsonl.gz, {split}.csv or "
                f"{split}.parquet, or an aclImdb-style folder {split}/<label>/*.txt"
            )
    return found


def _format(path: Path) -> str | None:
    name = path.name.lower()
    return next((fmt for ext, fmt in FORMATS.items() if name.endswith(ext)), None)


def load_files(files: dict[str, Path]) -> DatasetDict:
    """Each split read on its own, so an error names its file and splits may differ in extra columns."""
    from datasets import DatasetDict

    formats = {_format(p) for p in files.values()}
    for path in files.values():
        if not Path(path).is_file():
            raise BenchError(f"data file {path} does not exist; check the path, or pass --data-dir DIR holding it")
    if len(formats) != 1 or None in formats:
        raise BenchError(
            f"data files {', '.join(str(p) for p in files.values())} must share one format: jsonl(.gz), csv or parquet"
        )
    fmt = formats.pop()
    return DatasetDict({split: _load_file(Path(path), fmt) for split, path in files.items()})


def _load_file(path: Path, fmt: str) -> Dataset:
    import datasets

    if path.stat().st_size == 0:
        raise BenchError(f"data file {path} is empty; it needs one document per line (jsonl) or row (csv/parquet)")
    # datasets logs a parse error before raising it; the BenchError below says it once, with the fix
    verbosity = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    try:
        ds = datasets.load_dataset(fmt, data_files={"data": str(path)}, split="data")
        # The JSON reader can let invalid UTF-8 through into string columns, to fail later inside training. A full
        # validation in Arrow is fast; the byte-by-byte scan that says where runs only when something is wrong.
        ds.data.table.validate(full=True)
        return ds
    except Exception as err:
        if fmt != "parquet":
            _check_utf8(path)
        raise BenchError(
            f"cannot read {path} as {_FORMAT_NAMES[fmt]}: {_root_cause(err)}; fix or re-save the file"
        ) from None
    finally:
        datasets.logging.set_verbosity(verbosity)


_FORMAT_NAMES = {"json": "JSON lines", "csv": "CSV", "parquet": "parquet"}


def _check_utf8(path: Path) -> None:
    """Text formats must be UTF-8; pyarrow would otherwise fail deep inside (or read mojibake)."""
    import codecs
    import gzip

    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with (gzip.open if path.name.lower().endswith(".gz") else open)(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                line += chunk[: err.start].count(b"\n")
                raise BenchError(
                    f"{path} is not UTF-8 text (byte 0x{chunk[err.start]:02x} on line {line}); "
                    "re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
                ) from None
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise BenchError(f"{path} is not UTF-8 text (it ends inside a character); re-save it as UTF-8") from None


def _root_cause(err: BaseException) -> str:
    """The most specific message in an exception chain (datasets wraps parser errors in a generic one)."""
    chain = []
    while err is not None and len(chain) < 10:
        chain.append(err)
        err = err.__cause__ or err.__context__
    specific = [e for e in chain if type(e).__name__ != "DatasetGenerationError" and str(e).strip()]
    best = specific[0] if specific else chain[0]
    return " ".join(str(best).split())[:300] or type(best).__name__


def _acl_imdb_to_jsonl(folder: Path) -> Path:
    """aclImdb layout (`<split>/<label>/<id>_<rating>.txt`) → one cached jsonl file, labels = folder names."""
    label_dirs = sorted(d for d in folder.iterdir() if d.is_dir() and any(d.glob("*.txt")) and d.name != "unsup")
    if not label_dirs:
        raise BenchError(f"{folder} has no <label>/*.txt folders (aclImdb layout: {folder.name}/pos/*.txt, ...)")
    stamp = max(d.stat().st_mtime_ns for d in label_dirs)
    key = hashlib.sha256(f"{folder.resolve()}:{stamp}".encode()).hexdigest()[:16]
    out = cache_dir() / "aclimdb" / f"{key}-{folder.name}.jsonl"
    if out.exists():
        return out
    with atomic_writer(out) as f:  # two runs converting it at once each write their own temporary file
        for label_dir in label_dirs:
            for txt in sorted(label_dir.glob("*.txt")):
                row = {
                    "id": f"{label_dir.name}/{txt.stem}",
                    "text": txt.read_text(encoding="utf-8"),
                    "label": label_dir.name,
                }
                f.write(json.dumps(row) + "\n")
    return out
