"""`bench inspect`: its arguments and what it prints; the computation lives in `bench.preflight`, reached through
`bench.api.inspect`."""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES = """examples:
  bench inspect --suite imdb --data-dir ../shared/data/imdb       # offline: rows without a tokenizer say why
  bench inspect --suite imdb --data-dir ../shared/data/imdb --random-init   # stand-in tokenizers of each family
  bench inspect --suite imdb-minilm --data-dir ../shared/data/imdb          # MiniLM's real WordPiece tokenizer
  bench inspect --suite imdb --models-dir /models --runners roberta-512,longformer-512-4096
  bench inspect --suite demo --format json                                   # machine-readable, on stdout

No training, no GPU, no network. Per runner: document lengths in its own tokens (p50/p90/p95/p99/max), the share
of documents it truncates and of tokens it drops, the padding of its training micro-batches, and, where
<results>/profile/ has records for it (`bench profile`), the protocol's time and memory estimated from them.
Files: inspect.md, inspect.csv, inspect.json and lengths.png in --out (default reports/<suite>/inspect/).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `bench inspect` options to `parser` (--set, --random-init and --models-dir are added by the caller,
    shared with `bench run`)."""
    from bench.cli import _name_list, _positive_int

    parser.add_argument(
        "--suite", default="demo", help="built-in suite name or a .yaml/.toml suite file (default: demo)"
    )
    parser.add_argument("--runners", type=_name_list, help="comma-separated runners (default: the suite's)")
    parser.add_argument("--data-dir", type=Path, help="read train/test files (or aclImdb folders) from DIR")
    parser.add_argument(
        "--limit", type=_positive_int, help="at most N training documents, as `bench run --limit` (default: all)"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=Path("results"),
        help="where `bench profile` wrote its records, for the estimates (default: results/)",
    )
    parser.add_argument("--out", type=Path, help="folder for the files (default: reports/<suite>/inspect/)")
    from bench.cli import add_format

    add_format(parser)  # --json: inspect.json's content on stdout instead of the table


def run(args: argparse.Namespace) -> int:
    from bench import api
    from bench.cli import essential, print_json
    from bench.cli.paths import check_out_folder
    from bench.preflight import table_lines, to_json
    from bench.preflight.output import describe

    check_out_folder(args.out)
    found = api.inspect(
        args.suite,
        runners=args.runners,
        data_dir=args.data_dir,
        limit=args.limit,
        random_init=args.random_init,
        overrides=dict(args.set),
        results=args.results,
    )
    out = args.out or Path("reports") / found.suite / "inspect"
    from bench.preflight import write_files

    written = write_files(found, out)
    if args.format == "json":
        print_json(to_json(found))
        return 0
    print(describe(found))
    print()
    print("\n".join(table_lines(found)))
    print()
    essential(f"files: {', '.join(str(p) for p in written)}")
    return 0
