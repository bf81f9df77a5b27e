"""Read one suite's run records and predictions from one or more results folders (say, copied off several machines)
into pandas tables. A (runner, seed) found in two folders is kept once, from the first, and named in `problems`."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.report.errors import ReportError
from bench.results.key import differences
from bench.results.schema import (
    EPOCH_FIELDS,
    OK,
    PREDICTION_COLUMNS,
    RunRecord,
    numeric_fields,
    scalar_fields,
)
from bench.results.store import ResultStore, RunKey, point_name
from bench.tasks import Task, task_for

SINGLE_LABEL = "single_label"  # the task of records from before tasks had names

# Scalar fields of a record become columns of `SuiteResults.runs` (a field a record lacks becomes NaN/None); numbers
# that do not identify the run are read as floats. All of it derives from the record schema.
RUN_FIELDS = scalar_fields(RunRecord)
NUMERIC_FIELDS = numeric_fields(RunRecord)


@dataclass(frozen=True)
class SuiteResults:
    """Everything the report needs from one suite, as tables.

    Attributes:
        suite: Suite name.
        source: The folder(s) the records were read from, as shown in the report.
        runs: One row per record (runner, seed), failed runs included; columns `RUN_FIELDS` plus `tuned_values`
            (the settings a tuned run chose, as `point_name`) and `has_predictions`.
        epochs: One row per (runner, seed, epoch) of the records' validation history.
        predictions: One row per (runner, seed, test example) of successful runs; `PREDICTION_COLUMNS` plus
            `runner`, `seed` and a boolean `correct`.
        label_names: Class names in label order.
        environments: The `environment` dict of every record, for provenance.
        problems: Files that could not be used, one line each (shown in the report rather than hidden).
        duplicates: Runs present in more than one results folder, one line each (also among `problems`).
        references: Published results the suite compares with (`references.json`, written by `bench run`).
        task: The runs' task (`bench.tasks` name; `kind` is the task itself). Where its labels are not class ids
            (label sets), `label`/`pred` are codes of them and `correct` an exact match.
        per_label: Per-label test figures of the runs that have them (multi-label), by (runner, seed).
    """

    suite: str
    source: str
    runs: pd.DataFrame
    epochs: pd.DataFrame
    predictions: pd.DataFrame
    label_names: list[str]
    environments: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    references: list[dict[str, Any]] = field(default_factory=list)
    task: str = SINGLE_LABEL  # the runs' `bench.tasks` name; `predictions` also hold that task's own columns
    per_label: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)  # (runner, seed) -> its per_label

    @property
    def kind(self) -> Task:
        """The suite's task: its main metric, how it reads predictions, scores documents and compares runners."""
        return task_for(self.task)

    @property
    def runners(self) -> list[str]:
        return sorted(self.runs["runner"].unique())

    @property
    def seeds(self) -> list[int]:
        return sorted(int(s) for s in self.runs["seed"].unique())


def _suite_hint(store: ResultStore, suite: str) -> str:
    found = store.suites()
    if not found:
        return ""
    close = difflib.get_close_matches(suite, found, n=1)
    did_you_mean = f"did you mean '{close[0]}'? " if close else ""
    return f" ({did_you_mean}suites with results: {', '.join(found)})"


def _read(store: ResultStore, key: RunKey) -> dict[str, Any]:
    try:
        return store.read_strict(key).to_dict()  # an older record is read in today's layout
    except BenchError as err:
        raise ReportError(str(err)) from None


def _read_predictions(path: Path, runner: str, seed: int, task: Task) -> pd.DataFrame:
    """A run's predictions as its task reads them (`Task.read_predictions`: `label` and `pred` comparable values,
    the task's own columns kept), with `runner`, `seed` and `correct` (`label == pred`: for label sets, an exact
    match). A repeated id would count one example twice: its first prediction is kept."""
    frame = task.read_predictions(pd.read_csv(path, dtype={"id": str})).drop_duplicates("id").copy()
    for column in PREDICTION_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    frame["runner"] = runner
    frame["seed"] = seed
    frame["correct"] = frame["label"] == frame["pred"]
    extra = [c for c in frame.columns if c not in (*PREDICTION_COLUMNS, "runner", "seed", "correct")]
    return frame[[*PREDICTION_COLUMNS, *extra, "runner", "seed", "correct"]]


