"""The Python API: run a suite, read its results, render its report, profile runners.

    import bench
    table = bench.run("demo", runners=["tiny-roberta-512"], seeds=[0, 1])   # the results table, a DataFrame
    records = bench.load_results("results")                                # every record of every suite
    bench.report("demo")                                                   # a Report: report.md, its tables, verdict
    bench.leaderboard("results")                                           # reports/leaderboard.md: runner × suite
    bench.run("imdb", executor="slurm")                                    # the same runs as a Slurm array job

`bench run`, `bench report` and `bench profile` are a thin layer over these functions. A mistake a user can fix
raises `bench.errors.BenchError` (a `ValueError`) with the one-line message the command would print, never
`SystemExit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.config import SuiteConfig
from bench.data.suite import load_suite, suite_from_dict
from bench.errors import BenchError
from bench.launch.execute import Sweep, check_data
from bench.launch.options import RunOptions
from bench.launch.status import run_states, status_document
from bench.launch.sweep import plan
from bench.profile.plan import DEFAULT_LENGTHS, ProfileOptions
from bench.report import report
from bench.results.store import ResultStore
from bench.results.tables import records_frame
from bench.runners import EstimatorRunner

if TYPE_CHECKING:
    import pandas as pd

    from bench.launch.local import Placement
    from bench.launch.options import ClusterOptions
    from bench.preflight import Inspection
    from bench.train.distributed import Distributed

# the options `run` and `prepare` spell out: RunOptions' fields (but the suite) and `executor`
RUN_OPTIONS = (*(f.name for f in fields(RunOptions) if f.name != "suite"), "executor")

__all__ = [
    "ProfileOptions", "RunOptions", "Sweep", "inspect", "leaderboard", "load_results", "prepare", "profile", "report",
    "run", "status",
]  # fmt: skip


def prepare(
    suite: str | Path | Mapping[str, Any] = "demo",
    *,
    options: RunOptions | None = None,
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
    distributed: Distributed | None = None,
    slots: Sequence[Placement] | None = None,
    cluster: ClusterOptions | None = None,
    executor: str | None = None,
    verbose: bool = False,
) -> Sweep:
    """Plan a suite's runs and check everything that can be checked before one starts: the suite, the runners and
    their parameters, the trackers' packages, the data (columns, labels, classes, split sizes), and that no finished
    run of another configuration would be taken for this one. Options as for `run`, or `options` built once (then
    the others are not read). Nothing is written.

    Raises:
        BenchError: Anything a user can fix, in one line (a line per run for finished runs of another
            configuration).
    """
    if options is None:
        keywords = {name: value for name, value in locals().items() if name in RUN_OPTIONS}
        options = _options(suite, keywords)
    config = _configured(options)
    if options.data_dir is not None and not options.data_dir.is_dir():
        raise BenchError(
            f"--data-dir {options.data_dir} is not a directory; point it at a folder with train and test files"
        )
    if config.tune and options.cluster is not None:
        raise BenchError("a suite with 'tune:' runs here only for now (its selection waits for the grid); drop --slurm")
    the_plan = plan(config, options)
    the_plan.check()
    check_data(config, options.data_dir, options.limit)
    if the_plan.skipped:
        done = ", ".join(str(j.run_key) for j in the_plan.skipped)
        print(f"skipping {len(the_plan.skipped)} finished run(s) ({done}); use --overwrite to re-run them")
    return Sweep(config, the_plan, options)


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
    distributed: Distributed | None = None,
    slots: Sequence[Placement] | None = None,
    cluster: ClusterOptions | None = None,
    executor: str | None = None,
    verbose: bool = False,
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
        overwrite: Re-run runs that already have a finished record (kept until the new one is written).
        report_to: Experiment trackers instead of the suite's (tensorboard, wandb, mlflow, trackio; "none").
        overrides: Suite keys to set before the suite is validated, dotted: `{"protocol.learning_rate": 2e-5}`.
        random_init: Build every pretrained runner from its bundled architecture with random weights (cost only).
        distributed: Train each transformer run on several processes (`bench.train.distributed.Distributed`).
        slots: Where runs go on this machine, one `bench.launch.local.Placement` per run at once.
        cluster: Submit the runs through submitit (`bench.launch.options.ClusterOptions`).
        executor: "slurm" or "local": submit through submitit with default `ClusterOptions` (`cluster` gives
            them all).
        verbose: Echo each run's log to the console.

    These are `bench.launch.options.RunOptions`' fields (and `executor`), with its defaults.

    Returns:
        The results table of the runs asked for (the columns of results.csv, one row per run with a record):
        failed runs have `status` failed or oom and their `error`.

    Raises:
        BenchError: Anything a user can fix (unknown suite, runner or key, bad value, unreadable data, finished runs
            of another configuration), before any run starts.
    """
    keywords = {name: value for name, value in locals().items() if name in RUN_OPTIONS}
    sweep = prepare(options=_options(suite, keywords))
    table = sweep.execute()
    reports = sweep.options.reports
    if reports is not None and len(table):
        report(sweep.suite.name, results=sweep.store.root, out=reports / sweep.suite.name)
    return table


