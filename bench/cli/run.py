"""`bench run`: a thin layer over the Python API (`bench.api`): plan and check, run the sweep, print the table,
render the report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bench import output
from bench.config import SuiteConfig
from bench.launch.options import RunOptions
from bench.results.schema import OK, RunRecord, display_names
from bench.runners import Runner
from bench.tasks import task_for

# the printed table's columns, in order (their headers come from the record schema); the memory column is the GPU's
# training peak where any run had a GPU (the report's and verdict's GPU memory too), else the CPU peak
QUALITY = "main metric"  # the task's (`Task.main_metric`)
PRINTED = ("runner", "seed", "status", QUALITY, "max_length", "attention_window", "train_tokens_per_s",
           "eval_samples_per_s", "peak_gpu_mem_train_mb", "wall_s")  # fmt: skip


def options(args: argparse.Namespace) -> RunOptions:
    """The command's `RunOptions`, built once; a placement that cannot be is refused before anything is printed."""
    from bench.cli import scale

    keep = {"keep_model": True} if getattr(args, "keep_model", False) else {}  # --keep-model: the suite's key
    return RunOptions(
        suite=args.suite,
        runners=args.runners,
        seeds=args.seeds,
        epochs=args.epochs,
        limit=args.limit,
        data_dir=args.data_dir,
        results=args.results,
        overwrite=args.overwrite,
        report_to=args.report_to,
        overrides=dict(args.set) | keep,
        random_init=args.random_init,
        distributed=scale.distributed(args),
        slots=tuple(scale.slots(args)),
        cluster=scale.cluster(args),
        verbose=args.verbosity == output.VERBOSE,
    )


def run(args: argparse.Namespace) -> int:
    from bench import api
    from bench.cli import essential
    from bench.report.budget import Pricing

    Pricing(args.gpu_price, args.currency)  # a bad price is refused before anything trains
    sweep = api.prepare(options=options(args))
    line = api.preflight_line(sweep)  # what each runner truncates, before any hour is spent (bench inspect)
    if line:
        print(line)
    cluster = sweep.options.cluster
    if cluster is None and sweep.plan.jobs and not sweep.options.verbose:
        print(
            f"each run's full output goes to {sweep.store.log_pattern(sweep.suite.name)} (--verbose shows it here too)"
        )
    table = sweep.execute()
    if cluster is not None and not cluster.wait:
        essential(f"submitted; `bench status --suite {sweep.suite.name} --results {sweep.store.root}` shows them")
        return 0
    print()
    print(format_table(sweep.suite, table, sweep.runners))
    print(f"\ntable: {sweep.store.table_path(sweep.suite.name)}")
    out = Path("reports") / sweep.suite.name
    report = api.report(
        sweep.suite.name, results=args.results, out=out, gpu_price=args.gpu_price, currency=args.currency
    )
    essential(f"report: {report} and {report.with_name('report.html')}")
    if report.verdict:
        print("\nverdict:\n  " + "\n  ".join(report.verdict.splitlines()))
    failed = int((table["status"] != OK).sum())
    if failed:
        print(f"bench: {failed} run(s) did not finish; see the status column and their logs", file=sys.stderr)
        return 1
    return 0


def format_table(suite: SuiteConfig, table: pd.DataFrame, runners: Sequence[Runner] = ()) -> str:
    """A readable results table (`bench.api.Sweep.table`); synthetic suites add each runner's analytical
    expectation."""
    if table.empty:
        return "(no results)"
    gpu = table["peak_gpu_mem_train_mb"].notna().any()
    task = task_for(suite.data.task)  # one quality column: the task's main metric, named (accuracy, micro-F1, ...)
    main = task.main_metric
    table = table.assign(**{main: table[main] if main in table else float("nan")})
    columns = [
        main if c == QUALITY else c if gpu or c != "peak_gpu_mem_train_mb" else "peak_cpu_rss_mb" for c in PRINTED
    ]
    cost_only = table["init"].astype(str).eq("random") if "init" in table else pd.Series(False, index=table.index)
    table.loc[cost_only, main] = float("nan")  # random weights: the score means nothing
    names = {**display_names(RunRecord, [c for c in columns if c != main]), main: task.label(main)}
    shown = table[columns].rename(columns=names)
    # integer columns with gaps print as floats, so that a gap prints as the dash, not <NA>
    shown = shown.astype({c: float for c in shown if shown[c].dtype == "Int64" and shown[c].isna().any()})
    if suite.data.source == "synthetic" and main == "accuracy":  # the demo generator's closed form
        from bench.data.synthetic import SyntheticSpec, expected_accuracy

        spec = SyntheticSpec(**suite.data.synthetic)
        # rows are matched to runners by (family, max length): the table has no runner parameters, and two runners
        # that share both but keep different amounts of a document (say two chunk sizes) get no expectation at all
        expected: dict[tuple, float | None] = {}
        for r in runners:
            value = expected_accuracy(spec, r.content_tokens) if r.content_tokens is not None else None
            key = (r.family, r.max_length)
            expected[key] = value if expected.get(key, value) == value else None
        keys = pd.Series(list(zip(table["model_family"], table["max_length"], strict=True)), index=table.index)
        shown.insert(4, "expected", keys.map(lambda k: expected.get(k)).astype(float))
    text = shown.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="—")
    if cost_only.any():
        text += f"\n(@random-init: the real architecture with random weights, cost only; {task.label(main)} not shown)"
    return text
