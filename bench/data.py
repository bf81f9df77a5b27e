"""Load a suite's documents (hub, local files, aclImdb folders or synthetic) into train/validation/test splits."""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.config import SuiteConfig
from bench.errors import BenchError

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict

FORMATS = {".jsonl": "json", ".json": "json", ".jsonl.gz": "json", ".json.gz": "json", ".csv": "csv", ".csv.gz": "csv"}
FORMATS[".parquet"] = "parquet"


def cache_dir() -> Path:
    """Where bench keeps generated data and trained tokenizers (BENCH_CACHE, else ~/.cache/bench)."""
    return Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "bench")


@dataclass(frozen=True)
class SuiteData:
    """The three splits every run of a suite uses, with the label names (index = label id)."""

    splits: DatasetDict  # train, validation, test; columns id, text, label
    label_names: tuple[str, ...]


def load_suite_data(suite: SuiteConfig, data_dir: Path | None = None, limit: int | None = None) -> SuiteData:
    """Load, validate, subsample (`limit` training documents) and split a suite's data.

    Deterministic: the same suite, data and limit give the same splits (and datasets cache fingerprints) in
    every process, so tokenization is cached once and reused by every run.
    """
    raw = _load_raw(suite, data_dir)
    train, test = raw[suite.data.train_split], raw[suite.data.test_split]
    train, test = _standardize(suite, train, "train"), _standardize(suite, test, "test")
    train, test, names = _encode_labels(suite, train, test)
    if limit is not None:
        n_test = max(2, math.ceil(limit * len(test) / len(train)))
        train = train.shuffle(seed=suite.protocol.split_seed).select(range(min(limit, len(train))))
        test = test.shuffle(seed=suite.protocol.split_seed).select(range(min(n_test, len(test))))
    classes = set(train.unique("label"))
    if len(classes) < 2:
        raise BenchError(
            f"the training data of suite '{suite.name}' has only one class ({names[classes.pop()]!r}); "
            "a classifier needs at least two (raise --limit or check the label column)"
        )
    try:
        parts = train.train_test_split(
            test_size=suite.protocol.validation_fraction, seed=suite.protocol.split_seed, stratify_by_column="label"
        )
    except ValueError as err:
        raise BenchError(
            f"cannot carve a stratified {suite.protocol.validation_fraction:.0%} validation split from "
            f"{len(train)} training documents ({err}); use more documents or a larger --limit"
        ) from None
    from datasets import DatasetDict

    splits = DatasetDict(train=parts["train"], validation=parts["test"], test=test)
    return SuiteData(splits=splits, label_names=names)


def _load_raw(suite: SuiteConfig, data_dir: Path | None) -> DatasetDict:
    import datasets

    data = suite.data
    if data.source == "synthetic":
        from bench.synthetic import SyntheticSpec, write_files

        try:
            spec = SyntheticSpec(**data.synthetic)
        except TypeError as err:
            raise BenchError(f"suite '{suite.name}': synthetic data: {err}") from None
        return _load_files({k: v for k, v in write_files(spec, cache_dir() / "synthetic").items()})
    if data_dir is not None:
        return _load_files(_find_files(suite, data_dir))
    if data.source == "files":
        base = Path(suite.source_file).parent if suite.source_file else Path.cwd()
        return _load_files({split: base / name for split, name in data.files.items()})
    try:
        return datasets.load_dataset(data.path, data.name, revision=data.revision)
    except Exception as err:  # offline, unknown id, auth: all end the same way for the user
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BenchError(
            f"cannot load '{data.path}' from the Hugging Face Hub ({reason[:200]}). Download it where you have "
            f"network, or pass --data-dir DIR with train/test files (jsonl, jsonl.gz, csv, parquet) or the aclImdb folders"
        ) from None


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
    import datasets

    formats = {_format(p) for p in files.values()}
    for path in files.values():
        if not Path(path).is_file():
            raise BenchError(f"data file {path} does not exist; check the path")
    if len(formats) != 1 or None in formats:
        raise BenchError(
            f"data files {', '.join(str(p) for p in files.values())} must share one format: jsonl(.gz), csv or parquet"
        )
    try:
        return datasets.load_dataset(formats.pop(), data_files={k: str(v) for k, v in files.items()})
    except Exception as err:
        detail = " ".join(str(err).split())[:300]
        raise BenchError(f"cannot read data files in {Path(next(iter(files.values()))).parent}: {detail}") from None


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
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for label_dir in label_dirs:
            for txt in sorted(label_dir.glob("*.txt")):
                row = {
                    "id": f"{label_dir.name}/{txt.stem}",
                    "text": txt.read_text(encoding="utf-8"),
                    "label": label_dir.name,
                }
                f.write(json.dumps(row) + "\n")
    tmp.replace(out)
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


def _encode_labels(suite: SuiteConfig, train: Dataset, test: Dataset) -> tuple[Dataset, Dataset, tuple[str, ...]]:
    """Map labels to ids 0..K-1 (strings sorted, or the suite's label_names order) and cast to ClassLabel."""
    from datasets import ClassLabel

    feature = train.features["label"]
    if isinstance(feature, ClassLabel):
        names = tuple(suite.data.label_names or feature.names)
        return train, test.cast_column("label", ClassLabel(names=list(names))), names
    values = sorted(set(train.unique("label")) | set(test.unique("label")), key=str)
    if None in values:
        raise BenchError("some documents have no label; drop them or fill the label column")
    if feature.dtype == "string" or suite.data.label_names is None:
        names = tuple(suite.data.label_names or (str(v) for v in values))
        index = {v: names.index(str(v)) for v in values if str(v) in names}
        unknown = [v for v in values if v not in index]
        if unknown:
            raise BenchError(
                f"labels {unknown[:5]} are not in data.label_names {list(names)}; add them or fix the data"
            )
    else:
        names = tuple(suite.data.label_names)
        bad = [v for v in values if not (isinstance(v, int) and 0 <= v < len(names))]
        if bad:
            raise BenchError(
                f"labels {bad[:5]} are outside 0..{len(names) - 1} given by data.label_names {list(names)}"
            )
        index = {v: v for v in values}
    features = train.features.copy()
    features["label"] = ClassLabel(names=list(names))

    def encode(batch: dict) -> dict:
        return {"label": [index[v] for v in batch["label"]]}

    train = train.map(encode, batched=True, features=features, desc="encoding labels")
    test = test.map(encode, batched=True, features=features, desc="encoding labels")
    return train, test, names
