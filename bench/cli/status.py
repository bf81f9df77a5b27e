"""`bench status`: where each run of a suite stands, from the results folder (and the cluster jobs it was sent as)."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """examples:
  bench status --suite imdb                        # after `bench run --suite imdb --executor slurm --no-wait`
  bench status --suite imdb --runners roberta-512 --seeds 0,1,2 --results /shared/results
  bench status --suite imdb --data-dir ../shared/data/imdb --limit 600   # the options the runs were made with
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.cli import _int_list, _name_list

    parser.add_argument("--suite", default="demo", help="built-in suite name or a suite file (default: demo)")
    parser.add_argument("--runners", type=_name_list, help="comma-separated runners (default: the suite's)")
    parser.add_argument("--seeds", type=_int_list, help="comma-separated seeds (default: the suite's)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results/)")
    # the options that make a run what it is, as `bench run` takes them: a run made with them is found finished
    from bench.cli import _add_set, _positive_int, add_format

    parser.add_argument("--limit", type=_positive_int, help="as given to `bench run` (part of each run's key)")
    parser.add_argument("--epochs", type=_positive_int, help="as given to `bench run`")
    parser.add_argument("--data-dir", type=Path, help="as given to `bench run` (the files' hashes are in the key)")
    parser.add_argument("--random-init", action="store_true", help="as given to `bench run`")
    _add_set(parser)

    add_format(parser)


def run(args: argparse.Namespace) -> int:
    """Print one line per run (or, with --format json, `api.status`'s document); exit 0 when all are finished and ok, 1
    otherwise."""
    import pandas as pd

    from bench import api
    from bench.cli import essential, print_json

    found = api.status(
        args.suite,
        runners=args.runners,
        seeds=args.seeds,
        epochs=args.epochs,
        limit=args.limit,
        data_dir=args.data_dir,
        results=args.results,
        overrides=dict(args.set),
        random_init=args.random_init,
    )
    rows = found["runs"]
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
