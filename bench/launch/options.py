"""The options of one `bench run`, as one frozen dataclass: built once, from the command line (`bench.cli.run`) or
from Python (`bench.run(...)`), and passed down whole to planning and execution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.config import trackers
from bench.errors import BenchError

if TYPE_CHECKING:
    from bench.launch.local import Placement
    from bench.train.distributed import Distributed

EXECUTORS = ("slurm", "local")
# CPUs a run's process gets on Slurm unless --slurm-cpus-per-run says otherwise: its Python process and tokenizer
# threads, with room for data-loading workers (a GPU node's cores divided among its GPUs is usually 8 or more)
CPUS_PER_PROCESS = 8


@dataclass(frozen=True)
class ClusterOptions:
    """What the array job asks the scheduler for (see `bench run --help`)."""

    executor: str = "slurm"
    partition: str | None = None
    account: str | None = None
    gpus_per_run: int | None = None  # default on Slurm: one per process of the run (--nproc-per-node); 0 locally
    cpus_per_run: int | None = None  # default on Slurm: CPUS_PER_PROCESS per process of the run
    max_parallel: int | None = None  # array tasks running at once
    timeout_min: int = 24 * 60
    extra: dict[str, str] = field(default_factory=dict)  # more sbatch options, passed as they are
    wait: bool = True
    processes_per_run: int = 1  # --nproc-per-node: the ranks each array task starts

    def parameters(self, name: str) -> dict[str, Any]:
        """submitit's AutoExecutor parameters (generic ones, and `slurm_` ones that only Slurm reads)."""
        slurm = self.executor == "slurm"
        gpus = self.gpus_per_run if self.gpus_per_run is not None else self.processes_per_run * int(slurm)
        cpus = self.cpus_per_run
        if cpus is None and slurm:
            cpus = CPUS_PER_PROCESS * self.processes_per_run
        return {
            "name": name,
            "timeout_min": self.timeout_min,
            "gpus_per_node": gpus,
            "cpus_per_task": cpus,
            "tasks_per_node": 1,  # a run's worker starts its own ranks (--nproc-per-node), as it does here
            "slurm_partition": self.partition,
            "slurm_account": self.account,
            "slurm_array_parallelism": self.max_parallel,
            "slurm_additional_parameters": dict(self.extra) or None,
        }


@dataclass(frozen=True)
class RunOptions:
    """What to run and where.

    Attributes:
        suite: A built-in suite's name, a .yaml/.toml suite file, or a suite as a mapping (the file's content).
        runners: Runners to run (default: the suite's).
        seeds: Seeds (default: the suite's).
        epochs: Overrides the suite's number of epochs.
        limit: At most this many documents for training and validation together (test scaled alike).
        data_dir: Read train/test files (or aclImdb folders) from this folder instead of the suite's source.
        results: The results folder.
        reports: Where the report goes (`<reports>/<suite>/report.md`); None for no report.
        overwrite: Re-run runs that already have a finished record (the old record stays until the new one is
            written).
        report_to: Experiment trackers instead of the suite's (tensorboard, wandb, mlflow, trackio; `none`).
        overrides: Suite keys to set before the suite is validated, dotted: `{"protocol.learning_rate": 2e-5}`.
        random_init: Build every pretrained runner from its bundled architecture with random weights (cost only).
        distributed: Train each transformer run on several processes (torch's elastic launcher).
        slots: Where runs go on this machine, one `Placement` per run at once (default: one, as the environment is).
        cluster: Submit the runs through submitit (`executor` slurm or local) instead of running them here.
        verbose: Echo each run's log to the console.
    """

    suite: str | Path | Mapping[str, Any] = "demo"
    runners: tuple[str, ...] | None = None
    seeds: tuple[int, ...] | None = None
    epochs: int | None = None
    limit: int | None = None
    data_dir: Path | None = None
    results: Path = Path("results")
    reports: Path | None = Path("reports")
    overwrite: bool = False
    report_to: tuple[str, ...] | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    random_init: bool = False
    distributed: Distributed | None = None
    slots: tuple[Placement, ...] | None = None
    cluster: ClusterOptions | None = None
    verbose: bool = False

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name in ("runners", "seeds", "slots"):
            value = getattr(self, name)
            if value is not None:
                if isinstance(value, str | bytes) or not isinstance(value, Sequence):
                    raise BenchError(f"{name} must be a list, got {value!r}")
                put(name, tuple(value) or None)
        for name in ("epochs", "limit"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise BenchError(f"{name} must be a positive integer, got {value!r}")
        put("results", Path(self.results))
        put("data_dir", None if self.data_dir is None else Path(self.data_dir))
        put("reports", None if self.reports is None else Path(self.reports))
        put("overrides", dict(self.overrides or {}))
        if self.report_to is not None:
            put("report_to", trackers(self.report_to))
