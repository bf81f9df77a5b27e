"""A suite's generated documents (`data.source: synthetic`): each task kind's generator, looked up by the task's
name. A new task kind whose suites generate data adds its generator here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bench.config import MULTILABEL, SINGLE_LABEL, SuiteConfig
from bench.data.files import cache_dir, load_files
from bench.errors import BenchError

if TYPE_CHECKING:
    from datasets import DatasetDict


def _single_label(suite: SuiteConfig) -> DatasetDict:
    from bench.data.synthetic import SyntheticSpec, write_files

    try:
        spec = SyntheticSpec(**suite.data.synthetic)
    except TypeError as err:
        raise BenchError(f"suite '{suite.name}': synthetic data: {err}") from None
    return load_files(write_files(spec, cache_dir() / "synthetic"))


def _multilabel(suite: SuiteConfig) -> DatasetDict:
    from bench.data.synthetic import write_files
    from bench.data.synthetic_multilabel import MultiLabelSpec, generate

    data = suite.data
    try:
        spec = MultiLabelSpec(**{"allow_empty": data.allow_empty_labels, **data.synthetic})
    except TypeError as err:
        raise BenchError(f"suite '{suite.name}': synthetic multilabel data: {err}") from None
    raw = load_files(write_files(spec, cache_dir() / "synthetic", generate))
    wanted = data.label_column if isinstance(data.label_column, str) else data.label_column[0]
    if wanted != "labels":  # the generator's column, under the name the suite reads
        raw = raw.rename_column("labels", wanted)
    return raw


GENERATORS: dict[str, Callable[[SuiteConfig], DatasetDict]] = {SINGLE_LABEL: _single_label, MULTILABEL: _multilabel}


def generated(suite: SuiteConfig) -> DatasetDict:
    """The suite's generated train and test splits, by its task's generator."""
    make = GENERATORS.get(suite.data.task)
    if make is None:
        raise BenchError(
            f"suite '{suite.name}': task {suite.data.task!r} has no generator for synthetic data; give the suite "
            "data files (data.source: files) or a hub dataset"
        )
    return make(suite)
