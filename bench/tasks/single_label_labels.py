"""Single-label suites' labels: validate the label column, map it to class ids 0..K-1 (cast to `ClassLabel`), carve a
stratified validation split, and pick the positive class of binary F1. `bench.tasks.single_label` uses them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.errors import BenchError

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict


def encode_splits(suite: Any, parts: dict[str, Dataset]) -> tuple[dict[str, Dataset], tuple[str, ...]]:
    """Map labels to ids 0..K-1 (strings sorted, or the suite's label_names order) and cast to ClassLabel; a
    validation split is read with the test split's rules (its classes must occur in train)."""
    from datasets import concatenate_datasets

    others = [s for s in parts if s != "train"]
    if others == ["test"]:
        train, test, names = _encode_labels(suite, parts["train"], parts["test"])
        return {"train": train, "test": test}, names
    sizes = [len(parts[s]) for s in others]  # validation and test checked and encoded as one held-out set
    held_out = concatenate_datasets([parts[s].cast(parts["test"].features) for s in others])
    train, held_out, names = _encode_labels(suite, parts["train"], held_out)
    out, start = {"train": train}, 0
    for split, size in zip(others, sizes, strict=True):
        out[split] = held_out.select(range(start, start + size))
        start += size
    return out, names


def _encode_labels(suite: Any, train: Dataset, test: Dataset) -> tuple[Dataset, Dataset, tuple[str, ...]]:
    """Map labels to ids 0..K-1 (strings sorted, or the suite's label_names order) and cast to ClassLabel."""
    from datasets import ClassLabel

    feature = train.features["label"]
    if isinstance(feature, ClassLabel):
        if suite.data.label_names and len(suite.data.label_names) != len(feature.names):
            raise BenchError(
                f"data.label_names lists {len(suite.data.label_names)} names but the data has "
                f"{len(feature.names)} classes ({', '.join(feature.names)}); make them match"
            )
        names = tuple(suite.data.label_names or feature.names)
        return train, test.cast_column("label", ClassLabel(names=list(names))), names
    if getattr(feature, "dtype", None) not in ("string", "large_string", "bool") and not _is_integer(feature):
        t = getattr(feature, "dtype", "mixed")
        raise BenchError(f"the label column holds {t} values; labels must be all strings or all integers (class ids)")
    train_values, test_values = set(train.unique("label")), set(test.unique("label"))
    if None in train_values | test_values:
        raise BenchError("some documents have no label; drop them or fill the label column")
    unseen = sorted(test_values - train_values, key=str)
    if unseen and suite.data.label_names is None and len(train_values) > 1:  # one class: said after encoding
        raise BenchError(
            f"test labels {unseen[:5]} never occur in the training data; fix the labels, or list every class in "
            "data.label_names"
        )
    # integers in numeric order (2 before 10), strings alphabetically
    values = sorted(train_values | test_values, key=lambda v: (isinstance(v, str), v))
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


def _is_integer(feature) -> bool:
    return str(getattr(feature, "dtype", "")).startswith(("int", "uint"))


def _positive_label(suite: Any, names: tuple[str, ...]) -> str | None:
    wanted = suite.data.positive_label
    if len(names) != 2:
        if wanted is not None:
            raise BenchError(
                f"data.positive_label is set ({wanted!r}) but the data has {len(names)} classes; F1 is macro-averaged "
                "over more than two classes: remove positive_label"
            )
        return None
    if wanted is None:
        return names[1]
    if str(wanted) not in names:
        raise BenchError(f"data.positive_label {wanted!r} is not a class of the data ({', '.join(names)}); pick one")
    return str(wanted)


def check_classes(suite: Any, train: Dataset, names: tuple[str, ...]) -> None:
    """A classifier needs two classes in its training data."""
    classes = set(train.unique("label"))
    if len(classes) < 2:
        raise BenchError(
            f"the training data of suite '{suite.name}' has only one class ({names[classes.pop()]!r}); "
            "a classifier needs at least two (raise --limit or check the label column)"
        )


def stratified_splits(suite: Any, train: Dataset, test: Dataset, names: tuple[str, ...]) -> DatasetDict:
    """train/validation/test, validation a stratified `validation_fraction` of train (every class in both)."""
    check_classes(suite, train, names)
    try:
        fraction, seed = suite.protocol.validation_fraction, suite.protocol.split_seed
        parts = train.train_test_split(test_size=fraction, seed=seed, stratify_by_column="label")
    except ValueError as err:
        raise BenchError(
            f"cannot carve a stratified {suite.protocol.validation_fraction:.0%} validation split from "
            f"{len(train)} training documents ({err}); use more documents or a larger --limit"
        ) from None
    from datasets import DatasetDict

    return DatasetDict(train=parts["train"], validation=parts["test"], test=test)
