"""One run of a suite, (runner, seed), as a job `bench.launch.local` runs in a fresh process: prepare or resume its
checkpoints, load the data, train and evaluate under the protocol (in this process, or in the ranks it starts for a
distributed run), and leave its record; the launching process then makes it the run's result (`settle`)."""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.config import AUTO, ProtocolConfig, SuiteConfig, to_dict
from bench.cpus import HostLoad, conditions, share_launcher_cpus
from bench.host import (
    EXIT_ELSEWHERE,
    device_kind,
    device_label,
    environment,
    exit_with_parent,
    mixed_precision,
    now,
    pin_one_gpu,
    resolved_precision,
    trainer_precision,
)
from bench.results.key import configuration_key, digest
from bench.results.schema import OK, RunRecord
from bench.results.store import ResultStore, RunKey
from bench.runners import EstimatorRunner, Runner
from bench.runners.probe import EVAL_CANDIDATES
from bench.train import checkpoints, console
from bench.train.distributed import Distributed, launch_ranks, rank, record_rank_error
from bench.train.tracking import Tracking

RECORD_FIELDS = {f.name for f in dataclasses.fields(RunRecord)}
EVAL = "eval"  # `RunRecord.oom_phase` of a run that ran out of memory evaluating (validation or test)


@dataclass(frozen=True)
class Job:
    """Everything a worker process needs, picklable.

    `store` may be given as the results folder's path. `key` is the run's configuration key; `bench.launch.sweep`
    computes it once per suite (hashing the data files once), and a job built without one computes its own."""

    suite: SuiteConfig
    runner_name: str
    runner: Runner
    seed: int
    store: ResultStore
    data_dir: Path | None = None
    limit: int | None = None
    oom_retries: int = 0  # how many times a batch was halved after running out of memory
    distributed: Distributed | None = None  # several processes per run (torch's elastic launcher)
    key: dict[str, Any] | None = field(default=None, compare=False)
    point: str = ""  # a tuning grid point's name (`bench.results.store.point_name`): validation only, no test pass
    # the selected run of a tuned suite: tuned, tuning_points, tuning_train_s, tuning_note (record fields)
    tuning: dict[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.store, ResultStore):
            object.__setattr__(self, "store", ResultStore(Path(self.store)))
        if self.key is None:
            object.__setattr__(self, "key", run_configuration_key(self.suite, self.runner, self.limit, self.data_dir))

    @property
    def run_key(self) -> RunKey:
        return RunKey(self.suite.name, self.runner_name, self.seed, self.point)

    @property
    def world_size(self) -> int:
        return self.distributed.world_size if self.distributed else 1

    @property
    def accumulation_steps(self) -> int | None:
        """Micro-batches per optimizer step on each process: the effective batch is micro x processes x this."""
        protocol = self.suite.protocol
        if protocol.per_device_batch_size == AUTO:
            return None
        return protocol.batch_size // (protocol.per_device_batch_size * self.world_size)

    @property
    def checkpoints(self) -> Path:
        return self.store.checkpoint_dir(self.run_key)

    @property
    def per_host_lock(self) -> bool:
        """A run on several machines takes one lock per machine, since all of them train it together."""
        return self.distributed is not None and self.distributed.nnodes > 1

    @property
    def record_path(self) -> Path:
        return self.store.record_path(self.run_key)

    @property
    def predictions_path(self) -> Path:
        return self.store.predictions_path(self.run_key)

    @property
    def outcome_path(self) -> Path:
        return self.store.outcome_path(self.run_key)

    @property
    def log_path(self) -> Path:
        return self.store.log_path(self.run_key)

    @property
    def process_name(self) -> str:
        return f"bench-{self.run_key.slug}"

    def identity(self) -> dict[str, Any]:
        """The record fields that say which run this is, shared by finished and failed runs."""
        suite = to_dict(self.suite)
        if not suite.get("tune"):  # an untuned suite's records stay as they were before grids existed
            suite.pop("tune", None)
        return {
            "tune_point": self.point or None,
            **(self.tuning or {}),
            "suite": self.suite.name,
            "runner": self.runner_name,
            "seed": self.seed,
            "model_family": self.runner.family,
            "model_id": getattr(self.runner, "model_id", None),
            "init": self.runner.init,
            "max_length": self.runner.max_length,
            "attention_window": self.runner.attention_window,
            "truncation": self.runner.truncation,
            "task": self.suite.data.task,
            "oom_retries": self.oom_retries,
            "world_size": self.world_size,
            "host": socket.gethostname(),
            "config": {
                "suite": suite,
                "runner": {"name": self.runner_name, **_runner_config(self.runner)},
                "limit": self.limit,
                "data_dir": str(self.data_dir) if self.data_dir else None,
                "world_size": self.world_size,
            },
            "config_key": self.key,
            "config_digest": digest(self.key),
        }

    def failure_record(self, status: str, error: str | None, wall_s: float | None = None, **fields: Any) -> RunRecord:
        """The record of a try that did not finish; `fields`: what the protocol knew when it failed (the phase
        that ran out of memory, the batch sizes it had chosen)."""
        return RunRecord(**self.identity(), status=status, error=error, wall_s=wall_s, finished_at=now(), **fields)

    def tracking(self) -> Tracking | None:
        """What this run tells the suite's experiment trackers; None when it reports to none."""
        if not self.suite.report_to:
            return None
        folder = self.store.tensorboard_dir(self.run_key)
        return Tracking(
            self.suite.report_to, f"{self.suite.name}/{self.run_key.label}", folder, self.identity()["config"]
        )

    def smaller(self, failed: RunRecord | None = None) -> Job | None:
        """After running out of memory: the same run (same configuration key: it resumes from its last checkpoint)
        with a smaller batch where it ran out. In evaluation, half the evaluation batch; in training (or where it is
        not known), half the micro-batch with twice the accumulation, so the effective batch is unchanged. None when
        the batch is already 1."""
        protocol = self.suite.protocol
        if protocol.per_device_batch_size == AUTO:  # what the probe chose ran out: go on from there, explicitly
            chosen = failed.micro_batch_size if failed is not None else None
            checkpointing = failed.gradient_checkpointing if failed is not None else None
            protocol = dataclasses.replace(
                protocol,
                per_device_batch_size=chosen or protocol.batch_size // self.world_size,
                gradient_checkpointing=bool(checkpointing) or protocol.gradient_checkpointing,
            )
        if protocol.eval_batch_size == AUTO:
            chosen = failed.eval_batch_size if failed is not None else None
            protocol = dataclasses.replace(protocol, eval_batch_size=chosen or EVAL_CANDIDATES[0])
        if failed is not None and failed.oom_phase == EVAL:
            if protocol.eval_batch_size <= 1:
                return None
            smaller = dataclasses.replace(protocol, eval_batch_size=protocol.eval_batch_size // 2)
        else:
            size = smaller_micro_batch(protocol, self.world_size)
            if size is None:
                return None
            smaller = dataclasses.replace(protocol, per_device_batch_size=size)
        return dataclasses.replace(self, suite=self.suite.replace(protocol=smaller), oom_retries=self.oom_retries + 1)

    def move_checkpoints_aside(self) -> Path | None:
        """`--overwrite`: start afresh, keeping an earlier try's checkpoints in a folder of their own."""
        return checkpoints.move_aside(
            self.checkpoints, functools.partial(self.store.stale_checkpoint_dir, self.run_key)
        )

    def run(self) -> None:
        """In the worker: train and evaluate, stage the predictions and leave the record as this try's outcome.
        The launching process commits both (`settle`)."""
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
        here = self.precision_here()
        if here != self.key["protocol"].get("mixed_precision"):
            # planned on another machine (a Slurm login node without GPUs) or for other GPUs than this worker got:
            # the key, and so the record and the checkpoints resumed, say what this run really computes in
            planned = self.key["protocol"].get("mixed_precision")
            console.say(f"  note: this device computes in {here}, not the {planned} planned; the run is keyed with it")
            key = {**self.key, "protocol": {**self.key["protocol"], "mixed_precision": here}}
            return dataclasses.replace(self, key=key)._run(started, device)
        return self._run(started, device)

    def precision_here(self) -> str:
        """What this run computes in on this worker's device (the key's `mixed_precision`): a one-process run asks
        torch, what the trainer asks; a distributed run's launching process must not initialise CUDA, so asks NVML."""
        if isinstance(self.runner, EstimatorRunner):
            return "fp32"
        setting = self.suite.protocol.mixed_precision
        if self.world_size == 1:
            used = mixed_precision(setting)
            return "fp32" if used == "no" else used
        from bench.gpu import gpu_capabilities

        return resolved_precision(setting, gpu_capabilities())

    def _run(self, started: float, device: str) -> None:
        stale = functools.partial(self.store.stale_checkpoint_dir, self.run_key)
        resume_from, note = checkpoints.prepare(self.checkpoints, self.key, stale)
        if note:
            console.say(f"  note: {note}")
        resumed_from_epoch = None
        if resume_from is not None:
            resumed_from_epoch = checkpoints.epoch_of(resume_from)
            console.say(f"  resuming from the checkpoint after epoch {resumed_from_epoch} ({resume_from})")
        tracking = self.tracking()
        if tracking and resume_from is None:  # a run started afresh starts a fresh event history; a resumed one adds
            shutil.rmtree(tracking.tensorboard_dir, ignore_errors=True)
        held = {}  # what this run trained on and what else ran on its CPUs (a distributed run's ranks: not known)
        if self.world_size == 1:
            with HostLoad() as load:
                result = self.train(resume_from)
            held = {**conditions(), **load.fields}
        else:  # the ranks set their own device and split this process's CPUs, whose claim it holds for them
            errors = functools.partial(self.store.rank_error_path, self.run_key)
            result = launch_ranks(self.distributed, self.run_key.slug, _rank_main, (self, resume_from), errors)
            if result is None:
                print("rank 0 of this run is on another machine; it writes the record", flush=True)
                raise SystemExit(EXIT_ELSEWHERE)
        metrics, predictions, label_names = result
        import pandas as pd

        if predictions or not self.point:  # a grid point has none: it never saw the test split
            self.store.stage_predictions(self.run_key, pd.DataFrame(predictions))
        earlier_wall_s = metrics.pop("earlier_wall_s", 0.0)  # processes that trained this run before this one
        own = {name: metrics.pop(name) for name in list(metrics) if name not in RECORD_FIELDS}  # a task's own
        metrics["task_metrics"] = own or None
        record = RunRecord(
            **self.identity(),
            status=OK,
            **metrics,
            resumed_from_epoch=resumed_from_epoch,
            label_names=label_names,
            device=device_kind(),
            wall_s=earlier_wall_s + time.perf_counter() - started,
            **held,
            environment=environment(),
            finished_at=now(),
        )
        self.store.write_outcome(self.run_key, record)

    def settle(self, record: RunRecord) -> RunRecord:
        """In the launching process, after a try: a finished one replaces the run's predictions and record (the
        record last) and drops its checkpoints (with the suite's `keep_model`, the best one's model stays); a failed
        one becomes the run's record, except where the run already has a finished one (an `--overwrite` that did not
        finish keeps the old result)."""
        if record.ok:
            self.store.commit(record)
            if self.suite.keep_model and not self.point:  # a grid point's model is not the run's
                checkpoints.keep_best(self.checkpoints, self.store.model_dir(self.run_key))
            checkpoints.discard(self.checkpoints)
            return record
        existing = self.store.read(self.run_key)
        if existing is None or not existing.ok:
            self.store.write(record)
        shutil.rmtree(self.store.work_dir(self.run_key), ignore_errors=True)
        return record

    def train(self, resume_from: Path | None) -> tuple[dict[str, Any], list[dict[str, Any]], list[str]]:
        """Load the data, train and evaluate: the run's record fields, its test predictions and label names."""
        from bench.data import load_suite_data
        from bench.train import train_and_evaluate

        data = load_suite_data(self.suite, self.data_dir, self.limit)
        # the precision the key says, whatever this process would pick itself: the record and its key agree
        precision = self.key["protocol"].get("mixed_precision")
        protocol = self.suite.protocol
        if precision in ("fp32", "bf16", "fp16"):
            protocol = dataclasses.replace(protocol, mixed_precision=trainer_precision(precision))
        metrics, predictions = train_and_evaluate(
            self.runner,
            data,
            protocol,
            self.seed,
            self.checkpoints,
            resume_from,
            self.tracking(),
            self.world_size,
            **({"test": False} if self.point else {}),
            energy=self.suite.energy,
        )
        return metrics, predictions, list(data.label_names)


def _runner_config(runner: Runner) -> dict[str, Any]:
    return {"class": type(runner).__qualname__, **runner.params()}


def run_configuration_key(
    suite: SuiteConfig, runner: Runner, limit: int | None, data_dir: Path | None, file_hashes: Any = ...
) -> dict[str, Any]:
    """The configuration key (`bench.results.key`) of a run of `runner` in `suite`; `file_hashes` where the caller
    has hashed the data files already (one suite, many runs), else they are hashed here."""
    if file_hashes is ...:
        from bench.data.identity import file_hashes as hashes

        file_hashes = hashes(suite, data_dir)
    return configuration_key(
        to_dict(suite), _runner_config(runner), limit, file_hashes, planned_precision(suite, runner)
    )


def planned_precision(suite: SuiteConfig, runner: Runner) -> str:
    """What a run of `runner` computes in on this machine's GPUs (asked of NVML: the launching process never
    initialises CUDA), or fp32 on its CPU; a scikit-learn runner is fp32 anywhere. The worker checks it on the
    device it gets (`Job.precision_here`)."""
    if isinstance(runner, EstimatorRunner):
        return "fp32"
    from bench.gpu import gpu_capabilities

    return resolved_precision(suite.protocol.mixed_precision, gpu_capabilities())


def _rank_main(job: Job, resume_from: Path | None) -> Any:
    """One rank of a distributed run (started by the elastic launcher, which sets RANK, LOCAL_RANK, WORLD_SIZE)."""
    exit_with_parent()
    share_launcher_cpus(int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("LOCAL_WORLD_SIZE", 1)))
    import torch

    if torch.cuda.is_available():  # one GPU per rank, of those the worker was given
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    try:
        result = job.train(resume_from)
    except Exception as err:
        record_rank_error(functools.partial(job.store.rank_error_path, job.run_key), err)
        raise
    return result if rank() == 0 else None


def smaller_micro_batch(protocol: ProtocolConfig, world_size: int = 1) -> int | None:
    """The largest micro-batch at most half the current one that, times `world_size` processes, divides the
    effective batch (None below 1)."""
    for size in range(protocol.per_device_batch_size // 2, 0, -1):
        if protocol.batch_size % (size * world_size) == 0:
            return size
    return None
