"""Regenerate the README's figure, docs/img/demo-accuracy-vs-cost.png, from a results folder of the demo suite.

bench run                          # once: writes results/demo/ (2 to 4 minutes on 2 CPU cores)
python docs/make_figure.py         # renders the report into a temporary folder and copies its accuracy-vs-cost plot
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import bench
from bench.errors import BenchError

FIGURE = Path(__file__).resolve().parent / "img" / "demo-accuracy-vs-cost.png"


def main(argv: list[str] | None = None) -> int:
    """Render `--suite`'s report from `--results` and copy its accuracy-vs-cost plot to `--out`."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default="results", help="the results folder `bench run` wrote (default results/)")
    parser.add_argument("--suite", default="demo")
    parser.add_argument("--out", type=Path, default=FIGURE, help=f"where the PNG goes (default {FIGURE})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            report_md = bench.report(args.suite, results=args.results, out=tmp)
        except BenchError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        plot = Path(report_md).parent / "plots" / "accuracy_vs_cost.png"
        if not plot.exists():
            print(f"error: the report of {args.suite} has no accuracy-vs-cost plot", file=sys.stderr)
            return 2
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(plot, args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
