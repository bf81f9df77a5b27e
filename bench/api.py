"""The Python API: run a suite, read its results, render its report, profile runners.

    import bench
    table = bench.run("demo", runners=["tiny-roberta-512"], seeds=[0, 1])   # the results table, a DataFrame
    records = bench.load_results("results")                                # every record of every suite
    bench.report("demo")                                                   # reports/demo/report.md
    bench.leaderboard("results")                                           # reports/leaderboard.md: runner × suite
    bench.run("imdb", executor="slurm")                                    # the same runs as a Slurm array job

`bench run`, `bench report` and `bench profile` are a thin layer over these functions. A mistake a user can fix
raises `bench.errors.BenchError` (a `ValueError`) with the one-line message the command would print, never
`SystemExit`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.config import SuiteConfig, to_dict
from bench.data.suite import load_suite, suite_from_dict
from bench.errors import BenchError
from bench.launch.options import RunOptions
from bench.launch.sweep import Plan, plan, run_jobs, selected_plan
from bench.profile.plan import ProfileOptions
from bench.report import report
from bench.results.schema import RunRecord
from bench.results.store import ResultStore, record_key
from bench.results.tables import records_frame, run_table
from bench.runners import EstimatorRunner, Runner

if TYPE_CHECKING:
    import pandas as pd

    from bench.preflight import Inspection
    from bench.train.job import Job

__all__ = [
    "ProfileOptions", "RunOptions", "Sweep", "inspect", "leaderboard", "load_results", "prepare", "profile", "report",
    "run",
]  # fmt: skip


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


def prepare(suite: str | Path | Mapping[str, Any] = "demo", *, options: RunOptions | None = None, **keywords) -> Sweep:
    """Plan a suite's runs and check everything that can be checked before one starts: the suite, the runners and
    their parameters, the trackers' packages, the data (columns, labels, classes, split sizes), and that no finished
    run of another configuration would be taken for this one. Keywords as for `run` (or `options`, built once).
    Nothing is written.

    Raises:
        BenchError: Anything a user can fix, in one line (a line per run for finished runs of another
            configuration).
    """
    options = options or _options(suite, keywords)
    config = _suite(options.suite, options.overrides)
    if options.epochs is not None:
        config = config.replace(protocol=replace(config.protocol, epochs=options.epochs))
    if options.seeds is not None:
        config = config.replace(seeds=tuple(options.seeds))
    if options.report_to is not None:
        config = config.replace(report_to=options.report_to)
    if options.data_dir is not None and not options.data_dir.is_dir():
        raise BenchError(
            f"--data-dir {options.data_dir} is not a directory; point it at a folder with train and test files"
        )
    if config.tune and options.cluster is not None:
        raise BenchError("a suite with 'tune:' runs here only for now (its selection waits for the grid); drop --slurm")
    the_plan = plan(config, options)
    the_plan.check()
    _check_data(config, options.data_dir, options.limit)
    if the_plan.skipped:
        done = ", ".join(str(j.run_key) for j in the_plan.skipped)
        print(f"skipping {len(the_plan.skipped)} finished run(s) ({done}); use --overwrite to re-run them")
    return Sweep(config, the_plan, options)


def run(suite: str | Path | Mapping[str, Any] = "demo", **keywords: Any) -> pd.DataFrame:
    """Fine-tune and evaluate a suite's runners, as `bench run` does; finished runs are skipped.

    Args:
        suite: A built-in suite's name, a .yaml/.toml suite file, or a suite as a mapping (the file's content).
        **keywords: The `RunOptions` (runners, seeds, epochs, limit, data_dir, results, reports, overwrite,
            report_to, overrides, random_init, distributed, slots, cluster, verbose), and `executor` ("slurm" or
            "local"): submit the runs through submitit with default `ClusterOptions` (`cluster` gives them all).

    Returns:
        The results table of the runs asked for (the columns of results.csv, one row per run with a record):
        failed runs have `status` failed or oom and their `error`.

    Raises:
        BenchError: Anything a user can fix (unknown suite, runner or key, bad value, unreadable data, finished runs
            of another configuration), before any run starts.
    """
    sweep = prepare(options=_options(suite, keywords))
    table = sweep.execute()
    reports = sweep.options.reports
    if reports is not None and len(table):
        report(sweep.suite.name, results=sweep.store.root, out=reports / sweep.suite.name)
    return table


def profile(**keywords: Any) -> pd.DataFrame:
    """Measure time and memory per step against sequence length, as `bench profile` does: each (runner, length) in
    a fresh process on synthetic documents; the records go to `<results>/profile/`.

    Args:
        **keywords: The `ProfileOptions` (runners, lengths, batch_size, mode, steps, warmup, threads, results,
            random_init).

    Returns:
        The profile table of this call's measurements (one row per (runner, length); running out of memory at a
        length is a row with status oom).

    Raises:
        BenchError: An unknown runner, a length beyond a runner's positions, an unwritable results folder.
    """
    from bench.launch.local import launch
    from bench.profile.plan import plan_profile
    from bench.results.tables import profile_table

    options = ProfileOptions(**keywords)
    jobs = plan_profile(options)
    store = ResultStore(options.results)
    store.check_writable()
    store.profile_dir().mkdir(parents=True, exist_ok=True)
    done = []
    for i, job in enumerate(jobs, 1):
        what = f"{job.runner_name} · {job.mode} · batch {job.batch_size} · {job.seq_len} tokens"
        print(f"[profile {i}/{len(jobs)}] {what}", flush=True)
        done.append(launch(job))  # running out of memory is recorded as this length's result, never retried
        store.rebuild_profile_table()
    return profile_table([r for r in done if r is not None])


def inspect(
    suite: str | Path | Mapping[str, Any] = "demo",
    *,
    runners: Sequence[str] | None = None,
    data_dir: str | Path | None = None,
    limit: int | None = None,
    random_init: bool = False,
    overrides: Mapping[str, Any] | None = None,
    results: str | Path | None = "results",
    out: str | Path | None = None,
) -> Inspection:
    """A pre-flight of a suite, as `bench inspect` does: per runner, document lengths in its own tokens, the share of
    documents it truncates and of tokens it drops, the padding of its training batches, and the protocol's time and
    memory estimated from `bench profile`'s records under `results`. No training, no GPU, no network: a tokenizer
    that is not on disk gets a row saying why.

    Args:
        suite, runners, data_dir, limit, random_init, overrides: As for `run`.
        results: Where `bench profile` wrote its records (None: no estimates).
        out: Write inspect.md, inspect.csv, inspect.json and lengths.png there (None: write nothing).

    Returns:
        The `bench.preflight.Inspection` (its rows, the documents measured, the seconds it took).

    Raises:
        BenchError: An unknown suite or runner, a bad key or value, unreadable data.
    """
    from bench.preflight import inspect_suite, runners_of, write_files

    config = _suite(suite, overrides)
    data_dir = Path(data_dir) if data_dir is not None else None
    if data_dir is not None and not data_dir.is_dir():
        raise BenchError(f"--data-dir {data_dir} is not a directory; point it at a folder with train and test files")
    built = runners_of(config, runners, random_init)
    found = inspect_suite(config, built, data_dir, limit, Path(results) if results is not None else None)
    if out is not None:
        write_files(found, Path(out))
    return found


def preflight_line(sweep: Sweep) -> str | None:
    """The one line `bench run` prints before training: how much of the training documents each planned runner
    truncates (runners whose tokenizer is not on disk, and scikit-learn runners, are left out; no estimates). None where nothing was measured,
    or where the pre-flight itself failed: it must never stop a run that `prepare` accepted."""
    from bench.preflight import inspect_suite, summary_line

    seen, runners = set(), []
    for job in sweep.plan.jobs:
        if job.runner_name not in seen and not isinstance(job.runner, EstimatorRunner):  # those read everything
            seen.add(job.runner_name)
            runners.append((job.runner_name, job.runner))
    if not runners:
        return None
    options = sweep.options
    try:
        found = inspect_suite(
            sweep.suite, runners, options.data_dir, options.limit, None, quiet_missing=True, count_test=False
        )
    except Exception as err:
        return (
            f"inspect: skipped ({str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__})"
        )
    return summary_line(found)


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
    store = ResultStore(Path(results_dir))
    if not store.root.is_dir():
        raise BenchError(f"results folder {store.root} does not exist; pass the folder `bench run --results` wrote to")
    found = store.suites()
    if suite is not None and suite not in found:
        have = f" (suites with results: {', '.join(found)})" if found else ""
        raise BenchError(f"no results for suite '{suite}' in {store.root}{have}; run `bench run --suite {suite}` first")
    records = [r for name in ([suite] if suite else found) for r in store.records(name)]
    frame = records_frame(records)
    return frame.sort_values(["suite", "runner", "seed"], kind="stable").reset_index(drop=True)


def leaderboard(
    results: str | Path | Sequence[str | Path] = "results",
    *,
    out: str | Path | None = None,
    suites: Sequence[str] | None = None,
    gpu_price: float | None = None,
    currency: str = "USD",
) -> Path:
    """`bench leaderboard`: runner × suite, each cell the suite's main metric with its CI, the mean rank per runner
    and the median full-data training cost, as Markdown, sortable HTML and CSV.

    Args:
        results: The results folder(s) holding the suites.
        out: Where to write leaderboard.{md,html,csv}; default `reports/`.
        suites: The suites to show (default: every suite with results there).
        gpu_price: Price per GPU-hour for the cost column (default: the shipped list price of each run's GPU).
        currency: The currency of `gpu_price`.

    Returns:
        Path of leaderboard.md; leaderboard.html and leaderboard.csv lie beside it.

    Raises:
        BenchError: No suite has results there, a suite asked for has none, or the price is not positive.
    """
    from bench.report.budget import Pricing
    from bench.report.leaderboard import write

    pricing = Pricing(gpu_price, currency)
    dirs = [Path(results)] if isinstance(results, str | Path) else [Path(d) for d in results]
    return write(dirs, None if out is None else Path(out), suites, pricing)


def _options(suite: str | Path | Mapping[str, Any], keywords: dict[str, Any]) -> RunOptions:
    executor = keywords.pop("executor", None)
    if executor is not None and keywords.get("cluster") is None:
        from bench.launch.options import EXECUTORS, ClusterOptions

        if executor not in EXECUTORS:
            raise BenchError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
        nproc = keywords["distributed"].nproc_per_node if keywords.get("distributed") else 1
        keywords["cluster"] = ClusterOptions(executor=executor, processes_per_run=nproc)
    try:
        return RunOptions(suite=suite, **keywords)
    except TypeError as err:
        raise BenchError(f"bench.run: {err}") from None


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
    names = data.label_names  # EURLEX57K has 4,271: the first few and the count say enough
    shown = ", ".join(names) if len(names) <= 20 else f"{', '.join(names[:10])}, … ({len(names):,} labels)"
    print(f"suite {suite.name}: {sizes} documents; labels {shown}")
    for note in data.notes:
        print(f"note: {note}")