def _set_codes(predictions: pd.DataFrame) -> pd.DataFrame:
    """Labels that are not class ids (a label set as canonical text) as integer codes shared by every run (the same
    value, the same code), as class ids are."""
    if pd.api.types.is_numeric_dtype(predictions["label"]) and pd.api.types.is_numeric_dtype(predictions["pred"]):
        return predictions
    codes = {text: i for i, text in enumerate(sorted(set(predictions["label"]) | set(predictions["pred"]), key=str))}
    return predictions.assign(label=predictions["label"].map(codes), pred=predictions["pred"].map(codes))


def _record_keys(stores: Sequence[ResultStore], suite: str) -> list[tuple[ResultStore, RunKey]]:
    try:
        found = [(store, key) for store in stores for key in store.keys(suite)]
    except BenchError as err:  # a suite name no store can hold
        raise ReportError(str(err)) from None
    if not found:
        where = ", ".join(str(store.root) for store in stores)
        hint = _suite_hint(stores[0], suite) if len(stores) == 1 else ""
        raise ReportError(f"no results for suite '{suite}' in {where}{hint}; run `bench run --suite {suite}` first")
    return found


def _method_key(key: Any) -> Any:
    """A configuration key as the method it describes: for a run tuned on a grid (`config_key.tune`), the values
    its seed chose on validation are left out (the grid stays): selecting on the grid is part of the runner's
    method, so its seeds pool whatever each chose (docs/tuning.md)."""
    if not isinstance(key, dict) or not isinstance(key.get("tune"), dict):
        return key
    protocol = {k: v for k, v in (key.get("protocol") or {}).items() if k not in key["tune"]}
    return {**key, "protocol": protocol}


def _check_one_configuration(rows: list[dict[str, Any]], keys: dict[tuple[str, int], Any]) -> None:
    """Refuse to pool runs of one runner made with different configuration keys: their mean and spread would
    describe no configuration. Runs of different runners may differ (that is the comparison). Seeds of a tuned
    runner may differ in the values each chose on its grid (`_method_key`), never in the grid."""
    first: dict[str, tuple[int, Any]] = {}
    for row in rows:
        runner, seed = row["runner"], row["seed"]
        key = _method_key(keys.get((runner, seed)))
        if key is None:
            continue
        if runner not in first:
            first[runner] = (seed, key)
            continue
        seed0, key0 = first[runner]
        changed = differences(key0, key)
        if changed:
            raise ReportError(
                f"runner {runner}: seed {seed0} and seed {seed} were made with different configurations "
                f"({'; '.join(changed[:3])}); re-run one with `bench run --overwrite`, or report them from separate "
                "--results folders"
            )


