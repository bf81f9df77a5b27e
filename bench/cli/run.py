"""`bench run`: plan a suite's runs, check the data, run the sweep, print the table, render the report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.config import SuiteConfig
from bench.errors import BenchError
from bench.results.schema import RunRecord, display_names
from bench.runners import Runner

# the printed table's columns, in order (their headers come from the record schema); the memory column is the GPU
# peak where any run had a GPU, else the CPU peak
PRINTED = ("runner", "seed", "status", "accuracy", "f1", "max_length", "attention_window", "train_tokens_per_s",
           "eval_samples_per_s", "peak_gpu_mem_mb", "wall_s")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from bench.cli import scale
    from bench.data import load_suite_data
    from bench.data.suite import load_suite
    from bench.launch.sweep import plan, run_jobs
    from bench.results.store import check_writable

    suite = load_suite(args.suite)
    if args.epochs:
        suite = suite.replace(protocol=suite.protocol.__class__(**{**vars(suite.protocol), "epochs": args.epochs}))
    if args.seeds:
        suite = suite.replace(seeds=tuple(args.seeds))
    if args.data_dir is not None and not args.data_dir.is_dir():
        raise BenchError(
            f"--data-dir {args.data_dir} is not a directory; point it at a folder with train and test files"
        )
    the_plan = plan(
        suite, args.results, args.runners, args.data_dir, args.limit, args.overwrite, scale.distributed(args)
    )
    slots, cluster = scale.slots(args), scale.cluster(args)
    for job in {j.runner_name: j for j in the_plan.jobs}.values():
        if job.runner.params().get("trust_remote_code"):
            print(
                f"bench: warning: runner '{job.runner_name}' sets trust_remote_code: it runs Python code from "
                f"{getattr(job.runner, 'model_id', 'its checkpoint')}; only do this for checkpoints you trust",
                file=sys.stderr,
            )
    # validate the data (columns, labels, classes, split sizes) before anything is written; quietly, so that an
    # error is the one line the user sees (the workers show progress when they prepare the data for training)
    import datasets

    datasets.disable_progress_bars()
    data = load_suite_data(suite, args.data_dir, args.limit)
    datasets.enable_progress_bars()
    sizes = ", ".join(f"{name} {len(ds)}" for name, ds in data.splits.items())
    print(f"suite {suite.name}: {sizes} documents; labels {', '.join(data.label_names)}")
    if the_plan.skipped:
        done = ", ".join(f"{j.runner_name}/seed{j.seed}" for j in the_plan.skipped)
        print(f"skipping {len(the_plan.skipped)} finished run(s) ({done}); use --overwrite to re-run them")
    check_writable(args.results)
    if cluster is not None:
        from bench.launch.slurm import submit, wait

        pending = submit(the_plan, cluster)
        if not cluster.wait:
            print(f"check on them with `bench status --suite {args.suite} --results {args.results}`")
            return 0
        records = wait(the_plan, pending)
    else:
        records = run_jobs(the_plan, slots=slots)
    print()
    print(format_table(suite, args.results, [j.runner for j in the_plan.jobs + the_plan.skipped]))
    print(f"\ntable: {args.results / suite.name / 'results.csv'}")
    from bench.report import build_report

    report = build_report(args.results, suite.name, Path("reports") / suite.name)
    print(f"report: {report} and {report.with_name('report.html')}")
    failed = [r for r in records if r.get("status") != "ok"]
    if failed:
        print(f"bench: {len(failed)} run(s) did not finish; see the status column", file=sys.stderr)
        return 1
    return 0


def format_table(suite: SuiteConfig, results: Path, runners: Sequence[Runner] = ()) -> str:
    """A readable table of the suite's results; synthetic suites add each runner's analytical expectation."""
    import pandas as pd

    table = pd.read_csv(results / suite.name / "results.csv")
    if table.empty:
        return "(no results)"
    gpu = table["peak_gpu_mem_mb"].notna().any()
    columns = [c if gpu or c != "peak_gpu_mem_mb" else "peak_cpu_rss_mb" for c in PRINTED]
    shown = table[columns].rename(columns=display_names(RunRecord, columns))
    if suite.data.source == "synthetic":
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
    return shown.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="—")
