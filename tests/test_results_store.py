"""The results store: one owner of the folder's layout, atomic writes, typed records, locks, and the derived table."""

from __future__ import annotations

import ast
import multiprocessing
import os
from pathlib import Path

import pandas as pd
import pytest

from bench.errors import BenchError
from bench.results.files import atomic_write_text, atomic_writer
from bench.results.schema import FAILED, OK, SCHEMA_VERSION, RunRecord
from bench.results.store import Busy, ResultStore, RunKey, check_name
from bench.results.tables import TABLE_COLUMNS

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
PACKAGE = Path(__file__).resolve().parent.parent / "bench"


def test_table_has_the_required_columns():
    assert set(REQUIRED) <= set(TABLE_COLUMNS)


def test_atomic_write_leaves_only_the_file(tmp_path: Path):
    path = tmp_path / "a" / "b.json"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["b.json"]


def test_a_failed_atomic_write_leaves_the_old_file(tmp_path: Path):
    path = tmp_path / "b.json"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError), atomic_writer(path) as f:
        f.write("half")
        raise RuntimeError("crash")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["b.json"]


def test_atomic_writes_fsync_the_file_and_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(os.path.realpath(f"/proc/self/fd/{fd}")) or real(fd))
    atomic_write_text(tmp_path / "b.json", "x")
    assert any(p.endswith(".tmp") for p in synced), synced  # the file, before the rename
    assert str(tmp_path) in synced  # the folder, after it


def _store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "results")


def test_table_is_rebuilt_from_records(tmp_path: Path):
    store = _store(tmp_path)
    store.write(RunRecord(suite="s", runner="b-runner", seed=1, status=FAILED, error="boom"))
    store.write(RunRecord(suite="s", runner="a-runner", seed=0, status=OK, accuracy=0.9, peak_gpu_mem_mb=None))
    bad = store.record_path(RunKey("s", "c-runner", 0))
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")  # unreadable records are left out of the table
    table = pd.read_csv(store.rebuild_table("s"))
    assert list(table.columns) == TABLE_COLUMNS
    assert table["runner"].tolist() == ["a-runner", "b-runner"]
    assert table["status"].tolist() == ["ok", "failed"]
    assert pd.isna(table.loc[0, "peak_gpu_mem_mb"])  # missing stays missing, never 0
    assert store.read(RunKey("s", "c-runner", 0)) is None
    with pytest.raises(BenchError, match=r"cannot read run record .*delete it or re-run"):
        store.read_strict(RunKey("s", "c-runner", 0))
    record = store.read(RunKey("s", "a-runner", 0))
    assert isinstance(record, RunRecord) and record.schema_version == SCHEMA_VERSION and record.accuracy == 0.9


def test_records_come_back_typed_with_runner_facts(tmp_path: Path):
    store = _store(tmp_path)
    store.write(RunRecord(suite="s", runner="r", seed=0, status=OK, facts={"attention_type": "block_sparse"}))
    (record,) = store.records("s")
    assert record.ok and record.facts == {"attention_type": "block_sparse"}
    assert record.to_dict()["attention_type"] == "block_sparse"


def test_a_phantom_rank_error_file_is_not_a_record(tmp_path: Path):
    """Rank error files used to lie beside the record as seed<k>.rank<r>.error.json, which the record glob read as
    a run; they live in the run's work folder now, and only seed<k>.json names a record."""
    store = _store(tmp_path)
    key = RunKey("s", "r", 0)
    store.write(RunRecord(suite="s", runner="r", seed=0, status=OK))
    path = store.rank_error_path(key, 1)
    path.parent.mkdir(parents=True)
    path.write_text('{"oom": false, "error": "boom"}')
    old_place = store.record_path(key).with_name("seed0.rank1.error.json")  # where an older bench left them
    old_place.write_text('{"oom": false, "error": "boom"}')
    assert store.keys("s") == [key]
    assert len(store.records("s")) == 1 and len(pd.read_csv(store.rebuild_table("s"))) == 1


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".hidden", "a\\b", ""])
def test_names_that_would_leave_the_store_are_refused(name: str):
    with pytest.raises(BenchError):
        check_name("suite name", name)
    with pytest.raises(BenchError):
        RunKey("s", name, 0)


def test_the_profile_folder_is_not_a_suite(tmp_path: Path):
    with pytest.raises(BenchError, match="reserved"):
        _store(tmp_path).suite_dir("profile")


def _hold(path: str, ready, release) -> None:
    store = ResultStore(Path(path))
    with store.lock(RunKey("s", "r", 0)):
        ready.set()
        release.wait(30)


def test_the_lock_owner_is_read_without_taking_the_lock(tmp_path: Path):
    store = _store(tmp_path)
    key = RunKey("s", "r", 0)
    assert store.lock_owner(key) is None
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(store.root), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        owner = store.lock_owner(key)
        assert owner is not None and owner["pid"] == holder.pid
        with pytest.raises(Busy), store.lock(key):
            pass
    finally:
        release.set()
        holder.join(30)
    assert store.lock_owner(key) is None
    with store.lock(key):  # free again: reading the owner never held it
        assert store.lock_owner(key)["pid"] == os.getpid()


def test_only_the_store_spells_a_runs_file_names():
    """The results layout is spelled in bench/results/store.py alone: no other module builds a `seed<k>` name."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "store.py" and path.parent.name == "results":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.JoinedStr):
                continue
            for part, after in zip(node.values, node.values[1:], strict=False):  # f"...seed{k}..."
                if (
                    isinstance(part, ast.Constant)
                    and str(part.value).endswith("seed")
                    and isinstance(after, ast.FormattedValue)
                ):
                    offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not offenders, offenders


def test_two_writers_of_one_path_each_leave_a_whole_file(tmp_path: Path):
    path = tmp_path / "cache.jsonl"
    with atomic_writer(path) as first, atomic_writer(path) as second:
        first.write("one\n" * 1000)
        second.write("two\n" * 10)
    assert path.read_text() == "one\n" * 1000  # the last rename wins, whole
    assert [p.name for p in tmp_path.iterdir()] == ["cache.jsonl"]
