# PYTHON_ARGCOMPLETE_OK  (argcomplete's global completion looks for this line: shell completion, optional)
"""Command line: `bench run`, `bench list`, `bench report`, `bench leaderboard`, `bench profile`, `bench inspect`
and `bench status`; the only argparse in bench.

Each command is a module with `run(args) -> exit code`; this one builds the parser, the flags every command has
(`-q`/`-v`; `bench --version`), and turns a `BenchError` into one line and exit code 2.

Under `-q` a command prints only its essential line (`essential()`: the file it wrote, the counts, or its JSON) and
errors; everything else it prints goes nowhere. `--format json` (or `--json`) prints one JSON document on stdout,
with the keys docs/api.md lists (`print_json`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import output
from bench.errors import BenchError

COMMANDS = ("run", "list", "report", "leaderboard", "profile", "inspect", "status", "publish")
GLOBAL_FLAGS = ("-q", "--quiet", "-v", "--verbose")


class _Console:
    stdout: Any = None  # where essential lines go: the stdout the command started with (set by `main`)


def essential(line: str) -> None:
    """A command's line that `-q` keeps (a path, the counts, its JSON): printed to the stdout `main` started with."""
    print(line, file=_Console.stdout or sys.stdout, flush=True)


def jsonable(value: Any) -> Any:
    """`value` with what JSON cannot hold made plain: NaN and infinities -> null, numpy scalars -> numbers, paths
    and other objects -> strings, tuples -> lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | str):
        return value
    if hasattr(value, "item") and not isinstance(value, int | float):  # numpy scalars, pandas' NA-free scalars
        with contextlib.suppress(ValueError, TypeError):
            value = value.item()
    if isinstance(value, int | float):
        return None if isinstance(value, float) and not math.isfinite(value) else value
    with contextlib.suppress(TypeError, ValueError):
        import pandas as pd

        if pd.isna(value):
            return None
    return str(value)


def print_json(document: dict[str, Any]) -> None:
    """`--format json`: one JSON document on stdout (kept under `-q`), strict JSON (no NaN)."""
    essential(json.dumps(jsonable(document), indent=2, allow_nan=False))


def add_format(parser: argparse.ArgumentParser) -> None:
    """`--format text|json` and its short form `--json`."""
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default), or json: one JSON document on stdout with stable keys (docs/api.md)",
    )
    parser.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")


def _verbosity_flags() -> argparse.ArgumentParser:
    """`-q` and `-v`, given to every command."""
    flags = argparse.ArgumentParser(add_help=False)
    group = flags.add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        dest="verbosity",
        action="store_const",
        const=output.QUIET,
        help="print only errors and the command's essential line (no progress bars)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        dest="verbosity",
        action="store_const",
        const=output.VERBOSE,
        help="say more: `bench run` shows each run's full log on the console (it is always written to "
        "results/<suite>/runs/<runner>/seed<k>.log); on an error, its traceback",
    )
    flags.set_defaults(verbosity=output.NORMAL)
    return flags


RUN_EXAMPLES = """examples:
  bench run                                    # the offline demo suite (tiny models, 2 to 4 minutes on 2 CPU cores)
  bench run --suite imdb                       # RoBERTa-512 vs Longformer on IMDB (needs a GPU and the Hub)
  bench run --suite imdb --data-dir ../shared/data/imdb --runners tiny-roberta-512 --limit 600 --epochs 1
  bench run --suite imdb --runners roberta-512,longformer-512-4096 --seeds 0,1,2
  bench run --suite imdb-minilm --data-dir ../shared/data/imdb --limit 600 --epochs 1   # real model, offline
  bench run --suite imdb --data-dir ../shared/data/imdb --runners roberta-512 --random-init --limit 200 # cost only
  bench run --suite my_suite.yaml --overwrite  # a suite of your own (docs/suites.md)
  bench run --set protocol.learning_rate=1e-3 --set seeds=[0,1]   # any suite key, validated like the file
  bench run --report-to tensorboard            # events in results/<suite>/runs/<runner>/seed<k>.tensorboard/
"""
LIST_EXAMPLES = """examples:
  bench list                 # all suites and runners
  bench list --suite imdb    # what the imdb suite runs, with its data and protocol
  bench list --suite imdb --set protocol.epochs=1   # the same, with a suite key overridden
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


