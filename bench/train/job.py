"""One run of a suite, (runner, seed), as a job `bench.launch.local` runs in a fresh process: prepare or resume its
checkpoints, load the data, train and evaluate under the protocol (in this process, or in the ranks it starts for a
distributed run), write the predictions and then the record."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import ProtocolConfig, SuiteConfig, to_dict
from bench.host import (
    EXIT_ELSEWHERE,
    claim_cpus,
    device_kind,
    device_label,
    environment,
    exit_with_parent,
    now,
    pin_one_gpu,
    release_cpus,
)
from bench.results.schema import RunRecord
from bench.results.store import (
    checkpoint_dir,
    lock_path,
    log_path,
    predictions_path,
    record_path,
    tensorboard_dir,
    write_record,
)
from bench.runners import EstimatorRunner, Runner
from bench.train import checkpoints, console
from bench.train.distributed import Distributed, launch_ranks, rank, record_rank_error
from bench.train.tracking import Tracking


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
    distributed: Distributed | None = None  # several processes per run (torch's elastic launcher)

    @property
    def world_size(self) -> int:
        return self.distributed.world_size if self.distributed else 1

    @property
    def accumulation_steps(self) -> int:
        """Micro-batches per optimizer step on each process: the effective batch is micro x processes x this."""
        protocol = self.suite.protocol
        return protocol.batch_size // (protocol.per_device_batch_size * self.world_size)

    @property
    def record_path(self) -> Path:
        return record_path(self.results, self.suite.name, self.runner_name, self.seed)

    @property
    def log_path(self) -> Path:
        return log_path(self.results, self.suite.name, self.runner_name, self.seed)

    @property
    def checkpoints(self) -> Path:
        return checkpoint_dir(self.results, self.suite.name, self.runner_name, self.seed)

    @property
    def lock_path(self) -> Path:
        """The run's lock; a run on several machines takes one per machine, since all of them train it together."""
        path = lock_path(self.results, self.suite.name, self.runner_name, self.seed)
        if self.distributed is not None and self.distributed.nnodes > 1:
            return path.with_name(f"seed{self.seed}.{socket.gethostname()}.lock")
        return path

    @property
    def process_name(self) -> str:
        return f"bench-{self.runner_name}-seed{self.seed}"

    def identity(self) -> dict[str, Any]:
        """The record fields that say which run this is, shared by finished and failed runs."""
        return {
            "suite": self.suite.name,
            "runner": self.runner_name,
            "seed": self.seed,
            "model_family": self.runner.family,
            "model_id": getattr(self.runner, "model_id", None),
            "init": self.runner.init,
            "max_length": self.runner.max_length,
            "attention_window": self.runner.attention_window,
            "truncation": self.runner.truncation,
            "oom_retries": self.oom_retries,
            "world_size": self.world_size,
            "host": socket.gethostname(),
            "config": {
                "suite": to_dict(self.suite),
                "runner": {"name": self.runner_name, "class": type(self.runner).__qualname__, **self.runner.params()},
                "limit": self.limit,
                "data_dir": str(self.data_dir) if self.data_dir else None,
                "world_size": self.world_size,
            },
        }

    def failure_record(self, status: str, error: str, wall_s: float | None = None) -> RunRecord:
        return RunRecord(**self.identity(), status=status, error=error, wall_s=wall_s, finished_at=now())

    def fingerprint(self) -> dict[str, Any]:
        """What a run's checkpoints depend on: resuming is only allowed into the very same run. The trackers it
        reports to only watch it, and the published references are only shown by the report, so both are left out:
        adding one keeps the checkpoints."""
        config = self.identity()["config"]
        suite = {key: value for key, value in config["suite"].items() if key not in ("report_to", "references")}
        return {"config": {**config, "suite": suite}, "seed": self.seed, "runner": self.runner_name}

    def tracking(self) -> Tracking | None:
        """What this run tells the suite's experiment trackers; None when it reports to none."""
        if not self.suite.report_to:
            return None
        folder = tensorboard_dir(self.results, self.suite.name, self.runner_name, self.seed)
        name = f"{self.suite.name}/{self.runner_name}/seed{self.seed}"
        return Tracking(self.suite.report_to, name, folder, self.identity()["config"])

    def smaller(self) -> Job | None:
        """After running out of memory: the same run with half the micro-batch and twice the accumulation, so the
        effective batch and the protocol are unchanged; None below a micro-batch of 1."""
        protocol = self.suite.protocol
        size = smaller_micro_batch(protocol, self.world_size)
        if size is None:
            return None
        smaller = dataclasses.replace(
            protocol, per_device_batch_size=size, eval_batch_size=max(1, protocol.eval_batch_size // 2)
        )
        return dataclasses.replace(self, suite=self.suite.replace(protocol=smaller), oom_retries=self.oom_retries + 1)

    def run(self) -> None:
        """In the worker: train and evaluate, write the predictions, then the record (last: a record on disk means
        the run is complete), then drop the checkpoints a finished run no longer needs."""
        started = time.perf_counter()
        if isinstance(self.runner, EstimatorRunner):
            device = "cpu · scikit-learn"
        elif self.world_size == 1:
            pin_one_gpu()  # before anything initialises CUDA (device_label asks torch whether there is a GPU)
            device = device_label()
        else:  # the ranks pick their devices; this process must not initialise CUDA
            device = f"{self.world_size} processes"
        name = console.title() or f"{self.runner_name} · seed {self.seed}"
        console.say(f"{name} · {device} — {self.runner.describe()}")
        resume_from, note = checkpoints.prepare(self.checkpoints, self.fingerprint())
        if note:
            console.say(f"  note: {note}")
        resumed_from_epoch = None
        if resume_from is not None:
            resumed_from_epoch = checkpoints.epoch_of(resume_from)
            console.say(f"  resuming from the checkpoint after epoch {resumed_from_epoch} ({resume_from})")
        tracking = self.tracking()
        if tracking and resume_from is None:  # a run started afresh starts a fresh event history; a resumed one adds
            shutil.rmtree(tracking.tensorboard_dir, ignore_errors=True)
        if self.world_size == 1:
            result = self.train(resume_from)
        else:  # the ranks set their own device, and claim this machine's CPUs among themselves
            release_cpus()
            run_id = f"{self.suite.name}-{self.runner_name}-seed{self.seed}"
            result = launch_ranks(self.distributed, run_id, _rank_main, (self, resume_from), self.record_path)
            if result is None:
                print("rank 0 of this run is on another machine; it writes the record", flush=True)
                raise SystemExit(EXIT_ELSEWHERE)
        metrics, predictions, label_names = result
        import pandas as pd

        path = predictions_path(self.results, self.suite.name, self.runner_name, self.seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(predictions).to_csv(path.with_suffix(".tmp"), index=False)
        path.with_suffix(".tmp").replace(path)
        earlier_wall_s = metrics.pop("earlier_wall_s", 0.0)  # processes that trained this run before this one
        record = RunRecord(
            **self.identity(),
            status="ok",
            **metrics,
            resumed_from_epoch=resumed_from_epoch,
            label_names=label_names,
            device=device_kind(),
            wall_s=earlier_wall_s + time.perf_counter() - started,
            environment=environment(),
            finished_at=now(),
        )
        write_record(self.record_path, record)
        checkpoints.discard(self.checkpoints)

    def train(self, resume_from: Path | None) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
        """Load the data, train and evaluate: the run's record fields, its test predictions and label names."""
        from bench.data import load_suite_data
        from bench.train import train_and_evaluate

        data = load_suite_data(self.suite, self.data_dir, self.limit)
        metrics, predictions = train_and_evaluate(
            self.runner,
            data,
            self.suite.protocol,
            self.seed,
            self.checkpoints,
            resume_from,
            self.tracking(),
            self.world_size,
        )
        return metrics, predictions, list(data.label_names)


def _rank_main(job: Job, resume_from: Path | None) -> Any:
    """One rank of a distributed run (started by the elastic launcher, which sets RANK, LOCAL_RANK, WORLD_SIZE)."""
    exit_with_parent()
    claim_cpus(int(os.environ.get("LOCAL_WORLD_SIZE", 1)))
    import torch

    if torch.cuda.is_available():  # one GPU per rank, of those the worker was given
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    try:
        result = job.train(resume_from)
    except Exception as err:
        record_rank_error(job.record_path, err)
        raise
    return result if rank() == 0 else None


def smaller_micro_batch(protocol: ProtocolConfig, world_size: int = 1) -> int | None:
    """The largest micro-batch at most half the current one that, times `world_size` processes, divides the
    effective batch (None below 1)."""
    for size in range(protocol.per_device_batch_size // 2, 0, -1):
        if protocol.batch_size % (size * world_size) == 0:
            return size
    return None
