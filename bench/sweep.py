"""Plan a suite's runs, skip finished ones, run each in a fresh process, and keep the table current."""

from __future__ import annotations

import multiprocessing
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.config import SuiteConfig
from bench.errors import BenchError
from bench.records import read_record, rebuild_table, write_record
from bench.runners import RUNNERS, build_runner
from bench.worker import Job, execute, failure_record


@dataclass(frozen=True)
class Plan:
    jobs: tuple[Job, ...]
    skipped: tuple[Job, ...]


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
        jobs += [Job(suite, name, runner, seed, results, data_dir, limit) for seed in suite.seeds]
    todo, skipped = [], []
    for job in jobs:
        record = read_record(job.record_path)
        done = record is not None and record.get("status") == "ok"
        (skipped if done and not overwrite else todo).append(job)
    return Plan(tuple(todo), tuple(skipped))


def check_writable(results: Path) -> None:
    try:
        results.mkdir(parents=True, exist_ok=True)
        probe = results / ".bench-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise BenchError(f"cannot write to results dir {results} ({err.strerror}); pass --results DIR") from None


def run_jobs(the_plan: Plan, out=sys.stdout) -> list[dict]:
    """Run each job in a spawned process; a crash becomes a `failed` record and the sweep goes on."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: clean peak memory, no inherited CUDA state
    total = len(the_plan.jobs)
    finished = []
    for i, job in enumerate(the_plan.jobs, 1):
        print(
            f"\n[run {i}/{total}] {job.runner_name} · seed {job.seed} — {job.runner.describe()}", file=out, flush=True
        )
        job.record_path.unlink(missing_ok=True)
        started = time.perf_counter()
        proc = ctx.Process(target=execute, args=(job,), name=f"bench-{job.runner_name}-seed{job.seed}")
        proc.start()
        try:
            proc.join()
        except KeyboardInterrupt:
            proc.terminate()
            proc.join()
            rebuild_table(job.results, job.suite.name)
            raise
        record = read_record(job.record_path)
        if record is None:  # killed, segfault, out of host memory: the worker could not say so itself
            reason = f"worker process exited with code {proc.exitcode} before writing its record"
            record = failure_record(job, "failed", reason, time.perf_counter() - started)
            write_record(job.record_path, record)
        rebuild_table(job.results, job.suite.name)
        finished.append(record)
        if record["status"] == "ok":
            print(
                f"[run {i}/{total}] done: accuracy {record['accuracy']:.4f}, {record['wall_s']:.0f} s",
                file=out,
                flush=True,
            )
        else:
            print(f"[run {i}/{total}] {record['status']}: {record.get('error')}", file=out, flush=True)
    return finished
