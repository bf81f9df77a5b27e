"""The record schema others can read: the JSON Schema shipped in the package is what `bench.results.schema` declares
today, and records written by real runs (finished and failed) validate against it; older records are migrated on
read instead of refused."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import bench
from bench.data.suite import load_suite
from bench.errors import BenchError
from bench.report.load import load_results as report_load_results
from bench.results.json_schema import json_schema, render, shipped_path
from bench.results.migrations import MIGRATIONS, migrate
from bench.results.schema import SCHEMA_VERSION, ProfileRecord, RunRecord, field_names
from bench.results.store import read_record, write_record
from bench.runners import build_runner
from bench.train.job import Job
from tests.fakes import run_here
from tests.report_fixtures import make_record, write_run

# What version 2 declared that version 1 records lacked (or only the latest of them had): stated here on its own,
# so the test fails if the migration forgets one.
ADDED_IN_V2 = (
    "positive_label", "peak_gpu_mem_train_mb", "peak_gpu_mem_eval_mb", "train_energy_j", "gpu_uuid",
    "peak_gpu_mem_train_reserved_mb", "peak_gpu_mem_train_nvml_mb", "peak_gpu_mem_eval_reserved_mb",
    "peak_gpu_mem_eval_nvml_mb", "nvml_scope", "eval_energy_j", "avg_gpu_power_w", "gpu_shared", "segments",
)  # fmt: skip


def validator(cls: type) -> jsonschema.Draft202012Validator:
    schema = json.loads(shipped_path(cls).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("cls", [RunRecord, ProfileRecord])
def test_the_shipped_schema_is_what_the_declarations_generate(cls: type):
    assert shipped_path(cls).read_text(encoding="utf-8") == render(cls), (
        "the record schema changed: regenerate the shipped file with `python -m bench.results.json_schema`"
    )
    schema = json_schema(cls)
    assert schema["required"] == list(field_names(cls))
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION


def test_the_schema_carries_types_units_and_help():
    props = json_schema(RunRecord)["properties"]
    assert props["seed"]["type"] == "integer" and props["accuracy"]["type"] == ["number", "null"]
    assert props["peak_gpu_mem_mb"]["x-unit"] == "MB" and props["peak_gpu_mem_mb"]["x-gpu-only"] is True
    assert props["train_tokens_per_s"]["description"].startswith("non-padding training tokens per second")
    assert props["gpu_shared"]["type"] == ["boolean", "null"] and props["config"]["type"] == ["object", "null"]
    assert json_schema(RunRecord)["additionalProperties"] is True  # runner facts
    assert json_schema(ProfileRecord)["additionalProperties"] is False


@pytest.mark.slow
def test_records_of_a_real_run_and_of_the_failure_path_validate(tiny_suite_file: Path, tmp_path: Path):
    run_schema = validator(RunRecord)
    suite = load_suite(str(tiny_suite_file))
    ref = suite.runners[0]
    job = Job(suite, ref.name, build_runner(ref.runner, ref.params), 0, tmp_path / "results")
    run_here(job)
    run_schema.validate(json.loads(job.record_path.read_text()))

    failed = tmp_path / "failed.json"  # what the worker writes for an exception, and the parent for a dead worker
    write_record(failed, job.failure_record("oom", "CUDA out of memory.", 1.5))
    run_schema.validate(json.loads(failed.read_text()))
    with pytest.raises(jsonschema.ValidationError, match="'many' is not of type 'integer'"):
        run_schema.validate({**json.loads(failed.read_text()), "seed": "many"})

    profile = ProfileRecord(runner="r", mode="train", batch_size=1, seq_len=8, status="ok", s_per_step=0.1)
    validator(ProfileRecord).validate(profile.to_dict())


def v1_record(tmp_path: Path, **changes) -> Path:
    """A version 1 record as bench wrote it before version 2: none of the fields version 2 added."""
    record = {k: v for k, v in make_record("old", "roberta-512", 0, **changes).items() if k not in ADDED_IN_V2}
    return write_run(tmp_path, {**record, "schema_version": 1})


def test_a_version_1_record_is_migrated_on_read(tmp_path: Path):
    path = v1_record(tmp_path, metrics={"accuracy": 0.9, "f1": 0.9, "precision": 0.9, "recall": 0.9})
    record = read_record(path).to_dict()
    assert record["schema_version"] == SCHEMA_VERSION == 4
    assert record["positive_label"] == "pos"  # binary F1 was on label 1 in version 1
    assert all(record[name] is None for name in ADDED_IN_V2 if name != "positive_label")  # never measured
    assert record["accuracy"] == 0.9 and record["peak_gpu_mem_mb"] == 4000.0  # what it had is kept
    validator(RunRecord).validate(record)

    failed = read_record(v1_record(tmp_path / "failed", status="failed", error="boom", label_names=None)).to_dict()
    assert failed["positive_label"] is None and failed["status"] == "failed"  # no labels: nothing to derive

    assert report_load_results(tmp_path, "old").runs.loc[0, "positive_label"] == "pos"  # the report reads it too
    assert bench.load_results(tmp_path, "old").loc[0, "positive_label"] == "pos"


def test_a_migration_keeps_what_a_late_version_1_record_already_had():
    late = {**make_record("s", "r", 0, positive_label="neg", segments=2), "schema_version": 1}
    migrated = migrate(late)
    assert migrated["positive_label"] == "neg" and migrated["segments"] == 2 and late["schema_version"] == 1


def test_every_older_version_has_a_migration():
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION))


@pytest.mark.parametrize(
    ("version", "hint"), [(SCHEMA_VERSION + 1, "upgrade bench"), (0, "delete it"), ("2", "delete it")]
)
def test_a_record_from_a_newer_or_unknown_version_is_one_clear_line(tmp_path: Path, version, hint: str):
    path = write_run(tmp_path, {**make_record("s", "r", 0), "schema_version": version})
    with pytest.raises(BenchError, match=f"has schema_version {version!r}; this bench reads 1 to {SCHEMA_VERSION}"):
        read_record(path)
    with pytest.raises(BenchError, match=hint):
        report_load_results(tmp_path, "s")
