"""Run records on disk: one JSON per (suite, runner, seed), predictions beside it, and the derived table."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
TABLE_COLUMNS = [
    "suite",
    "runner",
    "seed",
    "status",
    "accuracy",
    "f1",
    "precision",
    "recall",
    "max_length",
    "attention_window",
    "train_samples_per_s",
    "train_tokens_per_s",
    "eval_samples_per_s",
    "peak_gpu_mem_mb",
    "peak_cpu_rss_mb",
    "wall_s",
    "device",
    "n_params",
    "model_family",
    "best_epoch",
    "n_epochs",
    "train_padded_tokens_per_s",
    "peak_gpu_mem_reserved_mb",
    "peak_gpu_mem_nvml_mb",
    "error",
]


def run_dir(results: Path, suite: str, runner: str) -> Path:
    return results / suite / "runs" / runner


def record_path(results: Path, suite: str, runner: str, seed: int) -> Path:
    return run_dir(results, suite, runner) / f"seed{seed}.json"


def predictions_path(results: Path, suite: str, runner: str, seed: int) -> Path:
    return run_dir(results, suite, runner) / f"seed{seed}.predictions.csv"


def checkpoint_dir(results: Path, suite: str, runner: str, seed: int) -> Path:
    """Where a run keeps its epoch checkpoints until it finishes (for resuming after an interruption)."""
    return run_dir(results, suite, runner) / f"seed{seed}.checkpoints"


def lock_path(results: Path, suite: str, runner: str, seed: int) -> Path:
    return run_dir(results, suite, runner) / f"seed{seed}.lock"


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


def write_record(path: Path, record: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps({"schema_version": SCHEMA_VERSION, **record}, indent=2, default=str) + "\n")


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def iter_records(results: Path, suite: str) -> Iterable[dict[str, Any]]:
    for path in sorted((results / suite / "runs").glob("*/seed*.json")):
        record = read_record(path)
        if record is not None:
            yield record


def rebuild_table(results: Path, suite: str) -> Path:
    """results/<suite>/results.csv, one row per record, rebuilt from the records alone."""
    import pandas as pd

    rows = [{col: rec.get(col) for col in TABLE_COLUMNS} for rec in iter_records(results, suite)]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    for col in ("seed", "max_length", "attention_window", "n_params", "best_epoch", "n_epochs"):
        table[col] = table[col].astype("Int64")  # integers stay integers next to missing values
    if not table.empty:
        table = table.sort_values(["runner", "seed"], kind="stable")
    path = results / suite / "results.csv"
    atomic_write_text(path, table.to_csv(index=False))
    return path
