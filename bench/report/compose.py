"""The report's data and its tables as formatted, marked-up cells (the sections that show them: `sections`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.report import budget, carbon, cost, costonly, fmt, stats
from bench.report.budget import Pricing
from bench.report.cells import runner_cell, seeds_cell
from bench.report.classes_section import ClassesReport
from bench.report.load import OK, AlignedPredictions, SuiteResults
from bench.report.multilabel_section import MultiLabelReport
from bench.report.plots import Plot
from bench.report.render import Cell, Code, Paragraph, Strong, Table


@dataclass(frozen=True)
class ReportData:
    """Everything computed for one report."""

    results: SuiteResults
    aligned: AlignedPredictions | None
    summary: pd.DataFrame
    comparison: pd.DataFrame
    lengths: pd.DataFrame
    statuses: pd.DataFrame
    failures: pd.DataFrame
    baseline: str | None
    plots: list[Plot]
    skipped_plots: list[str]
    published: pd.DataFrame | None = None  # published results beside the runners (`bench.report.published`)
    multilabel: MultiLabelReport | None = None  # a multi-label suite's tables and plots
    classes: ClassesReport | None = None  # per-class figures, confusion matrices, calibration
    results_dir: Path | None = None  # the first results folder (its profile records: `bench profile`)
    out_dir: Path | None = None  # where the report is written (sections with figures of their own draw them there)
    across: Path | Sequence[Path] | None = None  # every results folder read (the leaderboard across suites)
    pricing: Pricing | None = None  # the GPU-hour price of the budget columns


def _positive(data: ReportData) -> tuple[str, list[Paragraph]]:
    """The header suffix naming the positive class of F1, precision and recall (' (positive: x)'), or '' where
    runners differ (each cell names its own) or the task has more than two classes; and the notes on it."""
    s = data.summary[(data.summary["seeds_ok"] > 0) & ~data.summary["cost_only"].astype(bool)]
    labels = set(s["positive_label"]) - {""}
    if not labels:
        return "", []
    notes = []
    if len(labels) > 1:
        notes.append(
            Paragraph.of(
                Strong("The runners' F1, precision and recall are on different positive classes"),
                " (below each value): they are not comparable across runners.",
                alert=True,
            )
        )
    unnamed = s.loc[~s["positive_named"].astype(bool), "runner"]
    if len(unnamed):
        names = data.results.label_names
        label = repr(names[1]) if len(names) == 2 else "label id 1"
        notes.append(
            Paragraph.of(
                "The records of ",
                ", ".join(unnamed),
                " do not name their positive class (written before ",
                Code("positive_label"),
                f"); they were computed on label id 1, the second of the sorted label names: {label}.",
                alert=True,
            )
        )
    return (f" (positive: {labels.pop()})" if len(labels) == 1 else ""), notes


def quality_table(data: ReportData) -> Table:
    s = data.summary[~data.summary["cost_only"].astype(bool)].reset_index(drop=True)
    positive, positive_notes = _positive(data)
    per_cell = positive == "" and bool((s["positive_label"] != "").any())  # runners on different classes
    best = {m: fmt.best_mask(list(s[f"{m}_mean"])) for m in ("accuracy", "f1", "precision", "recall")}
    rows = []
    for i, row in s.iterrows():
        failed = row["seeds_ok"] == 0
        cells = [runner_cell(row["runner"], data.baseline)]  # the metrics next: on a phone, in the first screen
        for m in ("accuracy", "f1", "precision", "recall"):
            text = "failed" if failed else fmt.metric(row[f"{m}_mean"], row[f"{m}_std"])
            ci = fmt.interval(row[f"{m}_ci_low"], row[f"{m}_ci_high"])
            if per_cell and m != "accuracy" and row["positive_label"]:
                ci = f"{ci} (positive: {row['positive_label']})".strip()
            marked = best[m][i] and not (per_cell and m != "accuracy")
            cells.append(Cell(text, ci, best=marked, bad=failed, numeric=True))
        cells.append(seeds_cell(row))
        cells += [Cell(str(row["model_family"] or fmt.MISSING)), Cell(fmt.length(row["max_length"]), numeric=True)]
        cells.append(Cell(fmt.length(row["attention_window"])))
        rows.append(cells)
    if positive or per_cell:
        average = ["binary, of the positive class named ", "in the header" if positive else "below each value"]
    else:
        f1_average = data.results.runs["f1_average"].dropna().unique()
        average = [Code(f1_average[0] if len(f1_average) == 1 else "binary for two classes, macro otherwise")]
    notes = [
        Paragraph.of(
            "Mean ± std (sample, ddof=1) over successful seeds: the ± is the spread over training seeds; a single "
            "seed shows its value with no ±. Below each: the 95% bootstrap CI over test examples (",
            str(stats.N_BOOTSTRAP),
            " resamples of the test set, each seed scored on the same resample and averaged): it covers ",
            Strong("test-set sampling only"),
            ", the trained models held fixed. ",
            Strong("Bold"),
            ": best in the column. F1, precision and recall: ",
            *average,
            ".",
        ),
        *positive_notes,
    ]
    cost_only = list(data.summary.loc[data.summary["cost_only"].astype(bool), "runner"])
    if cost_only:
        notes.append(costonly.note(cost_only, "this table, the rankings, the paired tests and the accuracy plots"))
    metrics = ["accuracy", *(f"{m}{positive}" for m in ("F1", "precision", "recall"))]
    return Table(["runner", *metrics, "seeds", "model family", "max length", "attention window"], rows, notes)


def cost_table(data: ReportData) -> Table:
    return carbon.extend(budget.extend(cost.cost_table(data.summary, data.baseline), data.summary), data.summary)


def _verdict(row: object) -> str:
    if row.p_holm >= 0.05:  # adjusted for the number of comparisons the table makes
        return "no clear difference"
    verdict = "better" if row.delta > 0 else "worse"
    if pd.notna(row.delta_seed_ci_low) and row.delta_seed_ci_low <= 0 <= row.delta_seed_ci_high:
        return f"{verdict} on this test set; within the spread over seeds"
    return verdict


def comparison_table(data: ReportData) -> Table:
    two_level = bool(data.comparison["delta_seed_ci_low"].notna().any())
    rows = []
    for row in data.comparison.itertuples():
        ci = fmt.interval(100 * row.delta_ci_low, 100 * row.delta_ci_high, 2)
        cells = [
            Cell(row.runner),
            Cell(fmt.points(row.delta), f"{ci} pp" if ci else "", best=row.p_holm < 0.05, numeric=True),
        ]
        if two_level:
            seed_ci = fmt.interval(100 * row.delta_seed_ci_low, 100 * row.delta_seed_ci_high, 2)
            few = f"(< {stats.MIN_SEEDS_TWO_LEVEL} seeds)"
            cells.append(Cell(f"{seed_ci} pp" if seed_ci else fmt.MISSING, "" if seed_ci else few, numeric=True))
        cells += [
            Cell(fmt.p_value(row.p_holm), f"(raw {fmt.p_value(row.p_value)}; {row.p_method})", numeric=True),
            Cell(f"{row.better:,} / {row.worse:,}", numeric=True),
            Cell(f"{row.seeds} / {row.baseline_seeds}", numeric=True),
            Cell(_verdict(row)),
        ]
        rows.append(cells)
    task = data.results.kind
    metric = task.label(str(data.comparison["metric"].iloc[0])) if len(data.comparison) else "accuracy"
    columns = ["runner", f"Δ {metric} vs baseline", *(["Δ 95% CI, seeds and test set"] if two_level else [])]
    columns += ["p-value (Holm)", "examples better / worse", "seeds (runner / baseline)", "verdict"]
    n = f"{data.aligned.n if data.aligned else 0:,}"
    total = _suite_test_size(data)
    if data.aligned is not None and total > data.aligned.n:  # a paired test on fewer documents than the suite has
        n += f" (of the suite's {total:,}: the others lack a prediction from some run, and no comparison uses them)"
    method = Paragraph.of(
        f"Δ: runner minus baseline {metric} (the suite's main metric) on the same {n} test examples, in percentage "
        "points, averaged over each runner's seeds. Below it: 95% paired bootstrap CI (the same resampled examples "
        f"score both runners). p-value: {task.p_method}, Holm-adjusted over the table's {len(data.comparison)} "
        "comparisons (the raw one below it). Bold and the verdict: adjusted p < 0.05."
    )
    notes = [
        method
        if metric != "accuracy"
        else Paragraph.of(
            f"Δ: runner minus baseline accuracy on the same {n} test examples, in percentage points, averaged over "
            "each runner's seeds. Below it: 95% paired bootstrap CI (the same resampled examples score both "
            "runners). p-value: ",
            Strong("exact McNemar test"),
            " on the discordant examples when both runners have one seed; with more seeds, a ",
            Strong("paired sign-flip permutation test"),
            f" on per-example seed-averaged correctness ({stats.N_SIGN_FLIPS:,} random flips), which reduces to "
            f"McNemar for one seed. The p-value shown is Holm-adjusted over the table's {len(data.comparison)} "
            "comparisons (the raw one below it): read at 0.05, the chance of any false difference among all of them "
            "stays under 5%. Bold and the verdict: adjusted p < 0.05.",
        ),
        Paragraph.of(
            "Which uncertainty each figure covers: the CI below Δ and the p-value cover ",
            Strong("test-set sampling only"),
            ": they ask whether these trained models differ on documents like the test set, not whether another "
            "training seed would give the same answer. "
            + (
                "The CI in its own column covers "
                if two_level
                else f"With {stats.MIN_SEEDS_TWO_LEVEL} or more seeds per runner the report adds an interval over "
            ),
            Strong("seeds and test set"),
            (
                f": a two-level bootstrap ({stats.N_BOOTSTRAP:,} resamples) that draws each runner's seeds, then the "
                f"test examples, with replacement; shown where both runners have {stats.MIN_SEEDS_TWO_LEVEL} or more "
                "seeds. A verdict whose two-level interval holds 0 says so."
                if two_level
                else " (a two-level bootstrap: seeds, then examples)."
            ),
        ),
    ]
    return Table(columns, rows, notes)


def length_table(data: ReportData) -> Table:
    lengths = data.lengths
    buckets = lengths.drop_duplicates("bucket_index").sort_values("bucket_index")
    pivot = lengths.pivot(index="runner", columns="bucket_index")
    runners = [r for r in data.summary["runner"] if r in pivot.index]
    meta = data.summary.set_index("runner")
    rows = [[runner_cell(r, data.baseline), Cell(fmt.length(meta.loc[r, "max_length"]), numeric=True)] for r in runners]
    for b in buckets["bucket_index"]:
        means = [pivot.loc[r, ("accuracy_mean", b)] for r in runners]
        marks = fmt.best_mask(means)
        for k, r in enumerate(runners):
            rows[k].append(Cell(fmt.metric(means[k], pivot.loc[r, ("accuracy_std", b)]), best=marks[k], numeric=True))
    columns = [
        "runner",
        "max length",
        *(f"{b} tokens (n={n:,})" for b, n in zip(buckets["bucket"], buckets["n_examples"], strict=True)),
    ]
    tokens_of = data.aligned.tokens_of if data.aligned is not None else None
    whose = "the baseline" if tokens_of == data.baseline else "the baseline has no token counts"
    notes = [
        Paragraph.of(
            "Test accuracy on documents in each length bucket (n = documents). ",
            Strong(f"Lengths in {tokens_of}'s tokens"),
            f" ({whose}), before truncation, for every runner: a bucket holds the same documents for all, though "
            "each runner's own tokenizer may count a document's tokens differently. Mean ± std over seeds (the spread "
            "over seeds only; a small bucket's test-set sampling adds more). Bold: best in the bucket. A runner loses "
            "accuracy where documents outgrow its max length.",
        )
    ]
    return Table(columns, rows, notes)


def status_table(data: ReportData) -> Table:
    columns = list(data.statuses.columns)
    rows = []
    for _, row in data.statuses.iterrows():
        rows.append([Cell(row["runner"]), *(Cell(str(row[c]), bad=row[c] != OK) for c in columns[1:])])
    return Table(columns, rows)


def failure_table(data: ReportData) -> Table:
    rows = []
    for row in data.failures.itertuples():
        error = " ".join(str(row.error or "no error message recorded").split())
        error = error if len(error) <= 400 else error[:400] + " …"
        rows.append([Cell(row.runner), Cell(str(row.seed), numeric=True), Cell(row.status, bad=True), Cell(error)])
    return Table(["runner", "seed", "status", "error"], rows)


def provenance_table(data: ReportData) -> Table:
    """Distinct values of the records' device fields and top-level environment entries."""
    runs = data.results.runs
    values: dict[str, set[str]] = {}
    for name in ("device", "gpu_name", "gpu_driver"):
        values[name] = set(runs[name].dropna().astype(str))
    for env in data.results.environments:
        for key, value in env.items():
            items = value.items() if isinstance(value, dict) else [("", value)]
            for sub, v in items:
                if v is not None and not isinstance(v, dict | list):
                    values.setdefault(f"{key}.{sub}" if sub else key, set()).add(str(v))
    if "checkpoint_revision" in runs and "model_id" in runs:  # which weights each checkpoint id meant
        for model_id, group in runs.dropna(subset=["model_id"]).groupby("model_id"):
            values[f"weights of {model_id}"] = set(group["checkpoint_revision"].dropna().astype(str))
    rows = [[Cell(k), Cell(", ".join(sorted(v)))] for k, v in values.items() if v]
    finished = runs["finished_at"].dropna().astype(str)
    if not finished.empty:
        span = finished.min() if finished.min() == finished.max() else f"{finished.min()} … {finished.max()}"
        rows.append([Cell("finished_at"), Cell(span)])
    return Table(["field", "value(s) across records"], rows[:60])


def _suite_test_size(data: ReportData) -> int:
    """The test documents the suite has: every id any run predicted, or the most any finished run evaluated."""
    aligned, runs = data.aligned, data.results.runs
    seen = aligned.n + aligned.n_dropped if aligned is not None else 0
    evaluated = runs.loc[runs["status"] == OK, "n_test"].max() if len(runs) else float("nan")
    return max(seen, int(evaluated) if evaluated == evaluated else 0)
