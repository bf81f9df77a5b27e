"""Published results beside the measured runners of the same family: does a run reproduce the literature?"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from bench.report import fmt
from bench.report.load import OK, SuiteResults
from bench.report.render import Cell, Code, Paragraph, Strong, Table

COLUMNS = ["family", "metric", "runner", "seeds_ok", "n_test", "accuracy_mean", "accuracy_std", "accuracy_ci_low",
           "accuracy_ci_high", "model", "published", "published_std", "delta", "verdict", "source", "url", "note"]  # fmt: skip


def _verdict(row: dict[str, Any]) -> str:
    """Whether the measured accuracy agrees with the published one: their intervals (the measured 95% CI over test
    examples; the published value ± 2 published std, where one is given) overlap."""
    if row["runner"] is None:
        return "not run"
    if not row["seeds_ok"]:
        return "no finished run"
    low, high = row["accuracy_ci_low"], row["accuracy_ci_high"]
    if math.isnan(low) or math.isnan(high):
        return "no CI (no predictions)" if row.get("metric", "accuracy") in ("accuracy", "f1") else "no CI"
    spread = 2 * (row["published_std"] or 0.0)
    if high < row["published"] - spread:
        return "below"
    if low > row["published"] + spread:
        return "above"
    return "agrees"


SETTINGS = ("max_length", "attention_window", "truncation")  # what a reference may say it was measured at


def reads_as(reference: dict[str, Any], runner: pd.Series) -> bool:
    """Whether `runner` (a row of the summary) is what `reference` measured: the same family, every setting the
    reference states equal to the runner's, and real weights (a cost-only `@random-init` run has learned nothing)."""
    if runner.get("model_family") != reference.get("family") or bool(runner.get("cost_only", False)):
        return False
    return all(_same(runner.get(name), reference.get(name)) for name in SETTINGS if reference.get(name) is not None)


def _same(have: Any, wanted: Any) -> bool:
    """A runner's setting (as read from the records: a number may have become a float, missing None or NaN) equal
    to what the reference states."""
    if have is None or (isinstance(have, float) and math.isnan(have)):
        return False
    if isinstance(wanted, int):
        try:
            return int(have) == wanted
        except (TypeError, ValueError):
            return False
    return str(have) == str(wanted)


def published_table(results: SuiteResults, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per (published reference, measured runner that reads as it did: `reads_as`); a reference no runner
    of the suite matches gets one row with no runner, so the literature is shown all the same."""
    ok = results.runs[results.runs["status"] == OK]
    n_test = ok.groupby("runner")["n_test"].mean()
    rows = []
    for ref in results.references:
        metric = ref.get("metric") or "accuracy"
        matches = _measured(summary, ok, metric)
        matches = matches[[reads_as(ref, row) for _, row in matches.iterrows()]]
        value = ref.get("value") if ref.get("value") is not None else ref.get("accuracy")  # older files: accuracy
        base = {
            "family": ref.get("family"),
            "metric": metric,
            "model": ref.get("model"),
            "published": float(value if value is not None else math.nan),
            "published_std": ref.get("std"),
            "source": ref.get("source"),
            "url": ref.get("url"),
            "note": ref.get("note"),
        }
        measured = [
            {
                "runner": m["runner"],
                "seeds_ok": int(m["seeds_ok"]),
                "n_test": n_test.get(m["runner"], math.nan),
                **{k: m[k] for k in ("accuracy_mean", "accuracy_std", "accuracy_ci_low", "accuracy_ci_high")},
            }
            for _, m in matches.iterrows()
        ] or [
            {
                "runner": None,
                "seeds_ok": 0,
                "n_test": math.nan,
                "accuracy_mean": math.nan,
                "accuracy_std": math.nan,
                "accuracy_ci_low": math.nan,
                "accuracy_ci_high": math.nan,
            }
        ]
        for m in measured:
            row = {**base, **m}
            row["delta"] = row["accuracy_mean"] - row["published"]
            row["verdict"] = _verdict(row)
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _measured(summary: pd.DataFrame, ok: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The summary with the reference's `metric` under the accuracy_* columns the table reads: the summary's own
    mean, std and CI where it has them (accuracy, F1), else the records' mean and std over seeds with no CI (a
    multi-label suite's micro-F1, whose CIs live in its own section)."""
    out = summary.copy()
    if metric == "accuracy":
        return out
    if f"{metric}_mean" in out:
        for part in ("mean", "std", "ci_low", "ci_high"):
            out[f"accuracy_{part}"] = out.get(f"{metric}_{part}", math.nan)
        return out
    by_runner = ok.groupby("runner")[metric] if metric in ok else None
    out["accuracy_mean"] = out["runner"].map(by_runner.mean()) if by_runner is not None else math.nan
    out["accuracy_std"] = out["runner"].map(by_runner.std()) if by_runner is not None else math.nan
    out["accuracy_ci_low"] = out["accuracy_ci_high"] = math.nan
    return out


def _text(value: Any) -> str:
    """A text cell of the table: '' for a missing value (None, or NaN once in a DataFrame)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def published_section(published: pd.DataFrame) -> Table:
    """The table of published results, each next to the measured runner of the same family."""
    rows = []
    for row in published.itertuples():
        runner = _text(row.runner)
        measured = fmt.metric(row.accuracy_mean, row.accuracy_std) if runner else "not run"
        std = math.nan if not _text(row.published_std) else float(row.published_std)
        source = ", ".join(s for s in (_text(row.source), _text(row.url)) if s)
        rows.append(
            [
                Cell(runner or fmt.MISSING, f"({row.family})"),
                Cell(
                    measured,
                    fmt.interval(row.accuracy_ci_low, row.accuracy_ci_high),
                    numeric=True,
                    bad=bool(runner) and not row.seeds_ok,
                ),
                Cell(fmt.length(row.n_test), numeric=True),
                Cell(fmt.metric(row.published, std), f"{row.metric}, {_text(row.model)}", numeric=True),
                Cell(fmt.points(row.delta), numeric=True),
                Cell(row.verdict, bad=row.verdict in ("below", "above")),
                Cell(source, _text(row.note)),
            ]
        )
    notes = [
        Paragraph.of(
            "Each published result beside the runners of this suite of its ",
            Code("model_family"),
            " that read as it did: the same max length, attention window and truncation where the reference states "
            "them (a runner matching none gets none, not the nearest; cost-only runs with random weights never). The "
            "published metric (accuracy, F1, micro-F1) and model are named under its value, and the runner is "
            "measured on the same metric: a BERT-base figure set beside a RoBERTa runner compares the "
            "cut, not the checkpoint. Measured: mean ± std over seeds, below it the "
            "95% bootstrap CI over test examples. Δ: measured minus published, in percentage points. ",
            Strong("agrees"),
            ": the CI overlaps the published value (± 2 published std where one is given); ",
            Strong("below"),
            " / ",
            Strong("above"),
            ": it does not. Published figures are on the full test set and their authors' protocol; a run on fewer "
            "test documents (",
            Code("--limit"),
            ") or with fewer epochs is not expected to match.",
        )
    ]
    columns = ["runner", "measured", "test docs", "published", "Δ", "verdict", "source"]
    return Table(columns, rows, notes)
