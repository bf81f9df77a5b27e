"""The launcher's verdict on a worker that died without writing its record."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from bench.launch.local import died_without_record


def test_sigkill_is_oom_only_when_the_oom_killer_counted_it():
    kill = -signal.SIGKILL
    assert died_without_record(kill, 3, 4)[0] == "oom"
    assert died_without_record(kill, 3, 3)[0] == "failed"
    status, error = died_without_record(kill, None, None)  # no cgroup counter: SIGKILL is taken as the OOM killer's
    assert status == "oom" and "as the kernel's out-of-memory killer sends" in error


def test_other_deaths_are_failures():
    assert died_without_record(-signal.SIGSEGV, 0, 0) == (
        "failed",
        f"worker process exited with code {-signal.SIGSEGV} before writing its record",
    )
    assert died_without_record(1, None, None)[0] == "failed"


@pytest.mark.slow
def test_the_worker_outlives_the_signals_a_scheduler_sends_the_job(tmp_path: Path):
    """Slurm signals every process of a job before preempting it (SIGTERM, and the requeue signal submitit handles
    in the worker's parent). A worker that died of them was recorded `failed`, and its run never requeued."""
    import threading
    import time

    from bench.launch import local
    from tests.fakes import SleepJob

    done: list = []
    thread = threading.Thread(target=lambda: done.append(local.launch(SleepJob(tmp_path / "out.json", seconds=4))))
    thread.start()
    deadline = time.monotonic() + 60
    while not local._LIVE or not next(iter(local._LIVE)).pid:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(2)  # the worker has installed its handlers
    (worker,) = local._LIVE
    for sig in local.WORKER_IGNORES:
        os.kill(worker.pid, sig)
    thread.join(60)
    (record,) = done
    assert record.status == "ok", record.error
