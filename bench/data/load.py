"""Load a suite's documents (hub, local files, aclImdb folders or synthetic) into train/validation/test splits."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.config import SINGLE_LABEL, SuiteConfig
from bench.data.files import load_files, source_files
from bench.data.texts import join_paragraphs
from bench.errors import BenchError
from bench.tasks import Task, task_for

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict


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
    notes: tuple[str, ...] = ()  # what a user should know about the data that is not an error (labels only in test)
    # multilabel: documents per label id in the train split before --limit (the literature's frequent / few-shot /
    # zero-shot groups are defined on the full training set)
    train_label_counts: tuple[int, ...] | None = None

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
    cfg = suite.data
    names_in = {"train": cfg.train_split, "validation": cfg.validation_split, "test": cfg.test_split}
    for split, name in names_in.items():
        if name is not None and name not in raw:
            raise BenchError(
                f"the data of suite '{suite.name}' has no split {name!r} (data.{split}_split; it has "
                f"{', '.join(raw)}); fix the setting, or add the file {name}.jsonl to --data-dir"
            )
    parts = {split: _standardize(suite, raw[name], name) for split, name in names_in.items() if name is not None}
    task = task_for(cfg.task)
    labels = cfg.labels if cfg.labels is not None else _labels_file(suite, data_dir)
    parts, names, notes = task.encode(suite, parts, labels)  # validated; label ids as the task encodes them
    n_train_split = len(parts["train"])
    counts = task.train_label_counts(parts["train"], names)  # before --limit: the literature's groups
    if limit is not None:
        seed = suite.protocol.split_seed
        for split in ("validation", "test"):
            if split in parts:
                n = max(2, math.ceil(limit * len(parts[split]) / n_train_split))
                parts[split] = parts[split].shuffle(seed=seed).select(range(min(n, len(parts[split]))))
        parts["train"] = parts["train"].shuffle(seed=seed).select(range(min(limit, n_train_split)))
    train, test = parts["train"], parts["test"]
    if "validation" in parts:  # the data's own (official) validation split
        from datasets import DatasetDict

        task.check_train(suite, train, names)
        splits = DatasetDict(train=train, validation=parts["validation"], test=test)
    else:
        splits = task.split(suite, train, test)
    return SuiteData(
        splits=splits,
        label_names=names,
        positive_label=task.positive_label(suite, names),
        n_train_split=n_train_split,
        task=task.name,
        notes=notes,
        train_label_counts=counts,
    )


def _labels_file(suite: SuiteConfig, data_dir: Path | None) -> tuple[str, ...] | None:
    """The label names of `data.labels_file` (a JSON list, or a mapping whose keys are the names: EURLEX57K's
    eurovoc_concepts.json maps concept id -> name), found in --data-dir, else beside the suite file."""
    name = suite.data.labels_file
    if name is None:
        return None
    base = data_dir if data_dir is not None else Path(suite.source_file).parent if suite.source_file else Path.cwd()
    path = base / name
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise BenchError(
            f"labels file {path} (data.labels_file) not found; put it in --data-dir or fix the name"
        ) from None
    except ValueError as err:
        raise BenchError(
            f"labels file {path} is not JSON ({err}); it must be a list of label names or a mapping"
        ) from None
    names = list(found) if isinstance(found, dict | list) else None
    if not names or not all(isinstance(n, str | int) and not isinstance(n, bool) for n in names):
        raise BenchError(f"labels file {path} must be a JSON list of label names, or a mapping whose keys are")
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise BenchError(f"labels file {path} lists {len(names) - len(set(names))} label(s) more than once")
    return tuple(names)


def _load_raw(suite: SuiteConfig, data_dir: Path | None) -> DatasetDict:
    import datasets

    data = suite.data
    if data.source == "synthetic":
        from bench.data.generated import generated

        return generated(suite)
    files = source_files(suite, data_dir)
    if files is not None:
        return load_files(files)
    try:
        return datasets.load_dataset(data.path, data.name, revision=data.revision)
    except Exception as err:  # offline, unknown id, auth: all end the same way for the user
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BenchError(
            f"cannot load '{data.path}' from the Hugging Face Hub ({reason[:200]}). Download it where you have "
            f"network, or pass --data-dir DIR with train/test files (jsonl, jsonl.gz, csv, parquet) or the aclImdb folders"
        ) from None


def first_column(setting: str | tuple[str, ...]) -> str:
    """The first name of a column setting (a name or a fallback list)."""
    return setting if isinstance(setting, str) else setting[0]


def _column(ds: Dataset, setting: str | tuple[str, ...], name: str, split: str) -> str:
    """The column a setting names: itself, or the first of its fallback list that the data has."""
    names = (setting,) if isinstance(setting, str) else setting
    found = next((c for c in names if c in ds.column_names), None)
    if found is None:
        wanted = repr(names[0]) if len(names) == 1 else "any of " + ", ".join(repr(c) for c in names)
        raise BenchError(
            f"{split} data has no column {wanted} (columns: {', '.join(ds.column_names)}); set data.{name} in the "
            f"suite file (or --set data.{name}=COLUMN)"
        )
    return found


def _standardize(suite: SuiteConfig, ds: Dataset, split: str) -> Dataset:
    """Keep only id/text/label, under those names."""
    cfg = suite.data
    text_column = _column(ds, cfg.text_column, "text_column", split)
    label_column = _column(ds, cfg.label_column, "label_column", split)
    if len(ds) == 0:
        raise BenchError(f"the {split} data of suite '{suite.name}' is empty")
    ds = join_paragraphs(ds, text_column)  # a document given as a list of paragraphs becomes one text
    _check_texts(ds, text_column, split)
    if cfg.reverse_paragraphs:
        ds = ds.map(
            lambda b: {text_column: ["\n".join(t.split("\n")[::-1]) for t in b[text_column]]},
            batched=True,
            desc="reversing paragraphs",
        )
    id_column = _column(ds, cfg.id_column, "id_column", split) if cfg.id_column else None
    id_column = id_column or ("id" if "id" in ds.column_names else None)
    keep = {text_column: "text", label_column: "label"} | ({id_column: "id"} if id_column else {})
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