def _folder(text: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a directory")
    return path.resolve()


def _checkpoint_options(parser: argparse.ArgumentParser) -> None:
    """Where pretrained runners get their weights: options shared by `bench run` and `bench profile`."""
    parser.add_argument(
        "--random-init",
        action="store_true",
        help="build every pretrained runner from bench's bundled config with random weights (no hub, no cache): "
        "cost only, recorded as <runner>@random-init and left out of accuracy comparisons",
    )
    parser.add_argument(
        "--models-dir",
        type=_folder,
        help="a folder of local checkpoints: model id org/name loads from DIR/org/name (same as $BENCH_MODELS_DIR)",
    )


def _name_list(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected comma-separated runner names")
    return names


def _override(text: str) -> tuple[str, Any]:
    from bench.data.suite import parse_override

    try:
        return parse_override(text)
    except BenchError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _add_set(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        type=_override,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a suite key (dotted, e.g. protocol.learning_rate=2e-5, data.text_column=body, seeds=[0,1]); "
        "the value is read as YAML; repeatable",
    )


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line like every other bench error (exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"bench: error: {message} (see `{self.prog} --help`)\n")


class _Command(_Parser):
    """A command's parser: every command has -q and -v."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(parents=[_verbosity_flags(), *kwargs.pop("parents", [])], **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bench",
        description="Is a long-context classifier worth its cost on your documents? Fine-tune text classifiers "
        "under one protocol and compare accuracy, memory and throughput.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=RUN_EXAMPLES,
    )
    from bench import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Command)
    run = sub.add_parser(
        "run",
        help="fine-tune and evaluate a suite's runners",
        epilog=RUN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--suite", default="demo", help="built-in suite name or a .yaml/.toml suite file (default: demo)")
    run.add_argument("--runners", type=_name_list, help="comma-separated runners (default: the suite's)")
    run.add_argument("--seeds", type=_int_list, help="comma-separated seeds (default: the suite's)")
    run.add_argument(
        "--limit",
        type=_positive_int,
        help="use at most N documents for training and validation together (test scaled alike)",
    )
    run.add_argument("--epochs", type=_positive_int, help="override the suite's number of epochs")
    run.add_argument("--data-dir", type=Path, help="read train/test files (or aclImdb folders) from DIR")
    run.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results/)")
    run.add_argument("--overwrite", action="store_true", help="re-run runs that already have a record")
    _add_set(run)
    run.add_argument(
        "--report-to",
        metavar="TRACKERS",
        help="experiment trackers, comma-separated: tensorboard, wandb, mlflow, trackio, or none "
        "(default: the suite's report_to, else none)",
    )
    run.add_argument("--keep-model", action="store_true", help="keep each run's best checkpoint (for bench publish)")
    _checkpoint_options(run)
    from bench.cli import report as report_cli
    from bench.cli import scale

    report_cli.add_price_arguments(run)

    scale.add_arguments(run)
    run.epilog = RUN_EXAMPLES + "\n" + scale.EXAMPLES
    lst = sub.add_parser(
        "list",
        help="list suites and runners",
        epilog=LIST_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lst.add_argument("--suite", help="show one suite in detail")
    _add_set(lst)
    add_format(lst)
    from bench.cli import profile as profile_cli

    rep = sub.add_parser(
        "report",
        help="render tables and plots from results/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  bench report\n  bench report --suite imdb --baseline roberta-512\n"
        "  bench report --suite imdb --gpu-price 2.5             # money at 2.5 USD per GPU-hour\n"
        "  bench report --suite imdb --gpu-price 2.1 --currency EUR\n",
    )
    report_cli.add_arguments(rep)

    from bench.cli import leaderboard as leaderboard_cli

    board = sub.add_parser(
        "leaderboard",
        help="one table across suites: runner x suite, main metric with CI, mean rank, cost",
        epilog=leaderboard_cli.EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    leaderboard_cli.add_arguments(board)

    prof = sub.add_parser(
        "profile",
        help="measure memory and time per step against sequence length (no fine-tuning)",
        epilog=profile_cli.EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    profile_cli.add_arguments(prof)
    _checkpoint_options(prof)

    from bench.cli import inspect as inspect_cli

    insp = sub.add_parser(
        "inspect",
        help="document lengths per runner's tokenizer, truncation, padding, estimated cost (no training, no GPU)",
        epilog=inspect_cli.EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect_cli.add_arguments(insp)
    _add_set(insp)
    _checkpoint_options(insp)

    from bench.cli import status as status_cli

    stat = sub.add_parser(
        "status",
        help="which runs of a suite finished, failed, run now or wait (here or on a cluster)",
        epilog=status_cli.EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    status_cli.add_arguments(stat)
    from bench.cli import publish as publish_cli

    publish_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    with contextlib.suppress(ImportError):  # shell completion where the `completion` extra is installed
        import argcomplete

        argcomplete.autocomplete(parser)  # exits here when the shell asks for completions, does nothing otherwise
    argv = list(sys.argv[1:] if argv is None else argv)
    leading = []  # `bench -q list` is `bench list -q`: the flags every command has may come before it
    while argv and argv[0] in GLOBAL_FLAGS:
        leading.append(argv.pop(0))
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help", "--version"):
        argv.insert(0, "run")  # `bench` alone (or `bench --suite x`) means `bench run`
    argv[1:1] = leading if argv[0] in COMMANDS else []
    args = parser.parse_args(argv)
    with _verbosity(args.verbosity):
        return _dispatch(args)


@contextlib.contextmanager
def _verbosity(level: str) -> Iterator[None]:
    """The command's verbosity for its duration (and its worker processes'); under -q, stdout goes nowhere but the
    essential lines still reach it. Restored after, for a caller that runs several commands in one process."""
    saved = {name: os.environ.get(name) for name in (output.ENV, "TQDM_DISABLE")}
    _Console.stdout = sys.stdout
    output.set_level(level)
    try:
        if level == output.QUIET:
            with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
                yield
        else:
            yield
    finally:
        _Console.stdout = None
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _dispatch(args: argparse.Namespace) -> int:
    if getattr(args, "models_dir", None) is not None:  # read by the runners, here and in every worker process
        from bench.runners.locate import MODELS_DIR_ENV

        os.environ[MODELS_DIR_ENV] = str(args.models_dir)
    try:
        if args.command == "list":
            from bench.cli.listing import run
        elif args.command == "report":
            from bench.cli.report import run
        elif args.command == "leaderboard":
            from bench.cli.leaderboard import run
        elif args.command == "profile":
            from bench.cli.profile import run
        elif args.command == "status":
            from bench.cli.status import run
        elif args.command == "inspect":
            from bench.cli.inspect import run
        elif args.command == "publish":
            from bench.cli.publish import run
        else:
            from bench.cli.run import run
        return run(args)
    except BenchError as err:
        if output.verbose():
            import traceback

            traceback.print_exc()
        print(f"bench: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\nbench: interrupted. Finished runs are saved, and the interrupted run keeps its last epoch checkpoint: "
            "run the same command again to resume.",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:  # `bench list | head`: the reader has gone, which is not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (so the interpreter's final flush does not fail again)
        return 0
