"""Load a suite's documents (hub, local files, aclImdb folders or synthetic) into train/validation/test splits."""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.config import MULTILABEL, SINGLE_LABEL, SuiteConfig
from bench.data.texts import join_paragraphs
from bench.errors import BenchError
from bench.results.files import atomic_writer
from bench.tasks import Task, task_for

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict

FORMATS = {".jsonl": "json", ".json": "json", ".jsonl.gz": "json", ".json.gz": "json", ".csv": "csv", ".csv.gz": "csv",
           ".parquet": "parquet"}  # fmt: skip


def cache_dir() -> Path:
    """Where bench keeps generated data and trained tokenizers (BENCH_CACHE, else ~/.cache/bench)."""
    return Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "bench")


@dataclass(frozen=True)
class SuiteData:
    """The three splits every run of a suite uses, with the label names (index = label id).

    `positive_label`: the class of binary F1, precision and recall: the suite's `data.positive_label`, else the
    second label name (sorted: 1 of 0/1, "positive" of negative/positive). None with more than two classes (F1 is
    macro-averaged) and for a task without classes (`task`, a `bench.tasks` name).
    """

    splits: DatasetDict  # train, validation, test; columns id, text, label (as the task encodes it)
    label_names: tuple[str, ...]
    positive_label: str | None = None
    # the train split's documents before --limit: what a run on the full data would carve train and validation from
    n_train_split: int | None = None
    task: str = SINGLE_LABEL

    @property
    def kind(self) -> Task:
        """The suite's task (`bench.tasks`): what the labels are, how a run decides, scores and compares."""
        return task_for(self.task)

    @property
    def positive_id(self) -> int:
        return self.label_names.index(self.positive_label) if self.positive_label is not None else 1


def texts_of(ds: Dataset, column: str = "text") -> list[str]:
    """A column as a Python list, read through Arrow: iterating a Dataset row by row costs ~0.3 s per 25k reviews."""
    return ds.with_format("arrow")[column].to_pylist()


def load_suite_data(suite: SuiteConfig, data_dir: Path | None = None, limit: int | None = None) -> SuiteData:
    """Load, validate, subsample (`limit` training documents) and split a suite's data.

    Deterministic: the same suite, data and limit give the same splits (and datasets cache fingerprints) in
    every process, so tokenization is cached once and reused by every run.
    """
    raw = _load_raw(suite, data_dir)
    train, test = raw[suite.data.train_split], raw[suite.data.test_split]
    train, test = _standardize(suite, train, "train"), _standardize(suite, test, "test")
    task = task_for(suite.data.task)
    train, test, names = task.encode(suite, train, test)  # validated; label ids as the task encodes them
    n_train_split = len(train)
    if limit is not None:
        n_test = max(2, math.ceil(limit * len(test) / len(train)))
        train = train.shuffle(seed=suite.protocol.split_seed).select(range(min(limit, len(train))))
        test = test.shuffle(seed=suite.protocol.split_seed).select(range(min(n_test, len(test))))
    return SuiteData(
        splits=task.split(suite, train, test),
        label_names=names,
        positive_label=task.positive_label(suite, names),
        n_train_split=n_train_split,
        task=task.name,
    )


def _load_raw(suite: SuiteConfig, data_dir: Path | None) -> DatasetDict:
    import datasets

    data = suite.data
    if data.source == "synthetic" and data.task == MULTILABEL:
        from bench.data.synthetic import write_files
        from bench.data.synthetic_multilabel import MultiLabelSpec, generate

        try:
            ml_spec = MultiLabelSpec(**{"allow_empty": data.allow_empty_labels, **data.synthetic})
        except TypeError as err:
            raise BenchError(f"suite '{suite.name}': synthetic multilabel data: {err}") from None
        raw = _load_files(write_files(ml_spec, cache_dir() / "synthetic", generate))
        if data.label_column != "labels":  # the generator's column, under the name the suite reads
            raw = raw.rename_column("labels", data.label_column)
        return raw
    if data.source == "synthetic":
        from bench.data.synthetic import SyntheticSpec, write_files

        try:
            spec = SyntheticSpec(**data.synthetic)
        except TypeError as err:
            raise BenchError(f"suite '{suite.name}': synthetic data: {err}") from None
        return _load_files({k: v for k, v in write_files(spec, cache_dir() / "synthetic").items()})
    files = source_files(suite, data_dir)
    if files is not None:
        return _load_files(files)
    try:
        return datasets.load_dataset(data.path, data.name, revision=data.revision)
    except Exception as err:  # offline, unknown id, auth: all end the same way for the user
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BenchError(
            f"cannot load '{data.path}' from the Hugging Face Hub ({reason[:200]}). Download it where you have "
            f"network, or pass --data-dir DIR with train/test files (jsonl, jsonl.gz, csv, parquet) or the aclImdb folders"
        ) from None


