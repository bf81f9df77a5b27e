"""Where each run of a suite stands: finished (ok, failed, oom), stale (finished with another configuration),
training now (its lock is held), interrupted (its epoch checkpoints wait to be resumed) or pending; and the
scheduler job it was last submitted as."""

from __future__ import annotations

from typing import Any

from bench.data.tune import validation_score
from bench.launch.slurm import submitted
from bench.launch.sweep import Plan
from bench.results.schema import OK
from bench.tasks import task_for
from bench.train import checkpoints


def run_states(the_plan: Plan) -> list[dict]:
    """One row per planned run (finished or not): runner, seed, state, detail, host and scheduler job. Reads only:
    a lock is asked who holds it (its owner file), never taken, so a run starting this instant is not disturbed."""
    rows = []
    stale = {job.run_key: changed for job, changed in the_plan.stale}
    deferred = [item.base for item, _ in the_plan.deferred]  # a tuned run whose grid has not all finished
    jobs = sorted(
        [*the_plan.jobs, *the_plan.skipped, *(job for job, _ in the_plan.stale), *deferred], key=lambda j: j.run_key
    )
    scheduled = submitted(jobs[0].store, jobs[0].suite.name) if jobs else {}
    for job in jobs:
        store, key = job.store, job.run_key
        record = store.read(key)
        latest = checkpoints.latest(job.checkpoints) if job.checkpoints.is_dir() else None
        owner = store.lock_owner(key)
        if owner is not None:
            state = "running"
            detail = f"after epoch {checkpoints.epoch_of(latest)}" if latest else "before its first checkpoint"
            detail += f" (pid {owner.get('pid')} on {owner.get('host')})"
        elif key in stale:
            state, detail = "stale", "finished with another configuration: " + "; ".join(stale[key])
        elif record is not None and job.point and record.ok:  # a grid point: validation only
            metric = job.suite.protocol.metric_for_best_model
            score = validation_score(record.epochs, record.best_epoch, metric)
            state, detail = record.status, f"val {metric} {score:.4f}" if score is not None else ""
        elif job in deferred:
            state, detail = "pending", "selected on validation once its grid points have finished"
        elif record is not None:
            state = record.status
            detail = task_for(record.task).describe(record) if state == OK else str(record.error or "")
        elif latest is not None:
            state, detail = "interrupted", f"resumes from epoch {checkpoints.epoch_of(latest)}"
        else:
            state, detail = "pending", ""
        rows.append(
            {
                "runner": f"{job.runner_name} · tuning {job.point}" if job.point else job.runner_name,
                "seed": job.seed,
                "state": state,
                "detail": detail,
                "host": (record.host if record else None) or "",
                "job": scheduled.get(key.label, ""),
            }
        )
    return rows


def status_document(suite: str, results: Any, rows: list[dict]) -> dict:
    """`bench status --json`. Keys: `suite`, `results` (the folder), `runs` (one per planned run: runner, seed,
    state, detail, host, job; state is one of ok, failed, oom, running, interrupted, pending, stale), `counts`
    (state -> number of runs), `complete` (every run finished ok)."""
    from collections import Counter

    counts = dict(Counter(row["state"] for row in rows).most_common())
    keys = ("runner", "seed", "state", "detail", "host", "job")
    runs = [{key: row.get(key) for key in keys} for row in rows]
    complete = bool(rows) and set(counts) == {OK}
    return {"suite": suite, "results": str(results), "runs": runs, "counts": counts, "complete": complete}
