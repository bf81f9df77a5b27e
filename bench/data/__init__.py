"""Data: suite files (built-in and user), loading and validating documents, and the demo's synthetic documents.

One layer above `bench.results` (whose store says which names can become folders, and writes files atomically):
it imports nothing of bench but `config`, `errors`, `registry` and `results`.
"""

from __future__ import annotations

from bench.data.files import cache_dir
from bench.data.load import SuiteData, load_suite_data, texts_of
from bench.data.suite import builtin_suites, load_suite

__all__ = ["SuiteData", "builtin_suites", "cache_dir", "load_suite", "load_suite_data", "texts_of"]
