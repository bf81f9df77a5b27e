"""The configuration key: what makes two runs of one (suite, runner, seed) the same run, stated once."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

from bench.config import to_dict
from bench.data.identity import file_hashes
from bench.data.suite import load_suite
from bench.results.key import configuration_key, differences, digest
from bench.results.migrations import migrate
from bench.runners import build_runner
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
    (tmp_path / "a" / "train.jsonl").write_text('{"text": "fine", "label": 1}\n{"text": "poor", "label": 0}\n')
    assert differences(key, key_of(suite)) == ["the train file's content changed"]
    labels = suite.replace(data=dataclasses.replace(suite.data, label_names=("neg", "pos")))
    assert differences(key, key_of(labels)) != [] and digest(key) != digest(key_of(labels))


def test_a_setting_one_key_does_not_hold_cannot_differ():
    old = {"version": 1, "protocol": {"epochs": 5}, "data": {"source": "hub"}}
    new = {"version": 1, "protocol": {"epochs": 5, "new_knob": 1}, "data": {"source": "hub", "files": {"train": "ab"}}}
    assert differences(old, new) == [] and differences(None, new) == ["no configuration key recorded"]


def test_an_old_record_gets_the_key_its_config_gives(tmp_path: Path):
    suite = load_suite("demo")
    job = Job(suite, "tiny-roberta-512", build_runner("tiny-roberta-512"), 0, tmp_path)
    record = job.failure_record("ok", None).to_dict()
    for name in ("config_key", "config_digest", "oom_phase"):
        del record[name]
    migrated = migrate({**record, "schema_version": 2})
    assert migrated["config_key"] == job.key and migrated["config_digest"] == digest(job.key)
    assert file_hashes(suite) is None  # synthetic data: its generator's parameters say what it is


def test_the_key_is_plain_json_and_stable():
    suite = load_suite("demo")
    key = configuration_key(to_dict(suite), {"class": "X", "max_length": 8}, None)
    assert key == configuration_key(to_dict(suite), {"max_length": 8, "class": "X"}, None)
    assert digest(key) == digest(dict(reversed(list(key.items())))) and len(digest(key)) == 16
