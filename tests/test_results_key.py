"""The configuration key: what makes two runs of one (suite, runner, seed) the same run, stated once."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from bench.config import to_dict
from bench.data.identity import file_hashes
from bench.data.suite import load_suite
from bench.results.key import configuration_key, differences, digest, from_config
from bench.results.migrations import migrate
from bench.runners import build_runner
from bench.train import checkpoints
from bench.train.job import Job
from tests.conftest import write_suite

FILES_SUITE = """
name: files
data: {source: files, files: {train: train.jsonl, test: test.jsonl}}
runners: [tfidf-logreg]
"""


def files_suite(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "test"):
        (folder / f"{split}.jsonl").write_text('{"text": "good film", "label": 1}\n{"text": "bad", "label": 0}\n')
    return load_suite(str(write_suite(folder / "suite.yaml", FILES_SUITE)))


def key_of(suite, limit=None, data_dir=None, **runner):
    return Job(suite, "tfidf-logreg", build_runner("tfidf-logreg", runner or None), 0, "results", data_dir, limit).key


def test_what_does_not_change_the_result_does_not_change_the_key(tmp_path: Path):
    suite = files_suite(tmp_path / "a")
    key = key_of(suite)
    protocol = dataclasses.replace(
        suite.protocol, eval_batch_size=1, per_device_batch_size=4, gradient_checkpointing=True
    )
    cosmetic = suite.replace(description="new words", report_to=("tensorboard",), protocol=protocol, seeds=(0, 1))
    assert key_of(cosmetic) == key
    shutil.copytree(tmp_path / "a", tmp_path / "copy")  # the same files elsewhere, found through another path
    moved = load_suite(str(tmp_path / "copy" / "suite.yaml"))
    assert key_of(moved) == key
    relative = Path(os.path.relpath(tmp_path / "copy"))  # --data-dir ../x and its absolute path: the same data
    assert key_of(suite, data_dir=(tmp_path / "copy").resolve()) == key_of(suite, data_dir=relative) == key


def test_what_changes_the_result_changes_the_key_and_is_named(tmp_path: Path):
    suite = files_suite(tmp_path / "a")
    key = key_of(suite)
    assert differences(key, key_of(suite, limit=600)) == ["--limit none -> 600"]
    longer = suite.replace(protocol=dataclasses.replace(suite.protocol, epochs=1, learning_rate=1e-5))
    assert differences(key_of(longer), key) == ["epochs 1 -> 5", "learning_rate 1e-05 -> 3e-05"]
    assert differences(key, key_of(suite, c_grid=[1.0])) == ["runner c_grid [1.0, 4.0, 16.0, 64.0] -> [1.0]"]
    assert key["protocol"]["mixed_precision"] == "fp32"  # a scikit-learn run, on any device
    (tmp_path / "a" / "train.jsonl").write_text('{"text": "fine", "label": 1}\n{"text": "poor", "label": 0}\n')
    assert differences(key, key_of(suite)) == ["the train file's content changed"]
    labels = suite.replace(data=dataclasses.replace(suite.data, label_names=("neg", "pos")))
    assert differences(key, key_of(labels)) != [] and digest(key) != digest(key_of(labels))


def test_a_setting_one_key_does_not_hold_cannot_differ():
    old = {"version": 1, "protocol": {"epochs": 5}, "data": {"source": "hub"}}
    new = {"version": 1, "protocol": {"epochs": 5, "new_knob": 1}, "data": {"source": "hub"}}
    assert differences(old, new) == [] and differences(None, new) == ["no configuration key recorded"]
    # but where the documents come from is always held: hub data and files never match, in either direction
    files = {"version": 1, "protocol": {"epochs": 5}, "data": {"source": "hub", "files": {"train": "ab"}}}
    assert differences(old, files) == ["data origin hub -> files"]
    assert differences(files, old) == ["data origin files -> hub"]


HUB_SUITE = """
name: hubby
data: {source: hub, path: stanfordnlp/imdb, revision: e6281661ce1c48d982bc483cf8a173c1bbeb5d31}
runners: [tfidf-logreg]
"""


def test_a_hub_record_and_a_data_dir_rerun_are_different_runs(tmp_path: Path):
    hub = load_suite(str(write_suite(tmp_path / "hub.yaml", HUB_SUITE)))
    files_suite(tmp_path / "local")  # train.jsonl and test.jsonl to read with --data-dir
    from_hub, from_files = key_of(hub), key_of(hub, data_dir=tmp_path / "local")
    assert from_hub["data"]["origin"] == "hub" and from_files["data"]["origin"] == "files"
    assert differences(from_hub, from_files) == ["data origin hub -> files"]
    assert differences(from_files, from_hub) == ["data origin files -> hub"]
    # so neither resumes the other's checkpoints
    folder = tmp_path / "checkpoints"
    checkpoints.prepare(folder, from_hub, lambda: tmp_path / "aside")
    fake_complete_checkpoint(folder / "checkpoint-4")
    resume, note = checkpoints.prepare(folder, from_files, lambda: tmp_path / "aside")
    assert resume is None and "data origin hub -> files" in note and (tmp_path / "aside").is_dir()


def test_an_old_data_dir_record_keeps_its_origin(tmp_path: Path):
    """A schema 2 record of a --data-dir run stored no file hashes; its key still says its documents were files."""
    hub = load_suite(str(write_suite(tmp_path / "hub.yaml", HUB_SUITE)))
    job = Job(hub, "tfidf-logreg", build_runner("tfidf-logreg"), 0, tmp_path)
    record = job.failure_record("ok", None).to_dict()
    for name in ("config_key", "config_digest", "oom_phase"):
        del record[name]
    record["config"]["data_dir"] = "../local"
    migrated = migrate({**record, "schema_version": 2, "mixed_precision": "no"})
    assert migrated["config_key"]["data"]["origin"] == "files"
    assert differences(migrated["config_key"], job.key) == ["data origin files -> hub"]


def test_auto_precision_is_resolved_before_keying(tmp_path: Path, monkeypatch):
    """mixed_precision: auto is fp32 on a CPU and bf16 (or fp16) on a GPU: two runs, never resumed from each other."""
    suite = load_suite("demo")
    job = Job(suite, "tiny-roberta-512", build_runner("tiny-roberta-512"), 0, tmp_path)
    cpu = job.key
    assert suite.protocol.mixed_precision == "auto" and cpu["protocol"]["mixed_precision"] == "fp32"
    assert job.precision_here() == "fp32"  # what the worker checks on its device, asking torch: the same here
    monkeypatch.setattr("bench.gpu.gpu_capabilities", lambda: [(9, 0)])  # an H100, as NVML would report it
    gpu = Job(suite, "tiny-roberta-512", build_runner("tiny-roberta-512"), 0, tmp_path).key
    assert differences(cpu, gpu) == ["mixed_precision fp32 -> bf16"] and digest(cpu) != digest(gpu)
    monkeypatch.setattr("bench.gpu.gpu_capabilities", lambda: [(7, 5)])  # a T4: no native bf16
    assert (
        Job(suite, "tiny-roberta-512", build_runner("tiny-roberta-512"), 0, tmp_path).key["protocol"]["mixed_precision"]
        == "fp16"
    )
    folder = tmp_path / "checkpoints"
    checkpoints.prepare(folder, cpu, lambda: tmp_path / "aside")
    fake_complete_checkpoint(folder / "checkpoint-4")
    resume, note = checkpoints.prepare(folder, gpu, lambda: tmp_path / "aside")
    assert resume is None and "mixed_precision fp32 -> bf16" in note


def test_an_old_record_is_keyed_with_the_precision_it_used(tmp_path: Path):
    """A schema 3 record keyed `auto` gets the precision it trained in (its `mixed_precision`): a CPU record is still
    the same run as today's CPU run; an old checkpoint folder keyed `auto` (device unknown) is not resumed."""
    suite = load_suite("demo")
    job = Job(suite, "tiny-roberta-512", build_runner("tiny-roberta-512"), 0, tmp_path)
    record = job.failure_record("ok", None).to_dict()
    old_key = from_config(record["config"])
    assert old_key["protocol"]["mixed_precision"] == "auto"
    migrated = migrate({**record, "schema_version": 3, "config_key": old_key, "mixed_precision": "no"})
    assert migrated["config_key"] == job.key and migrated["config_digest"] == digest(job.key)
    on_gpu = migrate({**record, "schema_version": 3, "config_key": old_key, "mixed_precision": "bf16"})
    assert differences(on_gpu["config_key"], job.key) == ["mixed_precision bf16 -> fp32"]
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / checkpoints.FINGERPRINT).write_text(json.dumps({"key": old_key}))
    assert differences(checkpoints.stored_key(folder), job.key) == ["mixed_precision auto -> fp32"]


