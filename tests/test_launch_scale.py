"""Several runs at once on one machine: where `--jobs`/`--gpus`/`--nproc-per-node` place them, and `bench run --jobs 2`
end to end (each worker's output in its log, the console saying which run is where; Ctrl-C stops both and the
same command resumes them)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

import bench.gpu
from bench.cli import build_parser, scale
from bench.errors import BenchError


def slots(*argv: str, gpus: list[str], monkeypatch: pytest.MonkeyPatch) -> list:
    monkeypatch.setattr(bench.gpu, "visible_gpus", lambda: gpus)
    args: argparse.Namespace = build_parser().parse_args(["run", *argv])
    return scale.slots(args)


def test_one_run_per_visible_gpu_by_default(monkeypatch: pytest.MonkeyPatch):
    placed = slots(gpus=["0", "1", "2", "3"], monkeypatch=monkeypatch)
    assert [p.gpus for p in placed] == [("0",), ("1",), ("2",), ("3",)]
    assert [p.device for p in placed][:2] == ["GPU 0", "GPU 1"]
    assert [p.gpus for p in slots("--gpus", "2,3", gpus=["0", "1", "2", "3"], monkeypatch=monkeypatch)] == [
        ("2",),
        ("3",),
    ]
    assert [p.gpus for p in slots("--jobs", "1", gpus=["0", "1"], monkeypatch=monkeypatch)] == [("0",)]


def test_a_run_on_several_processes_gets_a_group_of_gpus(monkeypatch: pytest.MonkeyPatch):
    placed = slots("--nproc-per-node", "2", gpus=["0", "1", "2", "3", "4"], monkeypatch=monkeypatch)
    assert [p.gpus for p in placed] == [("0", "1"), ("2", "3")]
    with pytest.raises(BenchError, match="--nproc-per-node 4 needs 4 GPUs per run; 2 visible"):
        slots("--nproc-per-node", "4", gpus=["0", "1"], monkeypatch=monkeypatch)


def test_more_runs_than_gpus_or_gpus_on_a_cpu_machine_are_refused(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(BenchError, match="--jobs 3 needs 3 GPUs"):
        slots("--jobs", "3", gpus=["0", "1"], monkeypatch=monkeypatch)
    with pytest.raises(BenchError, match="no GPU visible"):
        slots("--gpus", "0", gpus=[], monkeypatch=monkeypatch)
    with pytest.raises(BenchError, match="--max-parallel"):
        slots("--jobs", "2", "--executor", "local", gpus=[], monkeypatch=monkeypatch)
    cpu = slots("--jobs", "3", gpus=[], monkeypatch=monkeypatch)
    assert len(cpu) == 3 and all(p.gpus is None and p.device == "CPU" for p in cpu)


@pytest.mark.slow
def test_jobs_2_trains_two_runs_at_once_each_with_its_log(tiny_suite_file: Path, tmp_path: Path):
    results = tmp_path / "results"
    cmd = [sys.executable, "-m", "bench", "run", "--suite", str(tiny_suite_file), "--results", str(results)]
    done = subprocess.run([*cmd, "--seeds", "0,1", "--jobs", "2"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    runs = results / "tiny" / "runs" / "tiny-roberta-128"
    for seed in (0, 1):
        assert f"· CPU] tiny-roberta-128 · seed {seed} · cpu" in done.stdout  # the worker's start line
        assert (runs / f"seed{seed}.log").exists()
        assert json.loads((runs / f"seed{seed}.json").read_text())["status"] == "ok"
        assert "train_runtime" in (runs / f"seed{seed}.log").read_text()  # the Trainer's output, not the console's
    assert "train_runtime" not in done.stdout and done.stdout.count("] done: accuracy") == 2


@pytest.mark.slow
def test_ctrl_c_with_jobs_2_stops_both_workers_and_the_same_command_resumes_both(tmp_path: Path):
    import os
    import signal
    import time

    from bench.cpus import cpu_pool
    from tests.conftest import TINY_SUITE, write_suite

    if len(cpu_pool()) < 2:  # the second run would wait for the first one's CPU, and never be stopped mid-run
        pytest.skip(f"--jobs 2 trains at once only with 2 usable CPUs; this process has {cpu_pool()} (affinity, quota)")
    # 8 epochs of 360 documents in micro-batches of 4: both runs must be training at once after their first checkpoint,
    # and on a busy machine (CI: the other xdist worker's tests) one worker may start seconds after the other (with 4
    # epochs CI once saw the sweep end before both runs had a checkpoint; the message now shows the sweep's output)
    text = TINY_SUITE.format(n_train=400, n_test=60, epochs=8).replace(
        "per_device_batch_size: 8", "per_device_batch_size: 4"
    )
    suite, results = write_suite(tmp_path / "tiny.yaml", text), tmp_path / "results"
    cmd = [sys.executable, "-m", "bench", "run", "--suite", str(suite), "--results", str(results)]
    cmd += ["--seeds", "0,1", "--jobs", "2"]
    runs = results / "tiny" / "runs" / "tiny-roberta-128"
    # a CPU-claims registry of its own: a bench process another test left running cannot make one run wait for it
    env = {**os.environ, "BENCH_CPU_CLAIMS": str(tmp_path / "cpu-claims")}
    # a session of its own: Ctrl-C reaches the sweep and both workers, as a terminal's would
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    while not all(list(runs.glob(f"seed{k}.checkpoints/checkpoint-*/trainer_state.json")) for k in (0, 1)):
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(
                f"bench run ended before both runs saved a checkpoint (CPU pool {cpu_pool()}, "
                f"BENCH_THREADS {os.environ.get('BENCH_THREADS')}):\n{out.decode()[-3000:]}\n{err.decode()[-3000:]}"
            )
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0 and "bench: interrupted" in err.decode() and "Traceback" not in err.decode()
    import psutil

    time.sleep(0.5)
    left = []  # no worker of the sweep is left running (a zombie waiting for an init that does not reap is no worker)
    for q in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(q.pid) == proc.pid and q.info["status"] != psutil.STATUS_ZOMBIE:
                left.append((q.pid, q.info["status"], q.cmdline()[-3:]))
        except (ProcessLookupError, psutil.Error):
            pass
    assert not left, left
    assert not list(runs.glob("seed*.json"))  # stopped runs get no record, only their checkpoints
    assert all(list(runs.glob(f"seed{k}.checkpoints/checkpoint-*")) for k in (0, 1))

    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for seed in (0, 1):
        record = json.loads((runs / f"seed{seed}.json").read_text())
        assert record["status"] == "ok" and record["resumed_from_epoch"] >= 1 and record["segments"] == 2
