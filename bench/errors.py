"""The one exception type for mistakes a user can fix (exit code 2, one line, no traceback)."""

from __future__ import annotations


class BenchError(Exception):
    """A user error: the message says what is wrong and how to fix it."""
