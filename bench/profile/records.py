"""Profile records on disk: one JSON per (runner, mode, batch size, length) under `<results>/profile/`, and the
table `profile.csv` derived from them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.records import atomic_write_text, read_record

TABLE_COLUMNS = [
    "runner",
    "mode",
    "batch_size",
    "seq_len",
    "status",
    "s_per_step",
    "s_per_step_min",
    "tokens_per_s",
    "samples_per_s",
    "step_mem_mb",
    "step_mem_kind",
    "peak_gpu_mem_mb",
    "peak_gpu_mem_reserved_mb",
    "peak_gpu_mem_nvml_mb",
    "peak_cpu_rss_mb",
    "step_peak_cpu_rss_mb",
    "step_cpu_rss_delta_mb",
    "flops_per_token",
    "achieved_flops_per_s",
    "peak_flops_per_s",
    "mfu",
    "precision",
    "attention_window",
    "model_family",
    "padded_len",
    "n_params",
    "device",
    "gpu_name",
    "steps",
    "warmup_steps",
    "wall_s",
    "error",
]
TEXT_COLUMNS = ("runner", "mode", "status", "step_mem_kind", "precision", "model_family", "device", "gpu_name", "error")
INT_COLUMNS = ("batch_size", "seq_len", "attention_window", "padded_len", "n_params", "steps", "warmup_steps")

FLOAT_COLUMNS = tuple(c for c in TABLE_COLUMNS if c not in TEXT_COLUMNS + INT_COLUMNS)


def profile_dir(results: Path) -> Path:
    return results / "profile"


def record_path(results: Path, runner: str, mode: str, batch_size: int, seq_len: int) -> Path:
    return profile_dir(results) / runner / f"{mode}-b{batch_size}-L{seq_len}.json"


def iter_records(results: Path) -> Iterator[dict[str, Any]]:
    """Every readable profile record under `<results>/profile/`, in path order."""
    for path in sorted(profile_dir(results).glob("*/*.json")):
        record = read_record(path)
        if record is not None and record.get("kind") == "profile":
            yield record


def table(records: list[dict[str, Any]]):
    """One row per record, columns `TABLE_COLUMNS`, sorted by runner, mode, batch size and length."""
    import pandas as pd

    frame = pd.DataFrame([{c: r.get(c) for c in TABLE_COLUMNS} for r in records], columns=TABLE_COLUMNS)
    for column in INT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    for column in FLOAT_COLUMNS:  # None (not measurable) becomes NaN, shown as missing
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame.sort_values(["runner", "mode", "batch_size", "seq_len"], kind="stable").reset_index(drop=True)


def rebuild_table(results: Path) -> Path:
    """`<results>/profile/profile.csv`, rebuilt from the records alone."""
    path = profile_dir(results) / "profile.csv"
    atomic_write_text(path, table(list(iter_records(results))).to_csv(index=False, float_format="%.6g"))
    return path
