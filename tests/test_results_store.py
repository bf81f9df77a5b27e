"""Records and the derived table: atomic writes, schema, and rebuilding from records alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.results.schema import SCHEMA_VERSION
from bench.results.store import TABLE_COLUMNS, atomic_write_text, read_record, rebuild_table, record_path, write_record

REQUIRED = [
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
]


def test_table_has_the_required_columns():
    assert set(REQUIRED) <= set(TABLE_COLUMNS)


def test_atomic_write_leaves_only_the_file(tmp_path: Path):
    path = tmp_path / "a" / "b.json"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["b.json"]


def test_table_is_rebuilt_from_records(tmp_path: Path):
    write_record(
        record_path(tmp_path, "s", "b-runner", 1),
        {"suite": "s", "runner": "b-runner", "seed": 1, "status": "failed", "error": "boom"},
    )
    write_record(
        record_path(tmp_path, "s", "a-runner", 0),
        {"suite": "s", "runner": "a-runner", "seed": 0, "status": "ok", "accuracy": 0.9, "peak_gpu_mem_mb": None},
    )
    (record_path(tmp_path, "s", "c-runner", 0)).parent.mkdir(parents=True)
    record_path(tmp_path, "s", "c-runner", 0).write_text("{not json")  # unreadable records are left out
    table = pd.read_csv(rebuild_table(tmp_path, "s"))
    assert list(table.columns) == TABLE_COLUMNS
    assert table["runner"].tolist() == ["a-runner", "b-runner"]
    assert table["status"].tolist() == ["ok", "failed"]
    assert pd.isna(table.loc[0, "peak_gpu_mem_mb"])  # missing stays missing, never 0
    assert read_record(record_path(tmp_path, "s", "c-runner", 0)) is None
    assert read_record(record_path(tmp_path, "s", "a-runner", 0))["schema_version"] == SCHEMA_VERSION
