"""Tuning on a suite's grid: each point a run of its own (validation only), then per runner and seed the point best
on validation, trained once more as the suite's run, the only one that touches test. Each seed selects on its own
grid: the selection is part of the runner's method, and the report pools a tuned runner's seeds whatever each chose
(docs/tuning.md says why).

Why train the selected point again rather than test its kept checkpoint: a finished run drops its checkpoints, and
keeping every point's best one would cost a checkpoint per point on disk until selection; the selected run is then an
ordinary run (same code, same record, same resuming, its own memory, throughput and energy measurements, test pass
included), with the same seed and settings as the point, so it trains the same model (bit for bit on a CPU; on a GPU
up to non-deterministic kernels). Its record says which point it is and what the grid cost (`tuning_train_s`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from bench.config import AUTO
from bench.data.tune import points, select, validation_score
from bench.results.key import differences
from bench.results.store import point_name
from bench.train.job import Job


@dataclass(frozen=True)
class Pending:
    """A tuned (runner, seed): its grid's point jobs, in grid order, and the suite's run they select for."""

    base: Job  # the suite's own run, at the suite's protocol; its key holds the grid
    points: tuple[Job, ...]
    values: tuple[dict[str, Any], ...]


def grid_key(key: dict[str, Any], grid: dict[str, tuple]) -> dict[str, Any]:
    """The configuration key of a tuned suite's run: its own, and the grid it was chosen from."""
    return {**key, "tune": {name: list(values) for name, values in grid.items()}}


def pending(base: Job, key_of) -> Pending:
    """The point jobs of `base` (a transformer run of a tuned suite). `key_of(suite)`: a suite's configuration key
    for this runner (the point's values are in its protocol, so in its key)."""
    grid = base.suite.tune
    jobs, values = [], []
    for point in points(grid):
        suite = base.suite.replace(protocol=dataclasses.replace(base.suite.protocol, **point))
        jobs.append(dataclasses.replace(base, suite=suite, point=point_name(point), key=key_of(suite)))
        values.append(point)
    return Pending(base, tuple(jobs), tuple(values))


def untuned_note(grid: dict[str, tuple]) -> dict[str, Any]:
    """The record fields of a runner the grid does not apply to (a scikit-learn runner: it ignores the protocol's
    training settings, so every point would be the same run)."""
    names = ", ".join(grid)
    return {"tuning_note": f"not tuned: a scikit-learn runner ignores {names}; trained once"}


def resolve(item: Pending, key_of) -> Job | str:
    """The suite's run of the point best on validation (the suite's metric_for_best_model at each point's kept
    epoch; a tie goes to the first in grid order), carrying the choice and the grid's cost; or why there is none
    (a point without a finished record)."""
    metric = item.base.suite.protocol.metric_for_best_model
    records = [job.store.read(job.run_key) for job in item.points]
    missing = [job.point for job, r in zip(item.points, records, strict=True) if r is None or not r.ok]
    if missing:
        return f"grid point(s) {', '.join(missing)} did not finish"
    scores = [validation_score(r.epochs, r.best_epoch, metric) for r in records]
    best = select(scores, metric)
    if best is None:
        return f"no grid point recorded a validation {metric}"
    chosen = item.values[best]
    protocol = dataclasses.replace(item.base.suite.protocol, **chosen)
    # `auto` batches: the rerun trains at the micro-batch (and evaluates at the batch) its point was probed to, not
    # at a fresh probe's, which could split the effective batch otherwise and so train another model (issue 27);
    # these settings are not in the key, so the rerun is still the same configuration
    point = records[best]
    pinned = {}
    if protocol.per_device_batch_size == AUTO and point.micro_batch_size:
        pinned.update(per_device_batch_size=point.micro_batch_size)
        pinned.update(gradient_checkpointing=bool(point.gradient_checkpointing))
    if protocol.eval_batch_size == AUTO and point.eval_batch_size:
        pinned.update(eval_batch_size=point.eval_batch_size)
    suite = item.base.suite.replace(protocol=dataclasses.replace(protocol, **pinned))
    shown = ", ".join(
        f"{job.point} {s:.4f}" if s is not None else f"{job.point} —"
        for job, s in zip(item.points, scores, strict=True)
    )
    tuning = {
        "tuned": dict(chosen),
        "tuning_points": len(item.points),
        "tuning_train_s": _total(r.train_s for r in records),  # the budget adds it to the run's own training
        "tuning_wall_s": _total(r.wall_s for r in records),
        "tuning_note": f"chosen on validation {metric} at each point's kept epoch ({shown}); "
        f"{'lowest' if metric == 'loss' else 'highest'} wins, a tie goes to the first in grid order"
        + (f"; trained at the batches its point was probed to ({point.probe})" if pinned else ""),
    }
    key = grid_key(key_of(suite), suite.tune)
    return dataclasses.replace(item.base, suite=suite, key=key, tuning=tuning)


def _total(seconds) -> float | None:
    """The points' times summed; None where a point did not measure its own (a grid's cost is never understated)."""
    values = list(seconds)
    return None if any(v is None or v <= 0 for v in values) else float(sum(values))


def classify(job: Job, overwrite: bool) -> tuple[str, ...] | bool:
    """True: run it; False: finished with the same key (skip it); a tuple: finished with another key (what
    differs)."""
    record = job.store.read(job.run_key)
    if record is None or not record.ok or overwrite:
        return True
    changed = differences(record.config_key, job.key)
    if job.tuning and "tuned" in job.tuning and record.tuned != job.tuning["tuned"]:
        changed.append(f"tuned {record.tuned or 'not tuned'} -> {job.tuning['tuned']}")
    return tuple(changed) if changed else False


def stale_before_selection(item: Pending, overwrite: bool) -> tuple[str, ...]:
    """What makes the (runner, seed)'s finished run another configuration, seen before its grid has run: any
    setting but the tuned ones (not chosen yet), or the grid itself. Empty where it may still be the same run."""
    record = item.base.store.read(item.base.run_key)
    if record is None or not record.ok or overwrite:
        return ()
    stored, wanted = dict(record.config_key or {}), dict(item.base.key or {})
    for key in (stored, wanted):
        key["protocol"] = {k: v for k, v in (key.get("protocol") or {}).items() if k not in item.base.suite.tune}
    changed = differences(stored, wanted)
    if "tune" not in stored:
        changed.append("not tuned -> tuned on the grid")
    return tuple(changed)