def profile(
    *,
    runners: Sequence[str] | None = None,
    lengths: Sequence[int] = DEFAULT_LENGTHS,
    batch_size: int | str = 1,
    mode: str = "train",
    steps: int = 5,
    warmup: int = 2,
    threads: int | None = None,
    results: str | Path = "results",
    random_init: bool = False,
) -> pd.DataFrame:
    """Measure time and memory per step against sequence length, as `bench profile` does: each (runner, length) in
    a fresh process on synthetic documents; the records go to `<results>/profile/`.

    Args:
        runners: Runners to measure (default: the demo suite's).
        lengths: Sequence lengths in tokens.
        batch_size: Documents per step, or "auto" (the largest that fits).
        mode: "train" (forward, backward, optimizer step) or "infer" (no-grad forward).
        steps: Timed steps per length.
        warmup: Untimed steps before them.
        threads: torch CPU threads (None: torch's default).
        results: The results folder.
        random_init: Measure pretrained runners' architectures with random weights (no checkpoint needed).

    These are `bench.profile.plan.ProfileOptions`' fields, with its defaults.

    Returns:
        The profile table of this call's measurements (one row per (runner, length); running out of memory at a
        length is a row with status oom).

    Raises:
        BenchError: An unknown runner, a length beyond a runner's positions, an unwritable results folder.
    """
    from bench.launch.local import launch
    from bench.profile.plan import plan_profile
    from bench.results.tables import profile_table

    options = ProfileOptions(
        runners=runners,
        lengths=lengths,
        batch_size=batch_size,
        mode=mode,
        steps=steps,
        warmup=warmup,
        threads=threads,
        results=Path(results),
        random_init=random_init,
    )
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


def status(
    suite: str | Path | Mapping[str, Any] = "demo",
    *,
    runners: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    epochs: int | None = None,
    limit: int | None = None,
    data_dir: str | Path | None = None,
    results: str | Path = "results",
    overrides: Mapping[str, Any] | None = None,
    random_init: bool = False,
) -> dict[str, Any]:
    """Where each planned run of a suite stands, planned with the options `run` took (so that a run made with
    `limit`, `data_dir`, `overrides` or `random_init` is found finished, not stale): `bench status --format json`'s
    document (keys in `bench.launch.status.status_document`). Reads only; nothing is written."""
    options = _options(suite, {name: value for name, value in locals().items() if name in RUN_OPTIONS})
    config = _configured(options)
    return status_document(config.name, options.results, run_states(plan(config, options)))


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


def _configured(options: RunOptions) -> SuiteConfig:
    """The suite as these options run it: its file or mapping, `--set`, epochs, seeds and trackers applied."""
    config = _suite(options.suite, options.overrides)
    if options.epochs is not None:
        config = config.replace(protocol=replace(config.protocol, epochs=options.epochs))
    if options.seeds is not None:
        config = config.replace(seeds=tuple(options.seeds))
    if options.report_to is not None:
        config = config.replace(report_to=options.report_to)
    return config


def _suite(suite: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None) -> SuiteConfig:
    if isinstance(suite, Mapping):
        return suite_from_dict(dict(suite), overrides=overrides)
    return load_suite(suite, overrides)
