"""`bench inspect` (the pre-flight): a check before any GPU hour. Document lengths in each runner's tokens, truncation, padding,
and the protocol's cost estimated from `bench profile`'s records; no training, no GPU."""

from __future__ import annotations

from bench.preflight.output import summary_line, table_lines, to_json, write_files
from bench.preflight.suite import Inspection, Row, inspect_suite, runners_of

__all__ = ["Inspection", "Row", "inspect_suite", "runners_of", "summary_line", "table_lines", "to_json", "write_files"]
