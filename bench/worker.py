"""One run, executed in its own fresh process: train, evaluate, write the record and predictions."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.checkpoints import discard as discard_checkpoints
from bench.checkpoints import epoch_of
from bench.checkpoints import prepare as prepare_checkpoints
from bench.config import SuiteConfig, to_dict
from bench.records import checkpoint_dir, predictions_path, record_path, write_record
from bench.runners import Runner


@dataclass(frozen=True)
class Job:
    """Everything a worker process needs, picklable."""

    suite: SuiteConfig
    runner_name: str
    runner: Runner
    seed: int
    results: Path
    data_dir: Path | None = None
    limit: int | None = None
    oom_retries: int = 0  # how many times the micro-batch was halved after running out of memory

    @property
    def record_path(self) -> Path:
        return record_path(self.results, self.suite.name, self.runner_name, self.seed)


def base_record(job: Job) -> dict[str, Any]:
    """The identifying part of a record, shared by finished and failed runs."""
    return {
        "suite": job.suite.name,
        "runner": job.runner_name,
        "seed": job.seed,
        "model_family": job.runner.family,
        "model_id": getattr(job.runner, "model_id", None),
        "max_length": job.runner.max_length,
        "attention_window": job.runner.attention_window,
        "truncation": job.runner.truncation,
        "oom_retries": job.oom_retries,
        "config": {
            "suite": to_dict(job.suite),
            "runner": {"name": job.runner_name, "class": type(job.runner).__qualname__, **job.runner.params()},
            "limit": job.limit,
            "data_dir": str(job.data_dir) if job.data_dir else None,
        },
    }


def failure_record(job: Job, status: str, error: str, wall_s: float | None = None) -> dict[str, Any]:
    return {**base_record(job), "status": status, "error": error, "wall_s": wall_s, "finished_at": _now()}


def fingerprint(job: Job) -> dict[str, Any]:
    """What a run's checkpoints depend on: resuming is only allowed into the very same run."""
    config = base_record(job)["config"]
    return {"config": config, "seed": job.seed, "runner": job.runner_name}


def execute(job: Job) -> None:
    """Worker entry point (runs in a spawned process)."""
    # Ctrl-C reaches the whole process group; the parent decides what happens to this run (it stops it and keeps
    # the epoch checkpoints), so the worker must not die half-way through writing one.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    from bench.data import load_suite_data
    from bench.host import environment
    from bench.runners import EstimatorRunner

    if isinstance(job.runner, EstimatorRunner):  # scikit-learn runners: the same protocol, without a Trainer
        from bench.estimator import train_and_evaluate  # and without torch, so its memory is its own
    else:
        import transformers

        from bench.protocol import train_and_evaluate

        transformers.logging.set_verbosity_warning()
    started = time.perf_counter()
    checkpoints = checkpoint_dir(job.results, job.suite.name, job.runner_name, job.seed)
    resumed_from_epoch = None
    try:
        resume_from, note = prepare_checkpoints(checkpoints, fingerprint(job))
        if note:
            print(f"note: {note}", flush=True)
        if resume_from is not None:
            resumed_from_epoch = epoch_of(resume_from)
            print(f"resuming from the checkpoint after epoch {resumed_from_epoch} ({resume_from})", flush=True)
        data = load_suite_data(job.suite, job.data_dir, job.limit)
        metrics, predictions = train_and_evaluate(
            job.runner, data, job.suite.protocol, job.seed, checkpoints, resume_from
        )
    except Exception as err:
        if not _out_of_memory(err):
            traceback.print_exc()
            write_record(job.record_path, failure_record(job, "failed", _last_line(err), time.perf_counter() - started))
            raise SystemExit(1) from None
        write_record(job.record_path, failure_record(job, "oom", _last_line(err), time.perf_counter() - started))
        print(f"out of memory: {_last_line(err)}", flush=True)
        raise SystemExit(3) from None
    import pandas as pd

    path = predictions_path(job.results, job.suite.name, job.runner_name, job.seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(predictions).to_csv(path.with_suffix(".tmp"), index=False)
    path.with_suffix(".tmp").replace(path)
    record = {
        **base_record(job),
        "status": "ok",
        "error": None,
        **metrics,
        "resumed_from_epoch": resumed_from_epoch,
        "label_names": list(data.label_names),
        "device": _device(),
        "wall_s": time.perf_counter() - started,
        "environment": environment(),
        "finished_at": _now(),
    }
    write_record(job.record_path, record)  # written last: a record on disk means the run is complete
    discard_checkpoints(checkpoints)  # a finished run needs none; an interrupted one keeps them for resuming


def _out_of_memory(err: BaseException) -> bool:
    torch = sys.modules.get("torch")  # only a run that imported torch can run out of CUDA memory
    return torch is not None and isinstance(err, torch.OutOfMemoryError)


def _device() -> str:
    torch = sys.modules.get("torch")
    return "cuda" if torch is not None and torch.cuda.is_available() else "cpu"


def _exit_with_parent() -> None:
    """Stop when the sweep that started this run dies (e.g. SIGKILL): its lock on the run is gone with it, and an
    orphaned worker would race the rerun that resumes it."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(75)

    threading.Thread(target=watch, name="bench-parent-watch", daemon=True).start()


def _last_line(err: BaseException) -> str:
    lines = [line for line in str(err).strip().splitlines() if line.strip()]
    return f"{type(err).__name__}: {lines[-1] if lines else ''}".strip()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