def fake_complete_checkpoint(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name in ("trainer_state.json", "optimizer.pt", "scheduler.pt", "model.safetensors", "rng_state.pth"):
        (folder / name).write_text("{}")


def test_an_old_record_gets_the_key_its_config_gives(tmp_path: Path):
    suite = load_suite("demo")
    job = Job(suite, "tiny-roberta-512", build_runner("tiny-roberta-512"), 0, tmp_path)
    record = job.failure_record("ok", None).to_dict()
    for name in ("config_key", "config_digest", "oom_phase"):
        del record[name]
    migrated = migrate({**record, "schema_version": 2, "mixed_precision": "no"})  # what a finished CPU run used
    assert migrated["config_key"] == job.key and migrated["config_digest"] == digest(job.key)
    assert file_hashes(suite) is None  # synthetic data: its generator's parameters say what it is


def test_the_key_is_plain_json_and_stable():
    suite = load_suite("demo")
    key = configuration_key(to_dict(suite), {"class": "X", "max_length": 8}, None)
    assert key == configuration_key(to_dict(suite), {"max_length": 8, "class": "X"}, None)
    assert digest(key) == digest(dict(reversed(list(key.items())))) and len(digest(key)) == 16


@pytest.mark.gpu
def test_the_precision_planned_from_nvml_is_the_one_the_trainer_uses():
    """The launcher keys a run with the precision NVML's compute capability gives (it must not initialise CUDA);
    the trainer asks torch. On a real GPU the two agree, so the worker has nothing to re-key."""
    from bench.gpu import gpu_capabilities
    from bench.host import mixed_precision, resolved_precision

    for setting in ("auto", "no", "fp16"):
        used = mixed_precision(setting)
        assert resolved_precision(setting, gpu_capabilities()) == ("fp32" if used == "no" else used)
