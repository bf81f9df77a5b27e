"""`bench publish`: its arguments and what it runs, a thin layer over `bench.publish`."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """examples:
  bench publish --suite imdb --repo me/bench-imdb              # records, report, leaderboard -> a dataset repo
  bench publish --suite imdb --repo me/bench-imdb --private
  bench run --suite imdb --keep-model && bench publish --suite imdb --repo me/bench-imdb --models
                                                             # and each kept model -> me/bench-imdb-<runner>-seed<k>

The token is HF_TOKEN's, else the one `hf auth login` stored; HF_ENDPOINT points at another Hub. Publishing the
same results again makes no commit.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `bench publish` options to `parser`."""
    from bench.cli.report import add_price_arguments

    parser.add_argument("--suite", default="demo", help="the suite to publish (default: demo)")
    parser.add_argument("--repo", required=True, help="the dataset repo, user/name (a name alone: the token's user)")
    parser.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results/)")
    parser.add_argument("--private", action="store_true", help="create missing repos private")
    parser.add_argument(
        "--models", action="store_true", help="also push each model `bench run --keep-model` kept, with its card"
    )
    add_price_arguments(parser)


def register(sub: argparse._SubParsersAction) -> None:
    """The `publish` subcommand, on `bench`'s subparsers."""
    parser = sub.add_parser(
        "publish",
        help="push a suite's records, report and leaderboard (and kept models) to the Hugging Face Hub",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Publish and say where each repo is and whether it changed; a `BenchError` is `bench`'s one-line error."""
    import sys

    from bench.publish import publish

    def warn(line: str) -> None:
        print(f"bench: warning: {line}", file=sys.stderr)

    done = publish(
        args.suite,
        args.repo,
        results=args.results,
        private=args.private,
        models=args.models,
        gpu_price=args.gpu_price,
        currency=args.currency,
        warn=warn,
    )
    for pushed in (done.dataset, *done.models):
        what = f"commit {pushed.commit[:12]}" if pushed.changed else "unchanged, no new commit"
        print(f"{pushed.repo_type} {pushed.repo_id}: {pushed.url} ({what})")
    for line in done.problems:
        warn(line)
    return 0
