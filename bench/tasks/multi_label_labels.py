"""Multi-label suites' labels: check that the label column holds lists, fix the label names and order, and encode
each document's label set as sorted label ids (`multi_hot` turns them into the 0/1 rows models train on)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bench.errors import BenchError

if TYPE_CHECKING:
    import numpy as np
    from datasets import Dataset, DatasetDict


def multi_hot(label_sets: Sequence[Sequence[int]], n_labels: int) -> np.ndarray:
    """Rows of label ids -> a float32 0/1 matrix of shape [n_documents, n_labels]."""
    import numpy as np

    out = np.zeros((len(label_sets), n_labels), dtype=np.float32)
    for i, ids in enumerate(label_sets):
        out[i, list(ids)] = 1.0
    return out


def _values(ds: Dataset, split: str, column: str) -> list[list]:
    import pyarrow as pa

    arrow = ds.with_format("arrow")["label"]
    kind = arrow.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        raise BenchError(
            f"{split} label column {column!r} holds {kind} values, not lists; a multilabel suite needs a list of "
            'label names or ids per document (like ["sports", "law"]), or task: single_label'
        )
    inner = kind.value_type
    if not (
        pa.types.is_string(inner)
        or pa.types.is_large_string(inner)
        or pa.types.is_integer(inner)
        or pa.types.is_null(inner)
    ):
        raise BenchError(
            f"{split} label column {column!r} holds lists of {inner}; labels must be names (strings) or ids (integers)"
        )
    values = arrow.to_pylist()
    missing = [i + 1 for i, v in enumerate(values) if v is None or any(x is None for x in v)]
    if missing:
        rows = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
        raise BenchError(
            f"{len(missing)} {split} document(s) have no label list or a null label (row(s) {rows}); "
            "give each document a list (empty lists need data.allow_empty_labels: true)"
        )
    return values


def encode_multilabel(
    suite: Any, splits: dict[str, Dataset], labels: Sequence[str] | None = None
) -> tuple[dict[str, Dataset], tuple[str, ...], str | None]:
    """Check every split's label lists and map them to sorted label ids. The label space is `labels` (the suite's
    `data.labels` or labels file), in its order, else the sorted union over all splits (integers in numeric order,
    strings alphabetically). A label that occurs in validation or test but never in train stays in the space: it is
    scored, as a miss wherever the model never predicts it (EURLEX57K's 163 zero-shot concepts, counted as its
    authors count them); the note returned says how many there are."""
    from datasets import List, Value

    cfg = suite.data
    column = cfg.label_column if isinstance(cfg.label_column, str) else "/".join(cfg.label_column)
    values = {split: _values(ds, split, column) for split, ds in splits.items()}
    for split, rows in values.items():
        empty = [i + 1 for i, row in enumerate(rows) if not row]
        if empty and not cfg.allow_empty_labels:
            shown = ", ".join(map(str, empty[:5])) + (", ..." if len(empty) > 5 else "")
            raise BenchError(
                f"{len(empty)} {split} document(s) have an empty label set (row(s) {shown}); label them, or set "
                "data.allow_empty_labels: true if a document may have no label"
            )
    seen = {v for row in values["train"] for v in row}
    everywhere = {v for rows in values.values() for row in rows for v in row}
    note = None
    if labels is not None:
        names = tuple(labels)
        where = "data.labels" if cfg.labels is not None else f"the labels file {cfg.labels_file}"
        if all(isinstance(v, int) for v in everywhere):
            index = {i: i for i in range(len(names))}  # ids name positions in data.labels
        else:
            index = {name: i for i, name in enumerate(names)}
        for split, rows in values.items():
            unknown = sorted({v for row in rows for v in row} - set(index), key=str)
            if unknown:
                shown = list(names) if len(names) <= 20 else f"({len(names)} labels)"
                raise BenchError(f"{split} labels {unknown[:5]} are not in {where} {shown}; add them or fix the data")
    else:
        ordered = sorted(everywhere, key=lambda v: (isinstance(v, str), v))
        names = tuple(str(v) for v in ordered)
        index = {v: i for i, v in enumerate(ordered)}
    unseen = sorted(everywhere - seen, key=str)
    if unseen:
        other = " and ".join(s for s in values if s != "train")
        note = (
            f"{len(unseen):,} of the {len(names):,} labels occur in {other} but never in train (e.g. "
            f"{', '.join(map(str, unseen[:3]))}): they are scored, as misses wherever they are not predicted"
        )
    if len(seen) < 2:
        raise BenchError(
            f"the training data of suite '{suite.name}' has fewer than two distinct labels; a multi-label classifier "
            "needs at least two (raise --limit or check the label column)"
        )

    def encoded(ds: Dataset, rows: list[list]) -> Dataset:
        ids = [sorted({index[v] for v in row}) for row in rows]
        return ds.remove_columns("label").add_column("label", ids, feature=List(Value("int64")))

    return {split: encoded(ds, values[split]) for split, ds in splits.items()}, names, note


def multilabel_splits(suite: Any, train: Dataset, test: Dataset) -> DatasetDict:
    """train/validation/test, validation a random `validation_fraction` of train: label sets cannot be stratified
    on, and a random split keeps each label's share in expectation."""
    from datasets import DatasetDict

    fraction = suite.protocol.validation_fraction
    if round(len(train) * fraction) < 1 or len(train) - round(len(train) * fraction) < 2:
        raise BenchError(
            f"cannot carve a {fraction:.0%} validation split from {len(train)} training documents; use more "
            "documents or a larger --limit"
        )
    parts = train.train_test_split(test_size=fraction, seed=suite.protocol.split_seed)
    return DatasetDict(train=parts["train"], validation=parts["test"], test=test)
