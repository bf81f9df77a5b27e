"""A suite's runs, planned and checked, as one object that executes them: here, several at once, or through submitit;
then the results table of the runs it covers (`bench.api.prepare` builds it)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.config import SuiteConfig, to_dict
from bench.launch.options import RunOptions
from bench.launch.sweep import Plan, run_jobs, selected_plan
from bench.results.schema import RunRecord
from bench.results.store import ResultStore, record_key
from bench.results.tables import run_table
from bench.runners import Runner

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from bench.train.job import Job


@dataclass(frozen=True)
class Sweep:
    """A suite's runs, planned and checked (runners, trackers, data, finished runs), ready to execute."""

    suite: SuiteConfig
    plan: Plan
    options: RunOptions

    @property
    def store(self) -> ResultStore:
        return ResultStore(self.options.results)

    @property
    def runners(self) -> list[Runner]:
        """The runners of the planned and skipped runs (a tuned suite's too, selected or not yet)."""
        return [job.runner for job in (*self.plan.finals, *(item.base for item, _ in self.plan.deferred))]

    def start(self) -> None:
        """Check that the results folder can be written, and write the suite's published references there."""
        self.store.check_writable()
        self.store.write_references(self.suite.name, [to_dict(r) for r in self.suite.references])

    def execute(self) -> pd.DataFrame:
        """Run every planned job: here (each in a fresh process; as many at once as `options.slots`), or through
        submitit (`options.cluster`), waiting for them unless told not to. The results table of the planned and
        skipped runs that have a record. Each run's full output goes to its log."""
        self.start()
        finals = self.plan.finals
        cluster = self.options.cluster
        if cluster is not None:
            from bench.launch.slurm import submit, wait

            pending = submit(self.plan, cluster)
            if not cluster.wait:
                print(f"check on them with `bench status --suite {self.suite.name} --results {self.store.root}`")
                return self.table()
            tried = wait(self.plan, pending)
        else:
            slots = self.options.slots
            verbose = self.options.verbose
            run = (
                functools.partial(run_jobs, slots=slots, verbose=verbose)
                if slots
                else functools.partial(run_jobs, verbose=verbose)
            )
            tried = run(self.plan)
            if self.plan.deferred:  # a tuned suite: the grid's points ran; now each selected point's run, with test
                selected = selected_plan(self.plan)
                selected.check()
                tried += run(selected, word="selected run")
                finals = (*finals, *selected.finals)
        self.store.rebuild_table(self.suite.name)
        return self.table(tried, finals)

    def table(self, tried: Sequence[RunRecord] = (), finals: Sequence[Job] | None = None) -> pd.DataFrame:
        """The results table (the columns of results.csv) of the runs this sweep covers that have a record. A run
        tried in this sweep shows that try's record: an `--overwrite` that failed shows as failed here (and exits
        `bench run` with 1), while the store keeps the run's earlier finished record."""
        latest = {record_key(r): r for r in tried}
        keys = [job.run_key for job in (self.plan.finals if finals is None else finals)]
        records = [latest.get(key) or self.store.read(key) for key in keys]
        return run_table([r for r in records if r is not None])


def check_data(suite: SuiteConfig, data_dir: Path | None, limit: int | None) -> None:
    """Load and validate the data once, quietly, so that an error is the one line the user sees (the workers show
    progress when they prepare the data for training), and say what was found."""
    import datasets

    from bench.data import load_suite_data
    from bench.output import activity

    datasets.disable_progress_bars()  # one bar of bench's own, gone before the error or the sizes are printed
    try:
        with activity(f"suite {suite.name}: loading and checking the data"):
            data = load_suite_data(suite, data_dir, limit)
    finally:
        datasets.enable_progress_bars()
    sizes = ", ".join(f"{name} {len(ds)}" for name, ds in data.splits.items())
    names = data.label_names  # EURLEX57K has 4,271: the first few and the count say enough
    shown = ", ".join(names) if len(names) <= 20 else f"{', '.join(names[:10])}, … ({len(names):,} labels)"
    print(f"suite {suite.name}: {sizes} documents; labels {shown}")
    for note in data.notes:
        print(f"note: {note}")
