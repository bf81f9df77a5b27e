"""A sweep survives what happens to long runs: SIGKILL and Ctrl-C (resume), out of memory (retry), a second
`bench run` on the same results (locks), and reruns give identical results (determinism)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from bench.data.suite import load_suite
from bench.launch.sweep import Plan, run_jobs
from bench.results.store import lock_path, read_record
from bench.train.job import Job, smaller_micro_batch
from tests.conftest import TINY_SUITE, write_suite
from tests.fakes import OutOfMemoryAboveRunner

pytestmark = pytest.mark.slow

RUNS = Path("tiny") / "runs" / "tiny-roberta-128"
# long enough (4 epochs of 360 documents, a few seconds) to be interrupted after its first epoch checkpoint
LONG_SUITE = TINY_SUITE.format(n_train=400, n_test=60, epochs=4).replace(
    "per_device_batch_size: 8", "per_device_batch_size: 4"
)


def start_bench(suite: Path, results: Path, cwd: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "bench", "run", "--suite", str(suite), "--results", str(results)]
    # a session of its own: the signal reaches the sweep and its worker process, as a terminal's would
    return subprocess.Popen(cmd, cwd=cwd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_bench(suite: Path, results: Path, cwd: Path) -> tuple[int, str, str]:
    proc = start_bench(suite, results, cwd)
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out.decode(), err.decode()


def interrupt_after_first_checkpoint(suite: Path, results: Path, cwd: Path, sig: int) -> tuple[int, str]:
    proc = start_bench(suite, results, cwd)
    deadline = time.monotonic() + 300
    while not list((results / RUNS).glob("seed0.checkpoints/checkpoint-*/trainer_state.json")):
        assert proc.poll() is None, "bench run ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def outcome(results: Path) -> tuple[dict, str]:
    record = json.loads((results / RUNS / "seed0.json").read_text())
    metrics = {k: record[k] for k in ("accuracy", "f1", "precision", "recall", "best_epoch", "epochs")}
    return metrics, (results / RUNS / "seed0.predictions.csv").read_text()


@pytest.fixture(scope="module")
def uninterrupted_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("uninterrupted")
    code, _, err = run_bench(write_suite(root / "tiny.yaml", LONG_SUITE), root / "results", root)
    assert code == 0, err[-2000:]
    return root / "results"


@pytest.fixture(scope="module")
def uninterrupted(uninterrupted_results: Path) -> tuple[dict, str]:
    return outcome(uninterrupted_results)


def test_same_seed_twice_gives_identical_metrics_and_predictions(uninterrupted, tmp_path: Path):
    code, _, err = run_bench(write_suite(tmp_path / "tiny.yaml", LONG_SUITE), tmp_path / "results", tmp_path)
    assert code == 0, err[-2000:]
    # per-epoch train and validation losses included: the runs are the same to the last bit, not just close
    assert outcome(tmp_path / "results") == uninterrupted


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_an_interrupted_run_resumes_to_the_same_result(uninterrupted, uninterrupted_results, tmp_path, sig):
    suite, results = write_suite(tmp_path / "tiny.yaml", LONG_SUITE), tmp_path / "results"
    code, err = interrupt_after_first_checkpoint(suite, results, tmp_path, sig)
    assert not (results / RUNS / "seed0.json").exists()  # no record: the run is not finished
    if sig == signal.SIGINT:
        assert code == 130 and "run the same command again to resume" in err and "Traceback" not in err

    code, out, err = run_bench(suite, results, tmp_path)
    assert code == 0, err[-2000:]
    assert "resuming from the checkpoint after epoch" in out
    record = read_record(results / RUNS / "seed0.json")
    assert record["resumed_from_epoch"] >= 1
    assert outcome(results) == uninterrupted
    assert not (results / RUNS / "seed0.checkpoints").exists()  # a finished run keeps no checkpoints

    # the cost half: both processes' training time and tokens are summed (each leaves out its own warm-up)
    whole = read_record(uninterrupted_results / RUNS / "seed0.json")
    assert record["segments"] == 2 and whole["segments"] == 1
    # no timing ratio (that depends on the machine's load), but the tokens the figures cover: the resumed run
    # trained the same batches and left out one more warm-up (2 of 180 optimizer steps): slightly fewer, never 0
    tokens, whole_tokens = (r["train_tokens_per_s"] * r["train_s"] for r in (record, whole))
    assert 0.9 * whole_tokens < tokens < whole_tokens
    assert 0 < record["train_s"] < record["wall_s"]


def oom_job(tmp_path: Path, fits: int, micro_batch: int) -> Job:
    text = TINY_SUITE.format(n_train=60, n_test=20, epochs=1)
    text = text.replace("per_device_batch_size: 8", f"per_device_batch_size: {micro_batch}")
    suite = load_suite(str(write_suite(tmp_path / "tiny.yaml", text)))
    runner = OutOfMemoryAboveRunner(max_length=128, hidden_size=16, num_layers=1, vocab_size=200, fits=fits)
    return Job(suite, "oom-fake", runner, 0, tmp_path / "results")


def test_out_of_memory_halves_the_micro_batch_and_keeps_the_effective_batch(tmp_path: Path):
    out = io.StringIO()
    (record,) = run_jobs(Plan((oom_job(tmp_path, fits=2, micro_batch=4),), ()), out=out)
    assert record["status"] == "ok", record.get("error")
    assert (record["micro_batch_size"], record["gradient_accumulation_steps"], record["oom_retries"]) == (2, 4, 1)
    assert record["config"]["suite"]["protocol"]["batch_size"] == 8
    assert "retrying with micro-batch 2 x 4 accumulation steps (effective batch 8, unchanged)" in out.getvalue()


def test_out_of_memory_at_micro_batch_one_is_recorded_and_the_sweep_goes_on(tmp_path: Path):
    out = io.StringIO()
    (record,) = run_jobs(Plan((oom_job(tmp_path, fits=0, micro_batch=2),), ()), out=out)
    assert record["status"] == "oom" and "out of memory" in record["error"] and record["oom_retries"] == 1
    assert "[run 1/1] oom: OutOfMemoryError" in out.getvalue()
    assert read_record(tmp_path / "results" / "tiny" / "runs" / "oom-fake" / "seed0.json")["status"] == "oom"


def test_a_run_locked_by_another_process_is_left_alone(tmp_path: Path):
    job = oom_job(tmp_path, fits=8, micro_batch=8)
    path = lock_path(job.results, job.suite.name, job.runner_name, job.seed)
    path.parent.mkdir(parents=True)
    out = io.StringIO()
    with FileLock(path):  # what a concurrent `bench run` holds while its worker trains this run
        assert run_jobs(Plan((job,), ()), out=out) == []
    assert "skipped: another bench process is running it" in out.getvalue()
    assert not job.record_path.exists()


@pytest.mark.parametrize(("batch", "micro", "expected"), [(32, 8, 4), (8, 1, None), (24, 6, 3), (12, 12, 6), (9, 3, 1)])
def test_smaller_micro_batch_divides_the_effective_batch(batch: int, micro: int, expected: int | None):
    from bench.config import ProtocolConfig

    assert smaller_micro_batch(ProtocolConfig(batch_size=batch, per_device_batch_size=micro)) == expected
