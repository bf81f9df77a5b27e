"""`Report`: what `bench.report(...)` returns: a rendered report's path, its tables as DataFrames and its verdict,
readable from a script and shown in a notebook."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report.errors import ReportError

if TYPE_CHECKING:
    import pandas as pd


class Report(os.PathLike):
    """A suite's rendered report, read back from its files.

    It stands for report.md wherever a path does: `str(report)`, `open(report)`, `Path(report)`, `os.fspath`, and
    Path's own attributes (`report.parent`, `report.with_name("report.html")`, `report.read_text()`) are those of
    report.md. Besides:

    Attributes:
        path: report.md.
        html: report.html beside it (self-contained).
        tables: Every table the report wrote (tables/<name>.csv) as a DataFrame, by name: `summary` (one row per
            runner: quality with CIs, cost, budget), `comparison` (paired tests against the baseline),
            `accuracy_by_length`, `run_status`, `runs` (one row per run), and the others the suite's task writes.
        summary: `tables["summary"]`.
        verdict: The verdict's text (verdict.md), one sentence a line; None where the report has none.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._tables: dict[str, pd.DataFrame] | None = None

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"Report({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Report):
            return self.path == other.path
        if isinstance(other, str | os.PathLike):
            return self.path == Path(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.path)

    def __getattr__(self, name: str) -> Any:  # the rest of Path: .parent, .with_name, .exists(), .read_text() ...
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.path, name)

    @property
    def html(self) -> Path:
        return self.path.with_name("report.html")

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        if self._tables is None:
            import pandas as pd

            folder = self.path.parent / "tables"
            self._tables = {csv.stem: pd.read_csv(csv) for csv in sorted(folder.glob("*.csv"))}
        return self._tables

    def table(self, name: str) -> pd.DataFrame:
        """One table by name.

        Raises:
            ReportError: The report has no such table (the message lists those it has).
        """
        if name not in self.tables:
            have = ", ".join(self.tables) or "none"
            raise ReportError(f"report {self.path} has no table {name!r} (tables: {have})")
        return self.tables[name]

    @property
    def summary(self) -> pd.DataFrame:
        return self.table("summary")

    @property
    def verdict(self) -> str | None:
        path = self.path.with_name("verdict.md")
        return path.read_text(encoding="utf-8").strip() if path.is_file() else None

    def _repr_html_(self) -> str:
        """In a notebook: the verdict, the summary table and where the full report is."""
        where, page = html.escape(str(self.path)), html.escape(str(self.html))
        parts = [f"<p><b>bench report</b> <code>{where}</code> · full report: <code>{page}</code></p>"]
        if self.verdict:
            lines = "".join(f"<li>{html.escape(line)}</li>" for line in self.verdict.splitlines() if line.strip())
            parts.append(f"<p><b>Verdict</b></p><ul>{lines}</ul>")
        if "summary" in self.tables:
            parts.append(
                "<p><b>Summary</b></p>" + self.summary.to_html(index=False, na_rep="—", float_format="{:.4g}".format)
            )
        others = [name for name in self.tables if name != "summary"]
        if others:
            parts.append(f"<p>More tables in <code>.tables</code>: {html.escape(', '.join(others))}</p>")
        return "\n".join(parts)
