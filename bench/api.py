"""The Python API: run a suite, read its results, render its report.

    import bench
    table = bench.run("demo", runners=["tiny-roberta-512"], seeds=[0, 1])   # the results table, a DataFrame
    records = bench.load_results("results")                                # every record of every suite
    bench.report("demo")                                                   # reports/demo/report.md

`bench run` and `bench report` are a thin layer over these functions. A mistake a user can fix raises
`bench.errors.BenchError` (a `ValueError`) with the one-line message the command would print, never `SystemExit`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.config import SuiteConfig, to_dict, trackers
from bench.data.suite import load_suite, suite_from_dict
from bench.errors import BenchError
from bench.launch.local import Placement
from bench.launch.sweep import Plan, plan, run_jobs
from bench.report import report
from bench.results.store import (
    check_writable,
    iter_records,
    read_record,
    rebuild_table,
    records_frame,
    run_table,
    write_references,
)
from bench.runners import Runner
from bench.train.distributed import Distributed

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Sweep", "load_results", "prepare", "report", "run"]


@dataclass(frozen=True)
class Sweep:
    """A suite's runs, planned and checked (runners, trackers, data), ready to execute."""

    suite: SuiteConfig
    plan: Plan
    results: Path

    @property
    def runners(self) -> list[Runner]:
        """The runners of the planned and skipped runs."""
        return [job.runner for job in (*self.plan.jobs, *self.plan.skipped)]

    def start(self) -> None:
        """Check that the results folder can be written, and write the suite's published references there."""
        check_writable(self.results)
        write_references(self.results, self.suite.name, [to_dict(r) for r in self.suite.references])

    def execute(self, slots: Sequence[Placement] | None = None, verbose: bool = False) -> pd.DataFrame:
        """Run every planned job (each in a fresh process; as many at once as `slots`, where each runs); the
        results table of the planned and skipped runs. Each run's full output goes to its log; `verbose` echoes it
        to the console too."""
        self.start()
        run_jobs(self.plan, slots=slots, verbose=verbose) if slots else run_jobs(self.plan, verbose=verbose)
        rebuild_table(self.results, self.suite.name)
        return self.table()

    def table(self) -> pd.DataFrame:
        """The results table (the columns of results.csv) of the runs this sweep covers that have a record."""
        records = [read_record(job.record_path) for job in (*self.plan.jobs, *self.plan.skipped)]
        return run_table([r for r in records if r is not None])


def prepare(
    suite: str | Path | Mapping[str, Any] = "demo",
    *,
    runners: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    epochs: int | None = None,
    limit: int | None = None,
    data_dir: str | Path | None = None,
    results: str | Path = "results",
    overwrite: bool = False,
    report_to: str | Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    distributed: Distributed | None = None,
    random_init: bool = False,
) -> Sweep:
    """Plan a suite's runs and check everything that can be checked before one starts: the suite, the runners and
    their parameters, the trackers' packages, and the data (columns, labels, classes, split sizes). Arguments as
    for `run`; `distributed` trains each transformer run on several processes. Nothing is written.

    Raises:
        BenchError: Anything a user can fix, in one line.
    """
    config = _suite(suite, overrides)
    if epochs is not None:
        config = config.replace(protocol=config.protocol.__class__(**{**vars(config.protocol), "epochs": epochs}))
    if seeds is not None:
        config = config.replace(seeds=tuple(seeds))
    if report_to is not None:
        config = config.replace(report_to=trackers(report_to))
    data_dir = None if data_dir is None else Path(data_dir)
    if data_dir is not None and not data_dir.is_dir():
        raise BenchError(f"--data-dir {data_dir} is not a directory; point it at a folder with train and test files")
    results = Path(results)
    the_plan = plan(
        config, results, list(runners) if runners else None, data_dir, limit, overwrite, distributed, random_init
    )
    for job in {j.runner_name: j for j in the_plan.jobs}.values():
        if job.runner.params().get("trust_remote_code"):
            print(
                f"bench: warning: runner '{job.runner_name}' sets trust_remote_code: it runs Python code from "
                f"{getattr(job.runner, 'model_id', 'its checkpoint')}; only do this for checkpoints you trust",
                file=sys.stderr,
            )
    _check_data(config, data_dir, limit)
    if the_plan.skipped:
        done = ", ".join(f"{j.runner_name}/seed{j.seed}" for j in the_plan.skipped)
        print(f"skipping {len(the_plan.skipped)} finished run(s) ({done}); use --overwrite to re-run them")
    return Sweep(config, the_plan, results)


