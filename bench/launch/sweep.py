"""Plan a suite's runs, skip finished ones, run each in a fresh process, and keep the table current."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from bench.config import SuiteConfig
from bench.errors import BenchError
from bench.launch.local import launch_with_retries
from bench.results.store import lock_path, read_record, rebuild_table
from bench.runners import RUNNERS, build_runner, run_name
from bench.train.checkpoints import discard as discard_checkpoints
from bench.train.job import Job
from bench.train.tracking import check_installed


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
    random_init: bool = False,
) -> Plan:
    """The (runner, seed) jobs to run, in order; runs with an `ok` record are skipped unless `overwrite`.
    `random_init` builds every pretrained runner with random weights (recorded under `run_name`'s suffixed name)."""
    check_installed(suite.report_to)
    refs = {ref.name: ref for ref in suite.runners}
    names = runners or list(refs)
    jobs = []
    for name in names:
        ref = refs.get(name)
        if ref is None and name not in RUNNERS:
            raise BenchError(RUNNERS.unknown_message(name) + f" Suite '{suite.name}' runs: {', '.join(refs)}.")
        runner = build_runner(ref.runner if ref else name, ref.params if ref else None, random_init)
        try:
            runner.check_supported()
        except BenchError as err:
            raise BenchError(f"runner '{name}': {err}") from None
        jobs += [Job(suite, run_name(name, runner), runner, seed, results, data_dir, limit) for seed in suite.seeds]
    todo, skipped = [], []
    for job in jobs:
        record = read_record(job.record_path)
        done = record is not None and record.get("status") == "ok"
        (skipped if done and not overwrite else todo).append(job)
    return Plan(tuple(todo), tuple(skipped), overwrite)


def run_jobs(the_plan: Plan, out=None) -> list[dict]:
    """Run each job in a spawned process, holding the run's lock; a crash becomes a `failed` record, and the sweep
    goes on. A run that runs out of memory is retried with half the micro-batch (same effective batch)."""
    out = out or sys.stdout
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
                discard_checkpoints(job.checkpoints)
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


def _run_with_oom_retries(job: Job, tag: str, out) -> dict:
    def say(old: Job, new: Job) -> None:
        before, after = old.suite.protocol, new.suite.protocol
        print(
            f"{tag} out of memory at micro-batch {before.per_device_batch_size}; retrying with micro-batch "
            f"{after.per_device_batch_size} x {after.gradient_accumulation_steps} accumulation steps (effective batch "
            f"{after.batch_size}, unchanged)",
            file=out,
            flush=True,
        )

    return launch_with_retries(job, say)
