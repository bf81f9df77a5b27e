"""Sweeps on a cluster through submitit: one Slurm array job for a suite's pending runs (`--executor slurm`), or the
very same submission run by submitit's local executor on this machine (`--executor local`, what the tests use).

Each array task runs one (runner, seed) exactly as `bench run` does here (`sweep.run_one`: its lock, a fresh worker
process, out-of-memory retries, a failure record). When Slurm preempts a task or its time runs out, submitit calls
`RunTask.checkpoint`, which requeues the same run; it resumes from its last epoch checkpoint.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.launch.local import AS_IS
from bench.launch.options import ClusterOptions
from bench.launch.sweep import Plan, run_one
from bench.results.files import atomic_write_text
from bench.results.schema import FAILED, RunRecord
from bench.results.store import ResultStore, read_json
from bench.tasks import task_for
from bench.train.job import Job


class RunTask:
    """One array task: a (runner, seed) run. submitit pickles it to the node, calls it, and on preemption or time-out
    calls `checkpoint` for what to requeue."""

    def __init__(self, job: Job, overwrite: bool = False, restart: bool | None = None) -> None:
        self.job = job
        self.overwrite = overwrite
        self.restart = overwrite if restart is None else restart

    def __call__(self) -> RunRecord | None:
        tag = f"[{self.job.runner_name} · seed {self.job.seed}]"
        return run_one(self.job, self.overwrite, tag, AS_IS, sys.stdout, restart=self.restart)

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """The same try again: it resumes from its last epoch checkpoint (an `--overwrite` try goes on overwriting,
        without starting afresh a second time)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(RunTask(self.job, overwrite=self.overwrite, restart=False))


def _submitit():
    try:
        import submitit
    except ImportError:
        raise BenchError(
            "--executor slurm/local needs submitit: pip install 'longdoc-bench[slurm]' (or pip install submitit)"
        ) from None
    return submitit


def submit(the_plan: Plan, options: ClusterOptions, out=None) -> list[Any]:
    """Submit the plan's runs as one array job; the scheduler's jobs, in the plan's order."""
    out = out or sys.stdout
    if not the_plan.jobs:
        return []
    submitit = _submitit()
    first = the_plan.jobs[0]
    folder = first.store.scheduler_dir(first.suite.name)
    executor = submitit.AutoExecutor(folder=folder, cluster=options.executor)
    try:
        executor.update_parameters(**options.parameters(f"bench-{first.suite.name}"))
    except NameError as err:  # submitit's answer to a parameter it does not know
        raise BenchError(f"submitit refused a parameter: {str(err).splitlines()[0]}") from None
    tasks = [RunTask(job, the_plan.overwrite) for job in the_plan.jobs]
    try:
        with executor.batch():
            pending = [executor.submit(task) for task in tasks]
    except (FileNotFoundError, submitit.core.utils.FailedJobError) as err:
        raise BenchError(f"could not submit to {options.executor}: {err}; run bench on a Slurm login node") from None
    _remember(folder, the_plan.jobs, pending)
    ids = sorted({j.job_id.split("_")[0] for j in pending})
    print(f"submitted {len(pending)} run(s) to {options.executor} as job {', '.join(ids)} (logs: {folder})", file=out)
    return pending


def wait(the_plan: Plan, pending: Sequence[Any], out=None) -> list[RunRecord]:
    """Wait for submitted runs (`submit(the_plan, ...)`) and return their records as they finish."""
    out = out or sys.stdout
    submitit = _submitit()
    records = []
    by_id = {id(p): job for p, job in zip(pending, the_plan.jobs, strict=True)}
    for done in submitit.helpers.as_completed(pending, poll_frequency=1):
        job = by_id[id(done)]
        tag = f"[{job.runner_name} · seed {job.seed} · job {done.job_id}]"
        try:
            record = done.result()
        except Exception as err:  # the task itself died (node failure, cancelled): what the run left on disk says
            record = job.store.read(job.run_key) or job.failure_record(FAILED, str(err).strip().splitlines()[-1])
        if record is None:
            print(f"{tag} skipped: another bench process ran it", file=out, flush=True)
            continue
        records.append(record)
        if record.ok:
            print(f"{tag} done: {task_for(record.task).describe(record)}, {record.wall_s:.0f} s", file=out, flush=True)
        else:
            print(f"{tag} {record.status}: {record.error}", file=out, flush=True)
    return records


def _remember(folder: Path, jobs: Sequence[Job], pending: Sequence[Any]) -> None:
    """Which scheduler job runs which (runner, seed), for `bench status`."""
    path = folder / "submitted.json"
    known = read_json(path) or {}
    for job, task in zip(jobs, pending, strict=True):
        known[job.run_key.label] = task.job_id
    atomic_write_text(path, json.dumps(known, indent=2) + "\n")


def submitted(store: ResultStore, suite: str) -> dict[str, str]:
    """`RunKey.label` -> the scheduler job id it was last submitted as."""
    return read_json(store.scheduler_dir(suite) / "submitted.json") or {}
