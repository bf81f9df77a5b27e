"""The results table as printed at the end of `bench run`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.config import SuiteConfig
from bench.runners import Runner

DISPLAY = {
    "runner": "runner",
    "seed": "seed",
    "status": "status",
    "accuracy": "accuracy",
    "f1": "f1",
    "max_length": "max_len",
    "attention_window": "window",
    "train_tokens_per_s": "train tok/s",
    "eval_samples_per_s": "eval samples/s",
    "peak_mem": "peak mem MB",
    "wall_s": "wall s",
}


def format_table(suite: SuiteConfig, results: Path, runners: Sequence[Runner] = ()) -> str:
    """A readable table of the suite's results; synthetic suites add each runner's analytical expectation."""
    import pandas as pd

    table = pd.read_csv(results / suite.name / "results.csv")
    if table.empty:
        return "(no results)"
    gpu = table["peak_gpu_mem_mb"].notna().any()
    table["peak_mem"] = table["peak_gpu_mem_mb"] if gpu else table["peak_cpu_rss_mb"]
    display = dict(DISPLAY, peak_mem="peak GPU MB" if gpu else "peak CPU RSS MB")
    shown = table[list(display)].rename(columns=display)
    if suite.data.source == "synthetic":
        from bench.synthetic import SyntheticSpec, expected_accuracy

        spec = SyntheticSpec(**suite.data.synthetic)
        lengths = {r.max_length for r in runners if r.truncation == "head"}
        expected = {n: expected_accuracy(spec, n - 2) for n in lengths}
        shown.insert(4, "expected", table["max_length"].map(expected))
    return shown.to_string(index=False, float_format=lambda v: f"{v:.4g}", na_rep="—")
