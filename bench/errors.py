"""The one exception type for mistakes a user can fix (exit code 2, one line, no traceback)."""

from __future__ import annotations


class BenchError(ValueError):
    """A user error: the message says what is wrong and how to fix it.

    A `ValueError`, so that callers of the Python API (`bench.run`, `bench.load_results`, `bench.report`) who do
    not know about `bench.errors` can catch it as the bad value it is."""
