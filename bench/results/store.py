"""Records on disk: where a run's files live (record, predictions, log, checkpoints, lock), atomic writes, reading, and
the tables rebuilt from the records alone (`<suite>/results.csv`, `profile/profile.csv`)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.results.migrations import migrate
from bench.results.schema import (
    SCHEMA_VERSION,
    ProfileRecord,
    Record,
    RunRecord,
    field_names,
    integer_fields,
    scalar_fields,
    table_columns,
    text_fields,
)

TABLE_COLUMNS = table_columns(RunRecord)
PROFILE_COLUMNS = table_columns(ProfileRecord)


# ---- paths ----


def run_dir(results: Path, suite: str, runner: str) -> Path:
    return results / suite / "runs" / runner


def record_path(results: Path, suite: str, runner: str, seed: int) -> Path:
    return run_dir(results, suite, runner) / f"seed{seed}.json"


def predictions_path(results: Path, suite: str, runner: str, seed: int) -> Path:
    return run_dir(results, suite, runner) / f"seed{seed}.predictions.csv"


def log_path(results: Path, suite: str, runner: str, seed: int) -> Path:
    """The run's log: the Trainer's log lines, warnings and tracebacks of every process that worked on it."""
    return run_dir(results, suite, runner) / f"seed{seed}.log"


def checkpoint_dir(results: Path, suite: str, runner: str, seed: int) -> Path:
    """Where a run keeps its epoch checkpoints until it finishes (for resuming after an interruption)."""
    return run_dir(results, suite, runner) / f"seed{seed}.checkpoints"


def tensorboard_dir(results: Path, suite: str, runner: str, seed: int) -> Path:
    """Where a run's TensorBoard event files go (`--report-to tensorboard`)."""
    return run_dir(results, suite, runner) / f"seed{seed}.tensorboard"


def lock_path(results: Path, suite: str, runner: str, seed: int) -> Path:
    return run_dir(results, suite, runner) / f"seed{seed}.lock"


def references_path(results: Path, suite: str) -> Path:
    """The published results the suite's report shows beside its runners (written by `bench run`)."""
    return results / suite / "references.json"


def profile_dir(results: Path) -> Path:
    return results / "profile"


def profile_record_path(results: Path, runner: str, mode: str, batch_size: int, seq_len: int) -> Path:
    return profile_dir(results) / runner / f"{mode}-b{batch_size}-L{seq_len}.json"


# ---- writing and reading ----


def check_writable(folder: Path) -> None:
    """Fail in one line, before anything runs, when results cannot be written to `folder`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".bench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise BenchError(f"cannot write to results dir {folder} ({err.strerror}); pass --results DIR") from None


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename, so readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_record(path: Path, record: Record | dict[str, Any]) -> None:
    """Write a record (a schema dataclass, or a plain dict of its fields) as JSON, atomically."""
    data = record.to_dict() if isinstance(record, Record) else {"schema_version": SCHEMA_VERSION, **record}
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def write_references(results: Path, suite: str, references: list[dict[str, Any]]) -> Path:
    """Write the suite's published references for its report (which reads results/ only), atomically."""
    path = references_path(results, suite)
    atomic_write_text(path, json.dumps({"suite": suite, "references": references}, indent=2) + "\n")
    return path


def read_record(path: Path) -> dict[str, Any] | None:
    """The record at `path` in the current layout (older ones migrated); None where it is missing or unreadable.

    Raises:
        BenchError: The record was written by a newer bench.
    """
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return migrate(record, f"record {path}") if isinstance(record, dict) else None


def iter_records(results: Path, suite: str) -> Iterator[dict[str, Any]]:
    for path in sorted((results / suite / "runs").glob("*/seed*.json")):
        record = read_record(path)
        if record is not None:
            yield record


def iter_profile_records(results: Path) -> Iterator[dict[str, Any]]:
    """Every readable profile record under `<results>/profile/`, in path order."""
    for path in sorted(profile_dir(results).glob("*/*.json")):
        record = read_record(path)
        if record is not None and record.get("kind") == "profile":
            yield record


# ---- the derived tables ----


def _frame(records: list[dict[str, Any]], cls: type, columns: list[str]):
    """One row per record with `columns`; integers stay integers beside missing values, None stays missing."""
    import pandas as pd

    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in records], columns=columns)
    integers, texts, scalars = set(integer_fields(cls)), set(text_fields(cls)), set(scalar_fields(cls))
    for column in columns:
        if column in integers:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
        elif column in scalars and column not in texts:  # None (not measurable) becomes NaN, shown as missing
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def records_frame(records: list[dict[str, Any]]):
    """One row per run record: every declared field in declaration order (lists and mappings such as `config` and
    `epochs` as Python objects), then the runner facts any record has."""
    declared = list(field_names(RunRecord))
    facts = sorted({key for record in records for key in record} - set(declared))
    return _frame(records, RunRecord, declared + facts)


def run_table(records: list[dict[str, Any]]):
    """The results table of `records`: columns `TABLE_COLUMNS`, sorted by runner and seed."""
    table = _frame(records, RunRecord, TABLE_COLUMNS)
    return table.sort_values(["runner", "seed"], kind="stable").reset_index(drop=True) if len(table) else table


def rebuild_table(results: Path, suite: str) -> Path:
    """results/<suite>/results.csv, one row per record, rebuilt from the records alone."""
    table = run_table(list(iter_records(results, suite)))
    path = results / suite / "results.csv"
    atomic_write_text(path, table.to_csv(index=False))
    return path


def profile_table(records: list[dict[str, Any]]):
    """One row per profile record, columns `PROFILE_COLUMNS`, sorted by runner, mode, batch size and length."""
    frame = _frame(records, ProfileRecord, PROFILE_COLUMNS)
    return frame.sort_values(["runner", "mode", "batch_size", "seq_len"], kind="stable").reset_index(drop=True)


def rebuild_profile_table(results: Path) -> Path:
    """`<results>/profile/profile.csv`, rebuilt from the records alone."""
    path = profile_dir(results) / "profile.csv"
    atomic_write_text(path, profile_table(list(iter_profile_records(results))).to_csv(index=False, float_format="%.6g"))
    return path
