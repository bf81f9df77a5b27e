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
from bench.results.store import ResultStore, RunKey
from bench.train.job import Job, smaller_micro_batch
from tests.conftest import TINY_SUITE, write_suite
from tests.fakes import OutOfMemoryAboveRunner

pytestmark = pytest.mark.slow

RUNS = Path("tiny") / "runs" / "tiny-roberta-128"
# long enough (4 epochs of 360 documents, a few seconds) to be interrupted after its first epoch checkpoint
LONG_SUITE = TINY_SUITE.format(n_train=400, n_test=60, epochs=4).replace(
    "per_device_batch_size: 8", "per_device_batch_size: 4"
)


def start_bench(suite: Path, results: Path, cwd: Path, *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "bench", "run", "--suite", str(suite), "--results", str(results), *args]
    # a session of its own: the signal reaches the sweep and its worker process, as a terminal's would
    return subprocess.Popen(cmd, cwd=cwd, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_bench(suite: Path, results: Path, cwd: Path, *args: str) -> tuple[int, str, str]:
    proc = start_bench(suite, results, cwd, *args)
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out.decode(), err.decode()


def interrupt_after_first_checkpoint(suite: Path, results: Path, cwd: Path, sig: int, *args: str) -> tuple[int, str]:
    proc = start_bench(suite, results, cwd, *args)
    deadline = time.monotonic() + 300
    while not list((results / RUNS).glob("seed0.checkpoints/checkpoint-*/trainer_state.json")):
        assert proc.poll() is None, "bench run ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def read(results: Path, runner: str = "tiny-roberta-128", suite: str = "tiny"):
    return ResultStore(results).read(RunKey(suite, runner, 0))


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


@pytest.mark.smoke
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
    record = read(results)
    assert record.resumed_from_epoch >= 1
    assert outcome(results) == uninterrupted
    assert not (results / RUNS / "seed0.checkpoints").exists()  # a finished run keeps no checkpoints

    # the cost half: both processes' training time and tokens are summed (each leaves out its own warm-up)
    whole = read(uninterrupted_results)
    assert record.segments == 2 and whole.segments == 1
    # no timing ratio (that depends on the machine's load), but the tokens the figures cover: the resumed run
    # trained the same batches and left out one more warm-up (2 of 180 optimizer steps): slightly fewer, never 0
    tokens, whole_tokens = (r.train_tokens_per_s * r.train_s for r in (record, whole))
    assert 0.9 * whole_tokens < tokens < whole_tokens
    assert 0 < record.train_s < record.wall_s


def oom_job(tmp_path: Path, fits: int, micro_batch: int, epochs: int = 1, **fake) -> Job:
    text = TINY_SUITE.format(n_train=60, n_test=20, epochs=epochs)
    text = text.replace("per_device_batch_size: 8", f"per_device_batch_size: {micro_batch}")
    suite = load_suite(str(write_suite(tmp_path / "tiny.yaml", text)))
    runner = OutOfMemoryAboveRunner(max_length=128, hidden_size=16, num_layers=1, vocab_size=200, fits=fits, **fake)
    return Job(suite, "oom-fake", runner, 0, tmp_path / "results")


def test_an_out_of_memory_retry_resumes_from_the_last_checkpoint(tmp_path: Path):
    """The smaller micro-batch keeps the effective batch, so the retry is the same run and resumes: it used to
    change the run's fingerprint and start again from nothing. Epoch 1 (54 documents in 14 micro-batches of 4)
    fits; the first micro-batch of epoch 2 runs out of memory."""
    out = io.StringIO()
    job = oom_job(tmp_path, fits=2, micro_batch=4, epochs=2, fits_from=14)
    (record,) = run_jobs(Plan((job,), ()), out=out)
    assert record.status == "ok", record.error
    assert (record.micro_batch_size, record.oom_retries, record.resumed_from_epoch) == (2, 1, 1)
    assert record.segments == 2 and [e["epoch"] for e in record.epochs] == [1, 2]
    assert "from its last checkpoint" in out.getvalue()


def test_out_of_memory_in_evaluation_halves_only_the_evaluation_batch(tmp_path: Path):
    """The test pass (batches of 16) runs out of memory after training finished: the retry resumes from the last
    checkpoint with evaluation batches of 8 and the training micro-batch it had (it used to halve that too)."""
    out = io.StringIO()
    (record,) = run_jobs(Plan((oom_job(tmp_path, fits=8, micro_batch=8, eval_fits=8),), ()), out=out)
    assert record.status == "ok", record.error
    assert (record.micro_batch_size, record.gradient_accumulation_steps, record.oom_retries) == (8, 1, 1)
    assert record.resumed_from_epoch == 1 and record.config["suite"]["protocol"]["eval_batch_size"] == 8
    assert "out of memory evaluating at batch 16; retrying with evaluation batch 8" in out.getvalue()


def test_out_of_memory_halves_the_micro_batch_and_keeps_the_effective_batch(tmp_path: Path):
    out = io.StringIO()
    (record,) = run_jobs(Plan((oom_job(tmp_path, fits=2, micro_batch=4),), ()), out=out)
    assert record.status == "ok", record.error
    assert (record.micro_batch_size, record.gradient_accumulation_steps, record.oom_retries) == (2, 4, 1)
    assert record.config["suite"]["protocol"]["batch_size"] == 8
    assert "retrying with micro-batch 2 x 4 accumulation steps (effective batch 8, unchanged)" in out.getvalue()


def test_out_of_memory_at_micro_batch_one_is_recorded_and_the_sweep_goes_on(tmp_path: Path):
    out = io.StringIO()
    (record,) = run_jobs(Plan((oom_job(tmp_path, fits=0, micro_batch=2),), ()), out=out)
    assert record.status == "oom" and "out of memory" in record.error and record.oom_retries == 1
    assert record.oom_phase == "train"
    assert "[run 1/1] oom: OutOfMemoryError" in out.getvalue()
    assert read(tmp_path / "results", "oom-fake").status == "oom"


def test_a_run_locked_by_another_process_is_left_alone(tmp_path: Path):
    job = oom_job(tmp_path, fits=8, micro_batch=8)
    path = job.store.lock_path(job.run_key)
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


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def test_a_finished_run_of_another_configuration_is_not_reused(tmp_path: Path):
    """The getting-started flow: a short run first (--limit, --epochs), then the suite's own. It used to skip the short
    runs as finished and report them as the suite's result; now it stops before running anything, names what
    differs, and writes nothing."""
    suite = write_suite(tmp_path / "tiny.yaml", TINY_SUITE.format(n_train=60, n_test=20, epochs=2))
    results = tmp_path / "results"
    code, _, err = run_bench(suite, results, tmp_path, "--limit", "40", "--epochs", "1")
    assert code == 0, err[-2000:]
    before = snapshot(tmp_path)
    code, _, err = run_bench(suite, results, tmp_path)
    assert code == 2 and "Traceback" not in err
    assert "tiny-roberta-128 seed 0: --limit 40 -> none; epochs 1 -> 2" in err
    assert "--overwrite" in err and "--results DIR" in err
    assert snapshot(tmp_path) == before  # nothing written: no record, table, log or report
    # (that --overwrite then runs them is planned in tests/test_launch_plan.py, without training them again here)


def test_cosmetic_changes_resume_the_checkpoints(tmp_path: Path):
    """A new description and the data folder spelled relative instead of absolute are the same run: the rerun
    resumes (both used to throw the checkpoints away)."""
    from bench.data.synthetic import SyntheticSpec, write_files

    data = tmp_path / "data"
    write_files(SyntheticSpec(n_train=400, n_test=60, min_tokens=40, max_tokens=80, cue_length=4, filler_vocab=30),
                data)  # fmt: skip
    (folder,) = data.iterdir()
    text = LONG_SUITE.replace(
        "source: synthetic", "source: files\n  files: {train: train.jsonl.gz, test: test.jsonl.gz}"
    )
    suite = write_suite(tmp_path / "tiny.yaml", text)
    results = tmp_path / "results"
    interrupt_after_first_checkpoint(suite, results, tmp_path, signal.SIGKILL, "--data-dir", str(folder.resolve()))
    assert read(results) is None
    relative = os.path.relpath(folder, tmp_path)
    code, out, err = run_bench(suite, results, tmp_path, "--data-dir", relative, "--set", "description=edited")
    assert code == 0, err[-2000:]
    assert "resuming from the checkpoint after epoch" in out and "configuration changed" not in out
    assert read(results).resumed_from_epoch >= 1


def test_an_interrupted_overwrite_keeps_the_finished_record(tmp_path: Path):
    """`--overwrite` used to delete the finished record (and predictions) before training: kill -9 a few seconds in
    and the run had no record at all. The old pair now stays until the new one replaces it."""
    suite = write_suite(tmp_path / "tiny.yaml", LONG_SUITE)
    results = tmp_path / "results"
    code, _, err = run_bench(suite, results, tmp_path, "--epochs", "1")
    assert code == 0, err[-2000:]
    old = read(results)
    predictions = (results / RUNS / "seed0.predictions.csv").read_text()
    interrupt_after_first_checkpoint(suite, results, tmp_path, signal.SIGKILL, "--epochs", "1", "--overwrite")
    assert read(results) == old and (results / RUNS / "seed0.predictions.csv").read_text() == predictions
    code, out, err = run_bench(suite, results, tmp_path, "--epochs", "1")
    assert code == 0 and "skipping 1 finished run(s)" in out


def test_an_overwrite_that_fails_keeps_the_finished_record_and_says_it_failed(tmp_path: Path):
    """The old record stays the run's result on disk; the sweep's own table (what `bench run` prints and exits on)
    shows this try's failure, so that a failed --overwrite is not reported as the old success."""
    from bench.api import Sweep
    from bench.launch.options import RunOptions

    job = oom_job(tmp_path, fits=0, micro_batch=2)  # runs out of memory at every micro-batch
    job.store.write(job.failure_record("ok", None))
    finished = read(tmp_path / "results", "oom-fake")  # as read back from JSON
    out = io.StringIO()
    tried = run_jobs(Plan((job,), (), overwrite=True), out=out)
    assert [r.status for r in tried] == ["oom"] and "the run's earlier finished record is kept" in out.getvalue()
    assert read(tmp_path / "results", "oom-fake") == finished
    table = Sweep(job.suite, Plan((job,), (), overwrite=True), RunOptions(results=tmp_path / "results")).table(tried)
    assert table["status"].tolist() == ["oom"]