def run(
    suite: str | Path | Mapping[str, Any] = "demo",
    *,
    runners: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    epochs: int | None = None,
    limit: int | None = None,
    data_dir: str | Path | None = None,
    results: str | Path = "results",
    reports: str | Path | None = "reports",
    overwrite: bool = False,
    report_to: str | Sequence[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    random_init: bool = False,
) -> pd.DataFrame:
    """Fine-tune and evaluate a suite's runners, as `bench run` does; finished runs are skipped.

    Args:
        suite: A built-in suite's name, a .yaml/.toml suite file, or a suite as a mapping (the file's content).
        runners: Runners to run (default: the suite's).
        seeds: Seeds (default: the suite's).
        epochs: Overrides the suite's number of epochs.
        limit: At most this many documents for training and validation together (test scaled alike).
        data_dir: Read train/test files (or aclImdb folders) from this folder instead of the suite's source.
        results: The results folder.
        reports: Where the report goes (`<reports>/<suite>/report.md`); None for no report.
        overwrite: Re-run runs that already have a finished record.
        report_to: Experiment trackers (tensorboard, wandb, mlflow, trackio; `none`), instead of the suite's.
        overrides: Suite keys to set before the suite is validated, dotted: `{"protocol.learning_rate": 2e-5}`.
        random_init: Build every pretrained runner from its bundled architecture with random weights (cost only).

    Returns:
        The results table of the runs asked for (the columns of results.csv, one row per run with a record):
        failed runs have `status` failed or oom and their `error`.

    Raises:
        BenchError: Anything a user can fix (unknown suite, runner or key, bad value, unreadable data), before any
            run starts.
    """
    sweep = prepare(
        suite, runners=runners, seeds=seeds, epochs=epochs, limit=limit, data_dir=data_dir, results=results,
        overwrite=overwrite, report_to=report_to, overrides=overrides, random_init=random_init,
    )  # fmt: skip
    table = sweep.execute()
    if reports is not None and len(table):
        report(sweep.suite.name, results=results, out=Path(reports) / sweep.suite.name)
    return table


def load_results(results_dir: str | Path = "results", suite: str | None = None) -> pd.DataFrame:
    """Every run record under `results_dir` as a table, one row per record (older records migrated).

    Args:
        results_dir: The folder `bench run` wrote to.
        suite: One suite's records; None for every suite's.

    Returns:
        One row per record, sorted by suite, runner and seed: every field of the record schema in declaration order
        (`bench/results/run-record.schema.json` documents them; lists and mappings such as `config` and `epochs`
        are Python objects), then the runner facts any record has.

    Raises:
        BenchError: `results_dir` does not exist, or `suite` has no records there.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise BenchError(f"results folder {folder} does not exist; pass the folder `bench run --results` wrote to")
    found = sorted(p.parent.name for p in folder.glob("*/runs") if p.is_dir())
    if suite is not None and suite not in found:
        have = f" (suites with results: {', '.join(found)})" if found else ""
        raise BenchError(f"no results for suite '{suite}' in {folder}{have}; run `bench run --suite {suite}` first")
    records = [r for name in ([suite] if suite else found) for r in iter_records(folder, name)]
    frame = records_frame(records)
    return frame.sort_values(["suite", "runner", "seed"], kind="stable").reset_index(drop=True)


def _suite(suite: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None) -> SuiteConfig:
    if isinstance(suite, Mapping):
        return suite_from_dict(dict(suite), overrides=overrides)
    return load_suite(suite, overrides)


def _check_data(suite: SuiteConfig, data_dir: Path | None, limit: int | None) -> None:
    """Load and validate the data once, quietly, so that an error is the one line the user sees (the workers show
    progress when they prepare the data for training), and say what was found."""
    import datasets

    from bench.data import load_suite_data

    datasets.disable_progress_bars()
    try:
        data = load_suite_data(suite, data_dir, limit)
    finally:
        datasets.enable_progress_bars()
    sizes = ", ".join(f"{name} {len(ds)}" for name, ds in data.splits.items())
    print(f"suite {suite.name}: {sizes} documents; labels {', '.join(data.label_names)}")
