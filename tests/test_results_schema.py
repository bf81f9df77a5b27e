"""The record schema: every field declared once, and the producers and the schema agreeing on what a record holds.

The contract is stated here independently of `bench/results/schema.py`: a field added to the schema but never
measured, or measured but never declared, fails one of these tests."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from bench.data import load_suite_data
from bench.data.suite import load_suite
from bench.results.schema import (
    SCHEMA_VERSION,
    ProfileRecord,
    RunRecord,
    display_names,
    field_names,
    gpu_fields,
    numeric_fields,
    table_columns,
)
from bench.results.tables import TABLE_COLUMNS
from bench.runners import build_runner
from bench.train import train_and_evaluate
from bench.train.job import Job
from tests.fakes import run_here

# What a finished transformer run on a CPU leaves empty, and why: nothing else may be missing.
EMPTY_ON_CPU = {
    "train_gpu_s",
    "gpu_busy",
    "bound",
    "gpu_util_pct",
    "peak_gpu_mem_mb",
    "peak_gpu_mem_reserved_mb",
    "peak_gpu_mem_nvml_mb",
    "peak_gpu_mem_train_mb",
    "peak_gpu_mem_train_reserved_mb",
    "peak_gpu_mem_train_nvml_mb",
    "peak_gpu_mem_eval_mb",
    "peak_gpu_mem_eval_reserved_mb",
    "peak_gpu_mem_eval_nvml_mb",
    "train_energy_j",
    "eval_energy_j",
    "avg_gpu_power_w",
    "gpu_name",
    "gpu_driver",
    "gpu_uuid",
    "nvml_scope",
    "gpu_shared",
    "energy_kwh_gpu",
}
# codecarbon (the `energy` extra) measures these; without it they are missing
CODECARBON = {
    *("energy_kwh", "energy_kwh_cpu", "energy_kwh_ram", "co2eq_kg", "carbon_intensity"),
    *("energy_method", "energy_sources"),
}
EMPTY_UNLESS = {
    "task_metrics": "the task has metrics of its own beyond the record's fields",
    "energy_country": "the suite's energy: names a country",
    "error": "the run failed",
    "resumed_from_epoch": "the run was resumed",
    "n_features": "the runner is a scikit-learn model",
    "selected_params": "the runner is a scikit-learn model",
    "attention_window": "the model has a sliding window",
    "model_id": "the runner loads a checkpoint",
    "checkpoint_revision": "the runner loads a checkpoint",
    "oom_phase": "a try ran out of memory",
    "probe": "a batch size is auto",
    "tune_point": "the run is a point of a tuning grid",
    "cpus": "the run's worker claimed its CPUs (bench.cpus: a launched worker, not this test's process)",
    "cpu_wait_s": "the run's worker claimed its CPUs",
    "cpu_quota": "the cgroup sets a CPU quota",
    **dict.fromkeys(
        ("tuned", "tuning_points", "tuning_train_s", "tuning_wall_s", "tuning_note"), "the suite has a tune: grid"
    ),
    **dict.fromkeys(
        (
            *("threshold", "micro_f1", "macro_f1", "samples_f1", "micro_precision", "micro_recall", "per_label"),
            *("micro_f1_frequent", "micro_f1_few_shot", "micro_f1_zero_shot"),
        ),
        "the suite is multi-label",
    ),
}


def test_schema_version_is_declared_once_and_written():
    assert RunRecord(suite="s", runner="r", seed=0, status="ok").to_dict()["schema_version"] == SCHEMA_VERSION
    assert ProfileRecord(runner="r", mode="train", batch_size=1, seq_len=8, status="ok").to_dict()["kind"] == "profile"


def test_gpu_only_fields_are_the_ones_a_cpu_leaves_empty():
    assert set(gpu_fields(RunRecord)) == EMPTY_ON_CPU


def test_a_field_the_schema_does_not_declare_is_refused():
    with pytest.raises(TypeError, match="peak_gpu_memory_mb"):
        RunRecord(suite="s", runner="r", seed=0, status="ok", peak_gpu_memory_mb=1.0)
    with pytest.raises(ValueError, match="collide"):
        RunRecord(suite="s", runner="r", seed=0, status="ok", facts={"accuracy": 1.0}).to_dict()


def test_table_and_headers_derive_from_the_schema():
    assert table_columns(RunRecord) == TABLE_COLUMNS
    assert display_names(RunRecord, ["max_length", "accuracy"]) == {"max_length": "max_len", "accuracy": "accuracy"}
    assert "seed" not in numeric_fields(RunRecord) and "accuracy" in numeric_fields(RunRecord)
    with pytest.raises(KeyError, match="no_such_field"):
        display_names(RunRecord, ["no_such_field"])


@pytest.mark.slow
def test_a_cpu_run_fills_every_field_it_can_measure(tiny_suite_file: Path, tmp_path: Path):
    suite = load_suite(str(tiny_suite_file))
    ref = suite.runners[0]
    runner = build_runner(ref.runner, ref.params)
    job = Job(suite, ref.name, runner, 0, tmp_path / "results")
    run_here(job)
    record = json.loads(job.record_path.read_text())
    assert set(record) == set(field_names(RunRecord))  # the tiny runner has no runner facts
    # a finished, uninterrupted, head-truncated tiny RoBERTa built from a config: every condition above is false
    from bench.cpus import cpu_quota

    quota = {"cpu_quota"} if cpu_quota() is not None else set()  # a machine whose cgroup sets one records it
    unmeasured = set() if importlib.util.find_spec("codecarbon") else CODECARBON
    empty = EMPTY_ON_CPU | (set(EMPTY_UNLESS) - quota) | unmeasured
    assert {name for name, value in record.items() if value is None} == empty
    metrics, _ = train_and_evaluate(runner, load_suite_data(suite), suite.protocol, 0, tmp_path / "again")
    assert set(metrics) <= set(field_names(RunRecord)) | {"facts", "earlier_wall_s"}  # the job adds the last
