"""Plan a suite's runs, skip finished ones, run each in a fresh process, and keep the table current."""

from __future__ import annotations

import dataclasses
import queue
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from bench.config import SuiteConfig
from bench.errors import BenchError
from bench.launch.local import AS_IS, STOP, Placement, launch_with_retries, stop_all
from bench.launch.progress import SweepProgress
from bench.results.store import read_record, rebuild_table
from bench.runners import RUNNERS, EstimatorRunner, build_runner, run_name
from bench.train.checkpoints import discard as discard_checkpoints
from bench.train.console import duration
from bench.train.distributed import Distributed
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
    distributed: Distributed | None = None,
    random_init: bool = False,
) -> Plan:
    """The (runner, seed) jobs to run, in order; runs with an `ok` record are skipped unless `overwrite`.

    `distributed`: train each transformer run on several processes (a scikit-learn runner runs in one); refused in
    one line when the processes cannot make up the suite's effective batch exactly. `random_init` builds every
    pretrained runner with random weights (recorded under `run_name`'s suffixed name)."""
    check_installed(suite.report_to)
    if distributed is not None and distributed.world_size > 1:
        distributed.check(suite.protocol)
    else:
        distributed = None
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
        spread = None if isinstance(runner, EstimatorRunner) else distributed
        jobs += [
            Job(suite, run_name(name, runner), runner, seed, results, data_dir, limit, distributed=spread)
            for seed in suite.seeds
        ]
    todo, skipped = [], []
    for job in jobs:
        record = read_record(job.record_path)
        done = record is not None and record.get("status") == "ok"
        (skipped if done and not overwrite else todo).append(job)
    return Plan(tuple(todo), tuple(skipped), overwrite)


def run_jobs(the_plan: Plan, out=None, slots: Sequence[Placement] = (AS_IS,), verbose: bool = False) -> list[dict]:
    """Run each job in a spawned process, holding the run's lock; a crash becomes a `failed` record, and the sweep
    goes on. A run that runs out of memory is retried with half the micro-batch (same effective batch).

    The console gets a few lines per run (its start, one per epoch, its result and the sweep's progress with the
    time left); each run's full output goes to `seed<k>.log` beside its record, echoed to the console as well when
    `verbose`. With several `slots` (one per GPU, or CPU shares), that many runs train at once, each worker placed in
    a free slot, and the console says which run is where."""
    out = out or sys.stdout
    STOP.clear()
    total = len(the_plan.jobs)
    progress = SweepProgress([job.runner_name for job in the_plan.jobs])
    if len(slots) <= 1:
        slot = dataclasses.replace(slots[0] if slots else AS_IS, verbose=verbose)
        done = (
            run_one(job, the_plan.overwrite, f"[run {i}/{total}]", slot, out, progress)
            for i, job in enumerate(the_plan.jobs, 1)
        )
        return [record for record in done if record is not None]
    free: queue.Queue[Placement] = queue.Queue()
    for slot in slots:
        free.put(dataclasses.replace(slot, share=len(slots), verbose=verbose))

    def one(i: int, job: Job) -> dict | None:
        slot = free.get()
        try:
            return run_one(job, the_plan.overwrite, f"[run {i}/{total} · {slot.device}]", slot, out, progress)
        finally:
            free.put(slot)

    pool = ThreadPoolExecutor(len(slots), thread_name_prefix="bench-slot")
    futures = [pool.submit(one, i, job) for i, job in enumerate(the_plan.jobs, 1)]
    try:
        records = [f.result() for f in futures]
    except KeyboardInterrupt:
        stop_all()  # the running workers stop (keeping their checkpoints), the waiting ones never start
        pool.shutdown(cancel_futures=True)
        raise
    pool.shutdown()
    return [record for record in records if record is not None]


_table_lock = threading.Lock()  # runs finishing at once must not write the table from stale reads


def run_one(
    job: Job, overwrite: bool, tag: str, placement: Placement = AS_IS, out=None, progress: SweepProgress | None = None
) -> dict | None:
    """One run under its lock, with out-of-memory retries; its record, or None when another process has it (running
    or just finished). The table is rebuilt after it. The worker says on the console that it starts (with `tag`);
    everything else it writes goes to its log beside the record."""
    out = out or sys.stdout
    title = f"{tag} {job.runner_name} · seed {job.seed}"
    progress = progress or SweepProgress([job.runner_name])
    lock = FileLock(job.lock_path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        print(f"{title}: skipped: another bench process is running it right now", file=out, flush=True)
        with _table_lock:
            progress.skipped(job.runner_name)
        return None
    started = time.perf_counter()
    try:
        record = read_record(job.record_path)
        if record is not None and record.get("status") == "ok" and not overwrite:
            print(f"{title}: skipped: another bench process has just finished it", file=out, flush=True)
            with _table_lock:
                progress.skipped(job.runner_name)
            return None
        if overwrite:
            discard_checkpoints(job.checkpoints)
            job.log_path.unlink(missing_ok=True)
        placed = dataclasses.replace(placement, log=job.log_path, title=title)
        record = _run_with_oom_retries(job, tag, out, placed)
    finally:
        lock.release()
    if record["status"] == "elsewhere":
        print(f"{tag} done here; {record['error']}", file=out, flush=True)
        return None
    with _table_lock:
        rebuild_table(job.results, job.suite.name)
        progress.finished(job.runner_name, time.perf_counter() - started)
        line = progress.line()
    if record["status"] == "ok":
        result = f"{tag} done: accuracy {record['accuracy']:.4f} in {duration(record['wall_s'])}"
    else:
        result = f"{tag} {record['status']}: {record.get('error')} · log: {job.log_path}"
    print(f"{result} · {line}", file=out, flush=True)
    return record


def _run_with_oom_retries(job: Job, tag: str, out, placement: Placement) -> dict:
    def say(old: Job, new: Job) -> None:
        before, after = old.suite.protocol, new.suite.protocol
        print(
            f"{tag} out of memory at micro-batch {before.per_device_batch_size}; retrying with micro-batch "
            f"{after.per_device_batch_size} x {new.accumulation_steps} accumulation steps (effective batch "
            f"{after.batch_size}, unchanged)",
            file=out,
            flush=True,
        )

    return launch_with_retries(job, say, placement)
