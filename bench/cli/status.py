"""`bench status`: where each run of a suite stands, from the results folder (and the cluster jobs it was sent as)."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """examples:
  bench status --suite imdb                        # after `bench run --suite imdb --executor slurm --no-wait`
  bench status --suite imdb --runners roberta-512 --seeds 0,1,2 --results /shared/results
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.cli import _int_list, _name_list

    parser.add_argument("--suite", default="demo", help="built-in suite name or a suite file (default: demo)")
    parser.add_argument("--runners", type=_name_list, help="comma-separated runners (default: the suite's)")
    parser.add_argument("--seeds", type=_int_list, help="comma-separated seeds (default: the suite's)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results/)")


def run(args: argparse.Namespace) -> int:
    """Print one line per run; exit 0 when all are finished and ok, 1 otherwise."""
    import pandas as pd

    from bench.data.suite import load_suite
    from bench.launch.options import RunOptions
    from bench.launch.status import run_states
    from bench.launch.sweep import plan
    from bench.results.schema import OK

    suite = load_suite(args.suite)
    if args.seeds:
        suite = suite.replace(seeds=tuple(args.seeds))
    rows = run_states(plan(suite, RunOptions(suite=args.suite, runners=args.runners, results=args.results)))
    table = pd.DataFrame(rows)
    if not table["job"].any():
        table = table.drop(columns="job")
    print(table.to_string(index=False))
    counts = table["state"].value_counts()
    print("\n" + ", ".join(f"{n} {state}" for state, n in counts.items()))
    return 0 if set(counts.index) == {OK} else 1