def source_files(suite: SuiteConfig, data_dir: Path | None = None) -> dict[str, Path] | None:
    """split -> the file its documents are read from, for a suite read from files (its own, or `data_dir`'s); None
    for hub and synthetic data. An aclImdb folder is converted to one cached jsonl file first."""
    if data_dir is not None:
        return _find_files(suite, data_dir)
    if suite.data.source == "files":
        base = Path(suite.source_file).parent if suite.source_file else Path.cwd()
        return {split: base / name for split, name in suite.data.files.items()}
    return None


def _find_files(suite: SuiteConfig, data_dir: Path) -> dict[str, Path]:
    if not data_dir.is_dir():
        raise BenchError(f"--data-dir {data_dir} is not a directory; point it at a folder with train and test files")
    if suite.data.files:
        found = {split: data_dir / name for split, name in suite.data.files.items()}
        missing = [str(p) for p in found.values() if not p.exists()]
        if missing:
            raise BenchError(f"data file(s) {', '.join(missing)} not found; check --data-dir or the suite's data.files")
        return found
    found = {}
    for split in (suite.data.train_split, suite.data.test_split):
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


def _load_files(files: dict[str, Path]) -> DatasetDict:
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


def _standardize(suite: SuiteConfig, ds: Dataset, split: str) -> Dataset:
    """Keep only id/text/label, under those names."""
    cfg = suite.data
    missing = [c for c in (cfg.text_column, cfg.label_column) if c not in ds.column_names]
    if missing:
        raise BenchError(
            f"{split} data has no column {', '.join(repr(c) for c in missing)} (columns: {', '.join(ds.column_names)}); "
            "set data.text_column / data.label_column in the suite file"
        )
    if len(ds) == 0:
        raise BenchError(f"the {split} data of suite '{suite.name}' is empty")
    ds = join_paragraphs(ds, cfg.text_column)  # a document given as a list of paragraphs becomes one text
    _check_texts(ds, cfg.text_column, split)
    if cfg.id_column and cfg.id_column not in ds.column_names:
        raise BenchError(f"{split} data has no id column {cfg.id_column!r}; fix data.id_column in the suite file")
    id_column = cfg.id_column or ("id" if "id" in ds.column_names else None)
    keep = {cfg.text_column: "text", cfg.label_column: "label"} | ({id_column: "id"} if id_column else {})
    ds = ds.select_columns(list(keep)).rename_columns({k: v for k, v in keep.items() if k != v})
    if "id" not in ds.column_names:
        ds = ds.add_column("id", [f"{split}-{i}" for i in range(len(ds))])
    elif ds.features["id"].dtype != "string":
        from datasets import Value

        ds = ds.cast_column("id", Value("string"))
    return ds


def _check_texts(ds: Dataset, column: str, split: str) -> None:
    feature = ds.features[column]
    if getattr(feature, "dtype", None) not in ("string", "large_string"):
        raise BenchError(
            f"{split} column {column!r} holds {getattr(feature, 'dtype', type(feature).__name__)} values, not text; "
            "point data.text_column at the documents"
        )
    import pyarrow.compute as pc

    # column-wise in Arrow: a Python loop over 50,000 reviews costs more than the rest of a cached load
    texts = ds.with_format("arrow")[column]  # honours an indices mapping (select/shuffle), unlike ds.data
    blank = pc.or_kleene(pc.is_null(texts), pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(texts)), 0))
    empty = pc.indices_nonzero(pc.fill_null(blank, True)).to_pylist()
    if empty:
        rows = ", ".join(str(i + 1) for i in empty[:5]) + (", ..." if len(empty) > 5 else "")
        raise BenchError(
            f"{len(empty)} {split} document(s) have no text (row(s) {rows}); drop them or fill column {column!r}"
        )