def load_results(results_dirs: Path | Sequence[Path], suite: str) -> SuiteResults:
    """Read every `<results_dir>/<suite>/runs/<runner>/seed<k>.json` and the predictions beside it, from each folder
    in turn. A run already read from an earlier folder is not read again: it is named in `duplicates`.

    Raises:
        ReportError: There are no records for the suite, or a record cannot be read.
    """
    dirs = [Path(results_dirs)] if isinstance(results_dirs, str | Path) else [Path(d) for d in results_dirs]
    stores = [ResultStore(d) for d in dirs]
    rows, epoch_rows, prediction_frames, environments, problems, duplicates = [], [], [], [], [], []
    label_names: list[str] = []
    seen: dict[tuple[str, int], tuple[Path, Any]] = {}
    config_keys: dict[tuple[str, int], Any] = {}
    tasks: set[str] = set()
    per_label: dict[tuple[str, int], dict[str, Any]] = {}
    own_metrics: dict[str, Any] = {}  # the names of the task's own metrics (`task_metrics`), in order
    for store, run_key in _record_keys(stores, suite):
        record = _read(store, run_key)
        path = store.record_path(run_key)
        row = {name: record.get(name) for name in RUN_FIELDS}
        own = {k: v for k, v in (record.get("task_metrics") or {}).items() if k not in row}  # a task's own metrics
        row |= own
        own_metrics.update(own)
        # A record missing its identity falls back to where the store keeps it, so it is still shown.
        row["suite"] = row["suite"] or suite
        row["runner"] = str(row["runner"] or run_key.runner)
        row["seed"] = int(row["seed"]) if row["seed"] is not None else run_key.seed
        row["status"] = str(row["status"] or "unknown")
        key = (row["runner"], row["seed"])
        if key in seen:
            first, host = seen[key]
            duplicates.append(
                f"{row['runner']} seed {row['seed']} is in two results folders: {first} (host {host or '?'}) and "
                f"{path} (host {row['host'] or '?'}); the report uses the first, remove or rename the other"
            )
            continue
        seen[key] = (path, row["host"])
        if row["status"] == OK:
            config_keys[key] = record.get("config_key")
        if row["peak_gpu_mem_mb"] is None:
            # the project's style guide (not part of this repository) spells the field peak_gpu_mem_allocated_mb;
            # accept that name too
            row["peak_gpu_mem_mb"] = record.get("peak_gpu_mem_allocated_mb")
        label_names = label_names or [str(n) for n in record.get("label_names") or []]
        if row["status"] == OK:
            tasks.add(record.get("task") or SINGLE_LABEL)
            per_label[key] = record.get("per_label") or {}
        environments.append(record.get("environment") or {})
        if row["cpu_threads"] is None:  # a record older than `cpu_threads`: the threads torch had at its end
            row["cpu_threads"] = (record.get("environment") or {}).get("torch_threads")
        tuned = record.get("tuned")  # a mapping, so not a scalar column: its point's name instead
        row["tuned_values"] = point_name(tuned) if isinstance(tuned, dict) else None
        for epoch in record.get("epochs") or []:
            epoch_rows.append({"runner": row["runner"], "seed": row["seed"], **{k: epoch.get(k) for k in EPOCH_FIELDS}})
        pred_path = store.predictions_path(run_key)
        row["has_predictions"] = False
        if row["status"] == OK and pred_path.exists():
            try:
                task = task_for(record.get("task"))
                prediction_frames.append(_read_predictions(pred_path, row["runner"], row["seed"], task))
                row["has_predictions"] = True
            except (OSError, ValueError) as err:
                problems.append(f"{pred_path}: unreadable predictions ({err}); no confidence interval for this run")
        elif row["status"] == OK:
            problems.append(f"{pred_path}: missing; this run has no confidence interval or length breakdown")
        rows.append(row)

    _check_one_configuration(rows, config_keys)
    runs = pd.DataFrame(rows, columns=[*RUN_FIELDS, *own_metrics, "tuned_values", "has_predictions"])
    for name in [*NUMERIC_FIELDS, *own_metrics]:
        runs[name] = pd.to_numeric(runs[name], errors="coerce").astype(float)
    epochs = pd.DataFrame(epoch_rows, columns=["runner", "seed", *EPOCH_FIELDS])
    for name in EPOCH_FIELDS:
        epochs[name] = pd.to_numeric(epochs[name], errors="coerce").astype(float)
    columns = [*PREDICTION_COLUMNS, "runner", "seed", "correct"]
    predictions = (
        pd.concat(prediction_frames, ignore_index=True) if prediction_frames else pd.DataFrame(columns=columns)
    )
    if len(tasks) > 1:
        kinds = " and ".join(task_for(t).title for t in sorted(tasks))
        raise ReportError(f"suite '{suite}' has both {kinds} runs; report them from separate --results folders")
    task = next(iter(tasks), SINGLE_LABEL)
    if not predictions.empty:
        predictions = _set_codes(predictions)
    source = ", ".join(str(store.suite_dir(suite) / "runs") for store in stores)
    problems = duplicates + problems
    references = _read_references([store.references_path(suite) for store in stores], problems)
    return SuiteResults(
        suite,
        source,
        runs,
        epochs,
        predictions,
        label_names,
        environments,
        problems,
        duplicates,
        references,
        task,
        per_label,
    )


def _read_references(paths: list[Path], problems: list[str]) -> list[dict[str, Any]]:
    """The suite's published references, from the first results folder that has them; none where no folder does
    (results of an older bench)."""
    path = next((p for p in paths if p.exists()), None)
    if path is None:
        return []
    try:
        references = json.loads(path.read_text(encoding="utf-8"))["references"]
        if isinstance(references, list) and all(isinstance(r, dict) for r in references):
            return references
    except (OSError, ValueError, KeyError, TypeError):
        pass
    problems.append(f"{path}: unreadable published references; run `bench run` again to rewrite it")
    return []


