"""Lay out the report: turn the tables and plots into headed sections of formatted, marked-up cells."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.report import budget, carbon, classes_section, cost, costonly, fmt, multilabel_section, stats, verdict
from bench.report.cells import runner_cell, seeds_cell
from bench.report.classes_section import ClassesReport
from bench.report.load import OK, AlignedPredictions, SuiteResults
from bench.report.multilabel_section import MultiLabelReport
from bench.report.plots import Plot
from bench.report.published import published_section
from bench.report.render import Cell, Code, Document, Heading, Image, Paragraph, Strong, Table


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
        cells = [runner_cell(row["runner"], data.baseline), Cell(str(row["model_family"] or fmt.MISSING))]
        cells += [Cell(fmt.length(row["max_length"]), numeric=True), Cell(fmt.length(row["attention_window"]))]
        cells.append(seeds_cell(row))
        for m in ("accuracy", "f1", "precision", "recall"):
            text = "failed" if failed else fmt.metric(row[f"{m}_mean"], row[f"{m}_std"])
            ci = fmt.interval(row[f"{m}_ci_low"], row[f"{m}_ci_high"])
            if per_cell and m != "accuracy" and row["positive_label"]:
                ci = f"{ci} (positive: {row['positive_label']})".strip()
            cells.append(Cell(text, ci, best=best[m][i] and not (per_cell and m != "accuracy"), bad=failed,
                              numeric=True))  # fmt: skip
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
    columns = ["runner", "model family", "max length", "attention window", "seeds", "accuracy"]
    return Table([*columns, *(f"{m}{positive}" for m in ("F1", "precision", "recall"))], rows, notes)


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


def _highlights(data: ReportData) -> list[Paragraph]:
    s = data.summary[(data.summary["seeds_ok"] > 0) & ~data.summary["cost_only"].astype(bool)]
    out = []
    if not s.empty and s["accuracy_mean"].notna().any():
        top = s.loc[s["accuracy_mean"].idxmax()]
        seeds = (
            f", {top['seeds_ok']} of {top['seeds_in_suite']} seeds" if top["seeds_ok"] < top["seeds_in_suite"] else ""
        )
        accuracy = fmt.metric(top["accuracy_mean"], top["accuracy_std"])
        out.append(
            Paragraph.of("Most accurate: ", Strong(top["runner"]), f" (accuracy {accuracy}{seeds}).", bullet=True)
        )
    if data.baseline is not None:
        out.append(Paragraph.of("Baseline for the paired comparison: ", Strong(data.baseline), ".", bullet=True))
    front = s[stats.pareto_front(s["train_s_per_epoch"].to_numpy(), s["accuracy_mean"].to_numpy())]
    if len(front):
        names = ", ".join(front.sort_values("train_s_per_epoch")["runner"])
        unmeasured = s.loc[s["train_s_per_epoch"].isna(), "runner"]
        left_out = f" (not ranked, training time not measured: {', '.join(unmeasured)})" if len(unmeasured) else ""
        out.append(
            Paragraph.of("Pareto front of accuracy vs training time per epoch: ", names, left_out, ".", bullet=True)
        )
    bad = data.summary[data.summary["seeds_ok"] < data.summary["seeds_in_suite"]]
    if len(bad):
        out.append(Paragraph.of("Incomplete: ", ", ".join(bad["runner"]), " (see Runs).", bullet=True))
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _suite_test_size(data: ReportData) -> int:
    """The test documents the suite has: every id any run predicted, or the most any finished run evaluated."""
    aligned, runs = data.aligned, data.results.runs
    seen = aligned.n + aligned.n_dropped if aligned is not None else 0
    evaluated = runs.loc[runs["status"] == OK, "n_test"].max() if len(runs) else float("nan")
    return max(seen, int(evaluated) if evaluated == evaluated else 0)


def compose(data: ReportData) -> Document:
    """The whole report as a document: overview, tables, plots, runs, provenance."""
    r, aligned = data.results, data.aligned
    n_test = f"{aligned.n:,} test examples" if aligned else "no predictions"
    sentences = verdict.verdict(data.summary, data.comparison, aligned, data.baseline, r.kind)
    blocks: list = [Heading("Verdict"), *(Paragraph.of(line, bullet=i > 0) for i, line in enumerate(sentences))]
    blocks += [
        Paragraph.of(
            "Suite ",
            Code(r.suite),
            f": {_count(len(r.runners), 'runner')}, {'seed' if len(r.seeds) == 1 else 'seeds'} "
            f"{', '.join(map(str, r.seeds))}; {_count(len(r.runs), 'run')} ({int((r.runs['status'] == OK).sum())} ok), "
            f"{n_test}. Built from ",
            Code(str(r.source)),
            " alone.",
        ),
        *_highlights(data),
    ]
    notes = list(r.problems)
    if aligned is not None and aligned.n_dropped:
        notes.append(
            f"{aligned.n_dropped} test examples lack a prediction from some run; CIs and comparisons omit them"
        )
    blocks += [Paragraph.of("Note: ", note, bullet=True) for note in notes]
    blocks += [Heading("Quality"), quality_table(data)]
    blocks += multilabel_section.section(data.multilabel)
    if data.published is not None and not data.published.empty:
        blocks += [Heading("Published results", 3), published_section(data.published)]
    blocks += classes_section.section(data.classes)
    blocks += [Heading("Cost"), cost_table(data)]
    blocks.append(Heading("Paired comparison with the baseline"))
    if data.baseline is None:
        blocks.append(
            Paragraph.of(
                "No baseline: no runner is head-truncated without an attention window. Pick one with ",
                Code("--baseline RUNNER"),
                ".",
            )
        )
    elif data.comparison.empty:
        has_predictions = aligned is not None and data.baseline in aligned.preds
        why = " is the only runner with predictions." if has_predictions else " has no successful run with predictions."
        blocks.append(Paragraph.of("Nothing to compare: baseline ", Strong(data.baseline), why))
    else:
        blocks += [Paragraph.of("Baseline: ", Strong(data.baseline), "."), comparison_table(data)]
    blocks.append(Heading("Accuracy by document length"))
    blocks.append(
        length_table(data) if not data.lengths.empty else Paragraph.of("No document lengths in the predictions.")
    )
    blocks.append(Heading("Plots"))
    for plot in data.plots:
        blocks += [Heading(plot.title, 3), Image(plot.png, plot.title, plot.caption)]
    blocks += [Paragraph.of("Not plotted: ", why, bullet=True) for why in data.skipped_plots]
    blocks += [
        Heading("Runs"),
        Paragraph.of("Status of every (runner, seed) of the suite; missing means no record."),
        status_table(data),
    ]
    if not data.failures.empty:
        blocks += [Heading("Failed runs", 3), failure_table(data)]
    blocks += [Heading("Provenance"), provenance_table(data)]
    return Document(f"bench report: {r.suite}", blocks)
