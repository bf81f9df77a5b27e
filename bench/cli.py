"""Command line: `bench run`, `bench list` and `bench report`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.errors import BenchError

RUN_EXAMPLES = """examples:
  bench run                                    # the offline demo suite (tiny models, about 4 minutes on 2 CPU cores)
  bench run --suite imdb                       # RoBERTa-512 vs Longformer on IMDB (needs a GPU and the Hub)
  bench run --suite imdb --data-dir ../shared/data/imdb --runners tiny-roberta-512 --limit 600 --epochs 1
  bench run --suite imdb --runners roberta-512,longformer-512-4096 --seeds 0,1,2
  bench run --suite my_suite.yaml --overwrite  # a suite of your own (see README)
"""
LIST_EXAMPLES = """examples:
  bench list                 # all suites and runners
  bench list --suite imdb    # what the imdb suite runs, with its data and protocol
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _int_list(text: str) -> list[int]:
    try:
        values = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        values = []
    if values:
        return values
    raise argparse.ArgumentTypeError(f"expected comma-separated integers like 0,1,2, got {text!r}")


def _name_list(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated runner names")
    return names


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line like every other bench error (exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"bench: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bench",
        description="Is a long-context classifier worth its cost on your documents? Fine-tune text classifiers "
        "under one protocol and compare accuracy, memory and throughput.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=RUN_EXAMPLES,
    )
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser(
        "run",
        help="fine-tune and evaluate a suite's runners",
        epilog=RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--suite", default="demo", help="built-in suite name or a .yaml/.toml suite file (default: demo)")
    run.add_argument("--runners", type=_name_list, help="comma-separated runners (default: the suite's)")
    run.add_argument("--seeds", type=_int_list, help="comma-separated seeds (default: the suite's)")
    run.add_argument("--limit", type=_positive_int, help="use at most N training documents (test scaled alike)")
    run.add_argument("--epochs", type=_positive_int, help="override the suite's number of epochs")
    run.add_argument("--data-dir", type=Path, help="read train/test files (or aclImdb folders) from DIR")
    run.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results/)")
    run.add_argument("--overwrite", action="store_true", help="re-run runs that already have a record")
    lst = sub.add_parser(
        "list",
        help="list suites and runners",
        epilog=LIST_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lst.add_argument("--suite", help="show one suite in detail")
    try:
        from bench.report import cli as report_cli
    except ImportError:  # the report package is optional at import time only while it is being built
        report_cli = None
    if report_cli is not None:
        rep = sub.add_parser(
            "report",
            help="render tables and plots from results/",
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog="examples:\n  bench report\n  bench report --suite imdb --baseline roberta-512\n",
        )
        report_cli.add_arguments(rep)
    from bench.profile import cli as profile_cli

    prof = sub.add_parser(
        "profile",
        help="measure memory and time per step against sequence length (no fine-tuning)",
        epilog=profile_cli.EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    profile_cli.add_arguments(prof)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("run", "list", "report", "profile", "-h", "--help"):
        argv.insert(0, "run")  # `bench` alone (or `bench --suite x`) means `bench run`
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            return cmd_list(args)
        if args.command == "report":
            from bench.report import cli as report_cli

            return report_cli.run(args)
        if args.command == "profile":
            from bench.profile import cli as profile_cli

            return profile_cli.run(args)
        return cmd_run(args)
    except BenchError as err:
        print(f"bench: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\nbench: interrupted. Finished runs are saved, and the interrupted run keeps its last epoch checkpoint: "
            "run the same command again to resume.",
            file=sys.stderr,
        )
        return 130


def cmd_run(args: argparse.Namespace) -> int:
    from bench.data import load_suite_data
    from bench.suite import load_suite
    from bench.sweep import check_writable, plan, run_jobs
    from bench.table import format_table

    suite = load_suite(args.suite)
    if args.epochs:
        suite = suite.replace(protocol=suite.protocol.__class__(**{**vars(suite.protocol), "epochs": args.epochs}))
    if args.seeds:
        suite = suite.replace(seeds=tuple(args.seeds))
    if args.data_dir is not None and not args.data_dir.is_dir():
        raise BenchError(
            f"--data-dir {args.data_dir} is not a directory; point it at a folder with train and test files"
        )
    the_plan = plan(suite, args.results, args.runners, args.data_dir, args.limit, args.overwrite)
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
    records = run_jobs(the_plan)
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


def cmd_list(args: argparse.Namespace) -> int:
    from bench.runners import RUNNERS
    from bench.suite import builtin_suites, load_suite

    if args.suite:
        suite = load_suite(args.suite)
        print(f"suite {suite.name}: {suite.description}\n")
        data = suite.data
        where = f"{data.path}@{data.revision}" if data.source == "hub" else data.files or data.synthetic
        print(f"data ({data.source}): {where}; text column {data.text_column!r}, label column {data.label_column!r}")
        print(f"seeds: {', '.join(map(str, suite.seeds))}")
        print("protocol: " + ", ".join(f"{k}={v}" for k, v in vars(suite.protocol).items()))
        print("runners:")
        for ref in suite.runners:
            runner = RUNNERS.get(ref.runner).build(ref.params, name=ref.runner)
            print(f"  {ref.name:<24} {runner.describe()}")
        return 0
    print("suites:")
    for name in sorted(builtin_suites()):
        suite = load_suite(name)
        print(f"  {name:<24} {suite.description.splitlines()[0] if suite.description else ''}")
    print("\nrunners:")
    for name in RUNNERS:
        entry = RUNNERS.get(name)
        source = "" if entry.source == "bench" else f"  [from {entry.source}]"
        try:
            line = entry.build(name=name).describe()
        except Exception as err:  # a plugin's bad defaults or describe() must not hide the other runners
            line = f"BROKEN: {type(err).__name__}: {' '.join(str(err).split())}"
        print(f"  {name:<28} {line}{source}")
    from bench.runners.plugins import PLUGIN_ERRORS

    for plugin, error in PLUGIN_ERRORS.items():
        print(f"  plugin {plugin} failed to load: {error}")
    return 0
