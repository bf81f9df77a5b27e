"""Plan a suite's runs, skip finished ones, run each in a fresh process, and keep the table current."""

from __future__ import annotations

import dataclasses
import multiprocessing
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from bench.checkpoints import discard as discard_checkpoints
from bench.config import ProtocolConfig, SuiteConfig
from bench.errors import BenchError
from bench.records import checkpoint_dir, lock_path, read_record, rebuild_table, write_record
from bench.runners import RUNNERS, build_runner
from bench.worker import Job, execute, failure_record


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]
    skipped: tuple[Job, ...]
    overwrite: bool = False


def plan(
    suite: SuiteConfig,
    results: Path,
    runners: list[str] | None = None,
    data_dir: Path | None = None,
    limit: int | None = None,
    overwrite: bool = False,
) -> Plan:
    """The (runner, seed) jobs to run, in order; runs with an `ok` record are skipped unless `overwrite`."""
    refs = {ref.name: ref for ref in suite.runners}
    names = runners or list(refs)
    jobs = []
    for name in names:
        ref = refs.get(name)
        if ref is None and name not in RUNNERS:
            raise BenchError(RUNNERS.unknown_message(name) + f" Suite '{suite.name}' runs: {', '.join(refs)}.")
        runner = build_runner(ref.runner, ref.params) if ref else build_runner(name)
        try:
            runner.check_supported()
        except BenchError as err:
            raise BenchError(f"runner '{name}': {err}") from None
        jobs += [Job(suite, name, runner, seed, results, data_dir, limit) for seed in suite.seeds]
    todo, skipped = [], []
    for job in jobs:
        record = read_record(job.record_path)
        done = record is not None and record.get("status") == "ok"
        (skipped if done and not overwrite else todo).append(job)
    return Plan(tuple(todo), tuple(skipped), overwrite)


def check_writable(results: Path) -> None:
    try:
        results.mkdir(parents=True, exist_ok=True)
        probe = results / ".bench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise BenchError(f"cannot write to results dir {results} ({err.strerror}); pass --results DIR") from None


def run_jobs(the_plan: Plan, out=sys.stdout) -> list[dict]:
    """Run each job in a spawned process, holding the run's lock; a crash becomes a `failed` record, and the sweep
    goes on. A run that runs out of memory is retried with half the micro-batch (same effective batch)."""
    total = len(the_plan.jobs)
    finished = []
    for i, job in enumerate(the_plan.jobs, 1):
        tag = f"[run {i}/{total}]"
        print(f"\n{tag} {job.runner_name} · seed {job.seed} — {job.runner.describe()}", file=out, flush=True)
        lock = FileLock(lock_path(job.results, job.suite.name, job.runner_name, job.seed), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            print(f"{tag} skipped: another bench process is running it right now", file=out, flush=True)
            continue
        try:
            record = read_record(job.record_path)
            if record is not None and record.get("status") == "ok" and not the_plan.overwrite:
                print(f"{tag} skipped: another bench process has just finished it", file=out, flush=True)
                continue
            if the_plan.overwrite:
                discard_checkpoints(checkpoint_dir(job.results, job.suite.name, job.runner_name, job.seed))
            record = _run_with_oom_retries(job, tag, out)
        finally:
            lock.release()
        rebuild_table(job.results, job.suite.name)
        finished.append(record)
        if record["status"] == "ok":
            print(f"{tag} done: accuracy {record['accuracy']:.4f}, {record['wall_s']:.0f} s", file=out, flush=True)
        else:
            print(f"{tag} {record['status']}: {record.get('error')}", file=out, flush=True)
    return finished


def smaller_micro_batch(protocol: ProtocolConfig) -> int | None:
    """The largest divisor of the effective batch at most half the current micro-batch (None below 1)."""
    for size in range(protocol.per_device_batch_size // 2, 0, -1):
        if protocol.batch_size % size == 0:
            return size
    return None


def _run_with_oom_retries(job: Job, tag: str, out) -> dict:
    record = _attempt(job)
    while record["status"] == "oom" and (size := smaller_micro_batch(job.suite.protocol)) is not None:
        protocol = job.suite.protocol
        smaller = dataclasses.replace(
            protocol, per_device_batch_size=size, eval_batch_size=max(1, protocol.eval_batch_size // 2)
        )
        print(
            f"{tag} out of memory at micro-batch {protocol.per_device_batch_size}; retrying with micro-batch {size} "
            f"x {smaller.gradient_accumulation_steps} accumulation steps (effective batch {protocol.batch_size}, "
            "unchanged)",
            file=out,
            flush=True,
        )
        job = dataclasses.replace(job, suite=job.suite.replace(protocol=smaller), oom_retries=job.oom_retries + 1)
        record = _attempt(job)
    return record


def run_in_fresh_process(target: Callable[[Any], None], job: Any, name: str) -> int | None:
    """`target(job)` in a spawned interpreter (clean peak memory, no inherited CUDA state); its exit code.

    On Ctrl-C the child is stopped (a run's worker ignores SIGINT, so it is never cut off half-way through writing a
    checkpoint) and the interrupt goes on to the caller.
    """
    proc = multiprocessing.get_context("spawn").Process(target=target, args=(job,), name=name)
    proc.start()
    try:
        proc.join()
    except KeyboardInterrupt:
        proc.terminate()
        proc.join()
        raise
    return proc.exitcode


def _attempt(job: Job) -> dict:
    """One try at a run, in a fresh spawned process: clean peak memory, no inherited CUDA state."""
    job.record_path.unlink(missing_ok=True)
    started = time.perf_counter()
    exitcode = run_in_fresh_process(execute, job, f"bench-{job.runner_name}-seed{job.seed}")
    record = read_record(job.record_path)
    if record is None:  # killed, segfault, out of host memory: the worker could not say so itself
        reason = f"worker process exited with code {exitcode} before writing its record"
        record = failure_record(job, "failed", reason, time.perf_counter() - started)
        write_record(job.record_path, record)
    return record
