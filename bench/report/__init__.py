"""Reports: tables, plots, report.md and a self-contained report.html, rebuilt from the run records alone.

The package is callable: `bench.report("demo")` is `report("demo")` below (see `_CallablePackage`), and returns a
`Report` (bench/report/handle.py): the report's path, its tables as DataFrames, the verdict, shown in a notebook."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.report.errors import ReportError
from bench.report.handle import Report

__all__ = ["Report", "ReportError", "build_report", "report"]


def build_report(
    results_dir: str | Path | Sequence[str | Path],
    suite: str,
    out_dir: str | Path | None = None,
    baseline: str | None = None,
    warn: Callable[[str], None] | None = None,
    gpu_price: float | None = None,
    currency: str = "USD",
) -> Path:
    """Build the report of one suite from `<results_dir>/<suite>/runs/`.

    Args:
        results_dir: The results folder `bench run` wrote to, or several (records from several machines): a
            (runner, seed) in more than one is reported once, from the first, and the report names the copies.
        suite: Suite name (the folder under `results_dir`).
        out_dir: Where to write; default `reports/<suite>/`.
        baseline: Runner every other runner is compared with; default the suite's 512-token head-truncated runner.
        warn: Called with each line the console should show too (a run found in two results folders).
        gpu_price: Price of a GPU-hour for the budget columns (every GPU run); default the shipped, dated list
            price of each run's GPU (`bench/report/prices.yaml`), none where its GPU is not listed.
        currency: The currency of `gpu_price` (a three-letter code).

    Returns:
        Path of the written report.md (report.html, tables/ and plots/ lie beside it).

    Raises:
        ReportError: No results for the suite, an unknown baseline, an unreadable record, or a price that is not
            a positive number.
    """
    # Imported here so that `bench --help` does not pay for pandas and matplotlib.
    from bench.output import activity
    from bench.report.budget import Pricing
    from bench.report.build import build

    pricing = Pricing(gpu_price, currency)  # refused before anything is read or written
    dirs = Path(results_dir) if isinstance(results_dir, str | Path) else [Path(d) for d in results_dir]
    with activity(f"report {suite}: tables, statistics, plots"):
        return build(dirs, suite, None if out_dir is None else Path(out_dir), baseline, warn, pricing)


def report(
    suite: str = "demo",
    *,
    results: str | Path = "results",
    out: str | Path | None = None,
    baseline: str | None = None,
    gpu_price: float | None = None,
    currency: str = "USD",
) -> Report:
    """`bench.report`: render a suite's report from its records, as `bench report` does.

    Args:
        suite: The suite (its folder under `results`).
        results: The results folder `bench run` wrote to.
        out: Where to write; default `reports/<suite>/`.
        baseline: Runner the others are compared with; default the suite's 512-token head-truncated runner.
        gpu_price: Price per GPU-hour for the budget (default: the shipped list price of each run's GPU).
        currency: The currency of `gpu_price`.

    Returns:
        A `Report`: it is the path of report.md wherever a path will do (`str()`, `open()`, `Path()`, and Path's
        attributes: `.parent`, `.with_name(...)`), with `.html`, `.tables` (name -> DataFrame, from tables/*.csv),
        `.summary`, `.verdict` (text) and, in a notebook, the verdict and summary table shown.

    Raises:
        ReportError: (a `bench.errors.BenchError`) no results for the suite, an unknown baseline, an unreadable record.
    """
    return Report(build_report(results, suite, out, baseline, gpu_price=gpu_price, currency=currency))


class _CallablePackage(types.ModuleType):
    """Python sets `bench.report` to this package once anything imports it, which would hide a function of the same
    name on `bench`; so the package itself is the API's `bench.report(...)`."""

    def __call__(
        self,
        suite: str = "demo",
        *,
        results: str | Path = "results",
        out: str | Path | None = None,
        baseline: str | None = None,
        gpu_price: float | None = None,
        currency: str = "USD",
    ) -> Report:
        return report(suite, results=results, out=out, baseline=baseline, gpu_price=gpu_price, currency=currency)


sys.modules[__name__].__class__ = _CallablePackage
