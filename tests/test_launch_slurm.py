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

pytest.importorskip("submitit", reason="the slurm extra is not installed (pip install 'longdoc-bench[slurm]')")

from bench.data.suite import load_suite
from bench.launch.options import CPUS_PER_PROCESS, RunOptions
from bench.launch.slurm import ClusterOptions, RunTask, submit, wait
from bench.launch.sweep import plan
from bench.results.store import ResultStore, RunKey
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


def test_a_run_on_k_processes_asks_slurm_for_k_gpus_and_their_cpus():
    """--nproc-per-node K used to ask Slurm for 1 GPU per task (the K ranks then shared it), with no CPU count."""
    params = ClusterOptions(processes_per_run=4).parameters("x")
    assert params["gpus_per_node"] == 4 and params["tasks_per_node"] == 1
    assert params["cpus_per_task"] == 4 * CPUS_PER_PROCESS
    assert ClusterOptions().parameters("x")["cpus_per_task"] == CPUS_PER_PROCESS
    overridden = ClusterOptions(processes_per_run=4, gpus_per_run=2, cpus_per_run=6).parameters("x")
    assert (overridden["gpus_per_node"], overridden["cpus_per_task"]) == (2, 6)
    assert ClusterOptions(executor="local", processes_per_run=2).parameters("x")["cpus_per_task"] is None


def test_the_command_line_passes_nproc_per_node_to_the_array_job():
    from bench.cli import build_parser
    from bench.cli.scale import cluster

    args = build_parser().parse_args(["run", "--executor", "slurm", "--nproc-per-node", "2"])
    assert cluster(args).parameters("x")["gpus_per_node"] == 2


def test_a_preempted_task_requeues_the_same_run_without_overwriting_it(tiny_suite_file: Path, tmp_path: Path):
    (job,) = plan(load_suite(str(tiny_suite_file)), RunOptions(results=tmp_path / "results", overwrite=True)).jobs
    first = RunTask(job, overwrite=True)
    again = first.checkpoint()
    assert first.restart is True  # the first try of an --overwrite starts afresh
    # the requeued try goes on with the same overwrite (the old record is kept until it finishes, so a plain rerun
    # would skip it), but never starts afresh again: it resumes its own checkpoints
    assert again.function.job == job and again.function.overwrite is True and again.function.restart is False


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

    store = ResultStore(tmp_path / "results")
    deadline = time.monotonic() + 300
    while not all((r := store.read(RunKey("tiny", "tiny-roberta-128", s))) is not None and r.ok for s in (0, 1)):
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
    # two epochs of 720 documents in micro-batches of 1: time to be preempted after the first epoch's checkpoint (in
    # micro-batches of 4 over 360 documents, a quiet machine trained both epochs in 0.7 s, before the signals came)
    text = TINY_SUITE.format(n_train=800, n_test=60, epochs=2).replace(
        "per_device_batch_size: 8", "per_device_batch_size: 1"
    )
    suite = load_suite(str(write_suite(tmp_path / "tiny.yaml", text)))
    results = tmp_path / "results"
    the_plan = plan(suite, RunOptions(results=results))
    (pending,) = submit(the_plan, ClusterOptions(executor="local", timeout_min=30))
    deadline = time.monotonic() + 300
    while not list((results / RUNS).glob("seed0.checkpoints/checkpoint-*/trainer_state.json")):
        assert time.monotonic() < deadline and not pending.done(), "the task ended before its first checkpoint"
        time.sleep(0.05)
    # what Slurm sends before preempting a job or when its time is nearly up: SIGTERM and the requeue signal, to
    # every process of the job, the run's worker included (submitit's local controller only sends it on its own
    # time-out, so the test sends them itself). The worker must neither die of them nor record itself as failed:
    # the task (its parent) requeues the run. Sent to the worker first, with time to die of it before the task hears.
    (task,) = psutil.Process(pending._process.pid).children()
    (worker,) = [p for p in task.children() if "resource_tracker" not in " ".join(p.cmdline())]
    worker.send_signal(signal.SIGTERM)
    worker.send_signal(signal.SIGUSR2)
    time.sleep(1)
    assert worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE, "the worker died of the job's signals"
    task.send_signal(signal.SIGUSR2)
    (record,) = wait(the_plan, [pending])
    assert record.status == "ok", record.error
    assert record.resumed_from_epoch >= 1 and record.segments == 2
    assert "[tiny-roberta-128 · seed 0 · job" in capsys.readouterr().out


def test_without_submitit_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from bench.errors import BenchError

    monkeypatch.setitem(sys.modules, "submitit", None)
    text = TINY_SUITE.format(n_train=60, n_test=20, epochs=1)
    the_plan = plan(
        load_suite(str(write_suite(tmp_path / "tiny.yaml", text))), RunOptions(results=tmp_path / "results")
    )
    with pytest.raises(BenchError, match=r"pip install 'longdoc-bench\[slurm\]'"):
        submit(the_plan, ClusterOptions(executor="local"))
