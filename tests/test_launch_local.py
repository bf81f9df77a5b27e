"""The launcher's verdict on a worker that died without writing its record."""

from __future__ import annotations

import signal

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
