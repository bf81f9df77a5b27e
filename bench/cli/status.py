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
    from bench.cli import add_format

    add_format(parser)


def run(args: argparse.Namespace) -> int:
    """Print one line per run (or, with --format json, `document`); exit 0 when all are finished and ok, 1
    otherwise."""
    import pandas as pd

    from bench.cli import essential, print_json
    from bench.data.suite import load_suite
    from bench.launch.options import RunOptions
    from bench.launch.status import run_states
    from bench.launch.sweep import plan

    suite = load_suite(args.suite)
    if args.seeds:
        suite = suite.replace(seeds=tuple(args.seeds))
    rows = run_states(plan(suite, RunOptions(suite=args.suite, runners=args.runners, results=args.results)))
    found = document(suite.name, args.results, rows)
    if args.format == "json":
        print_json(found)
        return 0 if found["complete"] else 1
    table = pd.DataFrame(rows)
    if not table["job"].any():
        table = table.drop(columns="job")
    print(table.to_string(index=False))
    print()
    essential(", ".join(f"{n} {state}" for state, n in found["counts"].items()))
    return 0 if found["complete"] else 1


def document(suite: str, results: Path, rows: list[dict]) -> dict:
    """`bench status --json`. Keys: `suite`, `results` (the folder), `runs` (one per planned run: runner, seed,
    state, detail, host, job; state is one of ok, failed, oom, running, interrupted, pending, stale), `counts`
    (state -> number of runs), `complete` (every run finished ok)."""
    from collections import Counter

    from bench.results.schema import OK

    counts = dict(Counter(row["state"] for row in rows).most_common())
    keys = ("runner", "seed", "state", "detail", "host", "job")
    runs = [{key: row.get(key) for key in keys} for row in rows]
    complete = bool(rows) and set(counts) == {OK}
    return {"suite": suite, "results": str(results), "runs": runs, "counts": counts, "complete": complete}
