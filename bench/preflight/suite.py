"""`bench inspect`'s computation: a suite's documents counted in each runner's own tokens, what each runner keeps of
them and pads them to, and (from `bench profile`'s records) what its protocol would cost. No training, no GPU."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.config import SuiteConfig
from bench.errors import BenchError
from bench.output import activity, bar
from bench.preflight.estimate import Estimate, estimate
from bench.preflight.lengths import Counter, Lengths, TokenizerUnavailable, count_splits, counter_for, summarize
from bench.results.store import ResultStore
from bench.runners import RUNNERS, Runner, build_runner, run_name


@dataclass(frozen=True)
class Row:
    """One runner's line: its lengths (None where its tokenizer could not be had: `why` says so) and estimate."""

    runner: str
    describe: str
    lengths: Lengths | None
    why: str = ""
    estimate: Estimate | str | None = None


@dataclass(frozen=True)
class Inspection:
    """What `bench inspect` found for one suite."""

    suite: str
    rows: tuple[Row, ...]
    splits: dict[str, int]  # documents per split measured
    epochs: int
    seconds: float  # how long the inspection took

    @property
    def measured(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.lengths is not None)


def runners_of(suite: SuiteConfig, names: Sequence[str] | None, random_init: bool) -> list[tuple[str, Runner]]:
    """(recorded name, runner) for `names` (default: the suite's), built as `bench run` builds them.

    Raises:
        BenchError: An unknown runner or a bad runner parameter.
    """
    refs = {ref.name: ref for ref in suite.runners}
    built = []
    for name in names or list(refs):
        ref = refs.get(name)
        if ref is None and name not in RUNNERS:
            raise BenchError(RUNNERS.unknown_message(name) + f" Suite '{suite.name}' runs: {', '.join(refs)}.")
        runner = build_runner(ref.runner if ref else name, ref.params if ref else None, random_init)
        built.append((run_name(name, runner), runner))
    return built


def inspect_suite(
    suite: SuiteConfig,
    runners: Sequence[tuple[str, Runner]],
    data_dir: Path | None = None,
    limit: int | None = None,
    results: Path | None = Path("results"),
    quiet_missing: bool = False,
    count_test: bool = True,
) -> Inspection:
    """Count the suite's documents in every runner's tokens (each distinct tokenizer once, all documents in one batch
    call) and summarize what each runner keeps and pads; estimate each protocol from the profile records under
    `results` (None: no estimates). A runner whose tokenizer cannot be had gets a row saying why; with
    `quiet_missing` such rows are left out. Without `count_test`, the test split is not counted (nor its evaluation
    estimated): `bench run`'s one line needs the training documents only.

    Raises:
        BenchError: The suite's data cannot be loaded or is invalid.
    """
    import datasets

    from bench.data import load_suite_data, texts_of

    started = time.perf_counter()
    datasets.disable_progress_bars()  # one bar of bench's own instead of one per datasets step
    try:
        with activity(f"suite {suite.name}: loading and checking the data"):
            data = load_suite_data(suite, data_dir, limit)
    finally:
        datasets.enable_progress_bars()
    texts = {name: texts_of(ds) for name, ds in data.splits.items()}

    def corpus():  # what runners that train their own tokenizer train it on, as in `bench run`
        return iter(texts["train"])

    records = list(ResultStore(results).profile_records()) if results is not None and results.is_dir() else []
    counted: dict[str, list[np.ndarray]] = {}
    built: dict = {}
    rows = []
    shown = bar(runners, desc="inspect: runners' tokenizers", unit="runner")
    for name, runner in shown:
        shown.set_postfix_str(name, refresh=True)  # a stand-in tokenizer can take a minute to train
        try:
            counter: Counter = counter_for(runner, corpus, built)
        except TokenizerUnavailable as err:
            if not quiet_missing:
                rows.append(Row(name, runner.describe(), None, str(err)))
            continue
        if counter.key not in counted:
            counted[counter.key] = count_splits(
                counter, [texts["train"], texts["validation"], texts["test"] if count_test else []]
            )
        train, validation, test = counted[counter.key]
        lengths = summarize(name, runner, counter, train, validation, test, suite.protocol)
        found = estimate(lengths, records, suite.protocol.epochs) if results is not None else None
        rows.append(Row(name, runner.describe(), lengths, estimate=found))
    sizes = {name: len(t) for name, t in texts.items()}
    return Inspection(suite.name, tuple(rows), sizes, suite.protocol.epochs, time.perf_counter() - started)
