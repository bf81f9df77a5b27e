"""Where each run of a suite stands: finished (ok, failed, oom), training now (its lock is held), interrupted (its
epoch checkpoints wait to be resumed) or pending; and the scheduler job it was last submitted as."""

from __future__ import annotations

from filelock import FileLock, Timeout

from bench.launch.slurm import submitted
from bench.launch.sweep import Plan
from bench.results.store import read_record
from bench.train import checkpoints


def _locked(job) -> bool:
    """Whether another process holds the run's lock. The probe holds it for an instant when it is free."""
    lock = FileLock(job.lock_path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False


def run_states(the_plan: Plan) -> list[dict]:
    """One row per planned run (finished or not): runner, seed, state, detail, host and scheduler job."""
    rows = []
    jobs = sorted(the_plan.jobs + the_plan.skipped, key=lambda j: (j.runner_name, j.seed))
    scheduled = submitted(jobs[0].results, jobs[0].suite.name) if jobs else {}
    for job in jobs:
        record = read_record(job.record_path) or {}
        latest = checkpoints.latest(job.checkpoints) if job.checkpoints.is_dir() else None
        if job.lock_path.exists() and _locked(job):
            state = "running"
            detail = f"after epoch {checkpoints.epoch_of(latest)}" if latest else "before its first checkpoint"
        elif record.get("status"):
            state = record["status"]
            ok = state == "ok" and record.get("accuracy") is not None
            detail = f"accuracy {record['accuracy']:.4f}" if ok else str(record.get("error") or "")
        elif latest is not None:
            state, detail = "interrupted", f"resumes from epoch {checkpoints.epoch_of(latest)}"
        else:
            state, detail = "pending", ""
        rows.append(
            {
                "runner": job.runner_name,
                "seed": job.seed,
                "state": state,
                "detail": detail,
                "host": record.get("host") or "",
                "job": scheduled.get(f"{job.runner_name}/seed{job.seed}", ""),
            }
        )
    return rows
