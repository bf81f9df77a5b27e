"""Sweeps through submitit: the array job's parameters, `--executor local` end to end (submit, `--no-wait`,
`bench status`, rerun), and a preempted task that is requeued and resumes from its epoch checkpoint."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

pytest.importorskip("submitit", reason="the slurm extra is not installed (pip install 'bench[slurm]')")

from bench.data.suite import load_suite
from bench.launch.slurm import ClusterOptions, RunTask, submit, wait
from bench.launch.sweep import plan
from bench.results.store import read_record
from tests.conftest import TINY_SUITE, write_suite
from tests.test_launch_sweep_reliability import RUNS


def test_the_array_job_asks_for_what_the_options_say():
    options = ClusterOptions(partition="gpu", account="lab", max_parallel=4, timeout_min=90, extra={"qos": "high"})
    params = options.parameters("bench-imdb")
    assert params["slurm_partition"] == "gpu" and params["slurm_account"] == "lab"
    assert params["slurm_array_parallelism"] == 4 and params["timeout_min"] == 90
    assert params["slurm_additional_parameters"] == {"qos": "high"}
    assert params["gpus_per_node"] == 1 and params["tasks_per_node"] == 1  # a run's worker starts its own ranks
    assert ClusterOptions(executor="local").parameters("x")["gpus_per_node"] == 0
    assert ClusterOptions(gpus_per_run=4).parameters("x")["gpus_per_node"] == 4


def test_a_preempted_task_requeues_the_same_run_without_overwriting_it(tiny_suite_file: Path, tmp_path: Path):
    (job,) = plan(load_suite(str(tiny_suite_file)), tmp_path / "results", overwrite=True).jobs
    again = RunTask(job, overwrite=True).checkpoint()
    assert again.function.job == job and again.function.overwrite is False  # never throws its checkpoints away


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_executor_local_submits_returns_and_status_shows_what_finished(tiny_suite_file: Path, tmp_path: Path):
    args = ("--suite", str(tiny_suite_file), "--results", str(tmp_path / "results"), "--seeds", "0,1")
    sent = bench("run", *args, "--executor", "local", "--no-wait", cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr[-2000:]
    assert "submitted 2 run(s) to local" in sent.stdout and "bench status" in sent.stdout

    status = bench("status", *args, cwd=tmp_path)  # while they train (or already done: the runs are short)
    states = [line.split()[2] for line in status.stdout.splitlines()[1:3]]
    assert set(states) <= {"pending", "running", "ok"} and status.returncode == int(states != ["ok", "ok"])

    runs = tmp_path / "results" / "tiny" / "runs" / "tiny-roberta-128"
    deadline = time.monotonic() + 300
    while not all((read_record(runs / f"seed{s}.json") or {}).get("status") == "ok" for s in (0, 1)):
        assert time.monotonic() < deadline, "the submitted runs did not finish"
        time.sleep(0.5)
    time.sleep(1)  # the tasks release their locks after writing the record
    status = bench("status", *args, cwd=tmp_path)
    assert status.returncode == 0 and "2 ok" in status.stdout
    assert status.stdout.splitlines()[0].split() == ["runner", "seed", "state", "detail", "host", "job"]

    rerun = bench("run", *args, cwd=tmp_path)
    assert rerun.returncode == 0 and "skipping 2 finished run(s)" in rerun.stdout


@pytest.mark.slow
def test_a_preempted_run_is_requeued_and_resumes_from_its_checkpoint(tmp_path: Path, capsys):
    # two epochs of 360 documents: time to be preempted after the first epoch's checkpoint
    text = TINY_SUITE.format(n_train=400, n_test=60, epochs=2).replace(
        "per_device_batch_size: 8", "per_device_batch_size: 4"
    )
    suite = load_suite(str(write_suite(tmp_path / "tiny.yaml", text)))
    results = tmp_path / "results"
    the_plan = plan(suite, results)
    (pending,) = submit(the_plan, ClusterOptions(executor="local", timeout_min=30))
    deadline = time.monotonic() + 300
    while not list((results / RUNS).glob("seed0.checkpoints/checkpoint-*/trainer_state.json")):
        assert time.monotonic() < deadline and not pending.done(), "the task ended before its first checkpoint"
        time.sleep(0.05)
    # what Slurm sends the task before preempting it or when its time is nearly up (submitit's local controller only
    # sends it on its own time-out, so the test sends it to the task itself)
    (task,) = psutil.Process(pending._process.pid).children()
    task.send_signal(signal.SIGUSR2)
    (record,) = wait(the_plan, [pending])
    assert record["status"] == "ok", record.get("error")
    assert record["resumed_from_epoch"] >= 1 and record["segments"] == 2
    assert "[tiny-roberta-128 · seed 0 · job" in capsys.readouterr().out


def test_without_submitit_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from bench.errors import BenchError

    monkeypatch.setitem(sys.modules, "submitit", None)
    text = TINY_SUITE.format(n_train=60, n_test=20, epochs=1)
    the_plan = plan(load_suite(str(write_suite(tmp_path / "tiny.yaml", text))), tmp_path / "results")
    with pytest.raises(BenchError, match=r"pip install 'bench\[slurm\]'"):
        submit(the_plan, ClusterOptions(executor="local"))
