"""The report's user-error type: one actionable line, no traceback."""

from __future__ import annotations

from bench.errors import BenchError


class ReportError(BenchError, ValueError):
    """A mistake the user can fix (no results for a suite, an unknown baseline runner, an unreadable record).

    It is a `BenchError`, so `bench report` prints it as one line and exits with status 2, and a `ValueError`
    for callers of `build_report` that do not know about `bench.errors`.
    """