@dataclass(frozen=True)
class AlignedPredictions:
    """Predictions of every runner on the test examples all of them share, as arrays in one example order.

    Attributes:
        ids: Test example ids, shape (n,).
        labels: True labels, shape (n,).
        n_tokens: Document lengths in tokens before truncation, shape (n,), counted by one runner's tokenizer
            (`tokens_of`) for every runner, so that length buckets hold the same documents for all; NaN where unknown.
        tokens_of: The runner whose token counts `n_tokens` are; None when no runner recorded any.
        preds: Per runner, predicted labels of shape (n_seeds, n), one row per seed in `seeds[runner]`.
        seeds: Per runner, the seeds whose predictions are in `preds`.
        n_dropped: Examples left out because not every run has a prediction for them.
        docs: Per runner, the task's per-document statistics (`Task.document_stats`), shape (n_seeds, n, k): what
            the main metric, its CIs and the paired tests are computed from.
    """

    ids: np.ndarray
    labels: np.ndarray
    n_tokens: np.ndarray
    tokens_of: str | None
    preds: dict[str, np.ndarray]
    seeds: dict[str, list[int]]
    n_dropped: int
    docs: dict[str, np.ndarray] = field(default_factory=dict)  # per runner, `Task.document_stats`, (S, n, k)

    @property
    def n(self) -> int:
        return len(self.ids)

    def correct(self, runner: str) -> np.ndarray:
        """Per-example correctness averaged over the runner's seeds, shape (n,)."""
        return (self.preds[runner] == self.labels[None, :]).mean(axis=0)


def _token_counts(predictions: pd.DataFrame, ids: np.ndarray, reference: str | None) -> tuple[np.ndarray, str | None]:
    """Lengths of `ids` in one runner's tokens: `reference`'s where it recorded them, else the first runner's (by
    name) that did. Runners tokenize differently (BigBird's and ModernBERT's counts differ from RoBERTa's), so
    lengths are never mixed across runners."""
    runners = sorted(str(r) for r in predictions["runner"].unique())
    for runner in ([reference] if reference in runners else []) + [r for r in runners if r != reference]:
        rows = predictions[predictions["runner"] == runner].sort_values("seed", kind="stable").drop_duplicates("id")
        counts = pd.to_numeric(rows.set_index("id")["n_tokens"].reindex(ids), errors="coerce").to_numpy(dtype=float)
        if not np.isnan(counts).all():
            return counts, runner
    return np.full(len(ids), np.nan), None


def align_predictions(
    predictions: pd.DataFrame, reference: str | None = None, task: Task | None = None
) -> AlignedPredictions | None:
    """Put all runs' predictions on the test examples they share; None when there are no predictions.

    Args:
        predictions: `SuiteResults.predictions`.
        reference: The runner whose token counts measure document length (the report's baseline); where it has
            none, the first runner by name that has them (`AlignedPredictions.tokens_of` says which).
        task: The runs' task, which computes `docs` (default: single-label).
    """
    if predictions.empty:
        return None
    all_ids = set(predictions["id"])
    common = set.intersection(*(set(g["id"]) for _, g in predictions.groupby(["runner", "seed"])))
    ids = np.array(sorted(common), dtype=object)
    first = predictions.drop_duplicates("id").set_index("id").loc[ids]
    n_tokens, tokens_of = _token_counts(predictions, ids, reference)
    task = task or task_for(SINGLE_LABEL)
    preds, seeds, docs = {}, {}, {}
    for runner, group in predictions.groupby("runner"):
        runner_seeds = sorted(int(s) for s in group["seed"].unique())
        by_seed = group.set_index(["seed", "id"])
        preds[str(runner)] = np.stack([by_seed.loc[s].loc[ids, "pred"].to_numpy(dtype=np.int64) for s in runner_seeds])
        docs[str(runner)] = np.stack([task.document_stats(by_seed.loc[s].loc[ids]) for s in runner_seeds])
        seeds[str(runner)] = runner_seeds
    return AlignedPredictions(
        ids=ids,
        labels=first["label"].to_numpy(dtype=np.int64),
        n_tokens=n_tokens,
        tokens_of=tokens_of,
        preds=preds,
        seeds=seeds,
        n_dropped=len(all_ids) - len(ids),
        docs=docs,
    )
