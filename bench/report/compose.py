"""Lay out the report: turn the tables and plots into headed sections of formatted, marked-up cells."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.report import fmt, stats
from bench.report.load import OK, AlignedPredictions, SuiteResults
from bench.report.plots import Plot
from bench.report.render import Cell, Code, Document, Heading, Image, Paragraph, Strong, Table

MEMORY_LABELS = {"gpu": "peak GPU memory allocated", "cpu": "peak CPU RSS", "mixed": "peak memory"}


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


def memory_column_kind(summary: pd.DataFrame) -> str:
    """'gpu' or 'cpu' when every runner with a measurement has that kind, else 'mixed' (each cell says which)."""
    kinds = set(summary.loc[summary["memory_mb"].notna(), "memory_kind"])
    return kinds.pop() if len(kinds) == 1 else ("gpu" if not kinds else "mixed")


def _seeds_cell(row: pd.Series) -> Cell:
    detail = [row["not_ok"]] if row["not_ok"] else []
    if row["missing_seeds"]:
        detail.append(f"no run for seed {row['missing_seeds'].replace(' ', ', ')}")
    complete = row["seeds_ok"] == row["seeds_in_suite"]
    return Cell(
        f"{row['seeds_ok']}/{row['seeds_in_suite']} ok",
        f"({'; '.join(detail)})" if detail else "",
        bad=not complete,
        numeric=True,
    )


def _runner_cell(runner: str, baseline: str | None) -> Cell:
    return Cell(runner, "(baseline)" if runner == baseline else "")


def quality_table(data: ReportData) -> Table:
    s = data.summary
    best = {m: fmt.best_mask(list(s[f"{m}_mean"])) for m in ("accuracy", "f1", "precision", "recall")}
    rows = []
    for i, row in s.iterrows():
        failed = row["seeds_ok"] == 0
        cells = [_runner_cell(row["runner"], data.baseline), Cell(str(row["model_family"] or fmt.MISSING))]
        cells += [Cell(fmt.length(row["max_length"]), numeric=True), Cell(fmt.length(row["attention_window"]))]
        cells.append(_seeds_cell(row))
        for m in ("accuracy", "f1", "precision", "recall"):
            text = "failed" if failed else fmt.metric(row[f"{m}_mean"], row[f"{m}_std"])
            ci = fmt.interval(row[f"{m}_ci_low"], row[f"{m}_ci_high"])
            cells.append(Cell(text, ci, best=best[m][i], bad=failed, numeric=True))
        rows.append(cells)
    f1_average = data.results.runs["f1_average"].dropna().unique()
    f1_note = f1_average[0] if len(f1_average) == 1 else "binary on label 1 for two classes, macro otherwise"
    notes = [
        Paragraph.of(
            "Mean ± std (sample, ddof=1) over successful seeds; a single seed shows its value with no ±. "
            "Below each: the 95% bootstrap CI over test examples (",
            str(stats.N_BOOTSTRAP),
            " resamples of the test set, each seed scored on the same resample and averaged). ",
            Strong("Bold"),
            ": best in the column. F1, precision and recall: ",
            Code(str(f1_note)),
            ".",
        )
    ]
    columns = ["runner", "model family", "max length", "attention window", "seeds", "accuracy", "F1", "precision"]
    return Table([*columns, "recall"], rows, notes)


def cost_table(data: ReportData) -> Table:
    s = data.summary
    kind = memory_column_kind(s)
    memory = s["memory_mb"].where(s["memory_kind"] == kind) if kind != "mixed" else s["memory_mb"] * np.nan
    marks = {
        "memory": fmt.best_mask(list(memory), higher=False),
        "tokens": fmt.best_mask(list(s["train_tokens_per_s"])),
        "epoch": fmt.best_mask(list(s["train_s_per_epoch"]), higher=False),
        "eval": fmt.best_mask(list(s["eval_samples_per_s"])),
        "wall": fmt.best_mask(list(s["wall_s"]), higher=False),
    }
    rows = []
    for i, row in s.iterrows():
        failed = row["seeds_ok"] == 0
        mem_sub = "(CPU RSS)" if kind == "mixed" and row["memory_kind"] == "cpu" else ""
        rows.append(
            [
                _runner_cell(row["runner"], data.baseline),
                _seeds_cell(row),
                Cell(fmt.megabytes(row["memory_mb"]), mem_sub, best=marks["memory"][i], bad=failed, numeric=True),
                Cell(fmt.rate(row["train_tokens_per_s"]), best=marks["tokens"][i], numeric=True),
                Cell(fmt.duration(row["train_s_per_epoch"]), best=marks["epoch"][i], numeric=True),
                Cell(fmt.rate(row["eval_samples_per_s"]), best=marks["eval"][i], numeric=True),
                Cell(fmt.duration(row["wall_s"]), best=marks["wall"][i], numeric=True),
                Cell(fmt.count(row["n_params"]), numeric=True),
                Cell(row["gpu_name"] or row["device"] or fmt.MISSING),
            ]
        )
    label = MEMORY_LABELS[kind]
    notes = [
        Paragraph.of(
            "Means over successful seeds. ",
            f"Memory: {label} in MB"
            + (" (torch max_memory_allocated). " if kind == "gpu" else ". ")
            + ("These runs had no GPU, so the CPU's resident set size is shown instead. " if kind == "cpu" else "")
            + (
                "Runners without a GPU measurement show CPU RSS, marked so, and no best is marked. "
                if kind == "mixed"
                else ""
            )
            + "Train tokens/s counts non-padding tokens after warm-up; wall time covers the whole run. ",
            Strong("Bold"),
            ": best in the column (parameters are not ranked).",
        )
    ]
    columns = ["runner", "seeds", f"{label} (MB)", "train tokens/s", "train time / epoch", "eval samples/s"]
    return Table([*columns, "wall time", "parameters", "device"], rows, notes)


def comparison_table(data: ReportData) -> Table:
    rows = []
    for row in data.comparison.itertuples():
        significant = row.p_value < 0.05
        verdict = ("better" if row.delta_accuracy > 0 else "worse") if significant else "no clear difference"
        ci = fmt.interval(100 * row.delta_ci_low, 100 * row.delta_ci_high, 2)
        rows.append(
            [
                Cell(row.runner),
                Cell(fmt.points(row.delta_accuracy), f"{ci} pp" if ci else "", best=significant, numeric=True),
                Cell(fmt.p_value(row.p_value), f"({row.p_method})", numeric=True),
                Cell(f"{row.better:,} / {row.worse:,}", numeric=True),
                Cell(f"{row.seeds} / {row.baseline_seeds}", numeric=True),
                Cell(verdict),
            ]
        )
    columns = ["runner", "Δ accuracy vs baseline", "p-value", "examples better / worse", "seeds (runner / baseline)"]
    notes = [
        Paragraph.of(
            "Δ: runner minus baseline accuracy on the same ",
            f"{data.aligned.n if data.aligned else 0:,}",
            " test examples, in percentage points, averaged over each runner's seeds. Below it: 95% paired bootstrap "
            "CI (the same resampled examples score both runners). p-value: ",
            Strong("exact McNemar test"),
            " on the discordant examples when both runners have one seed; with more seeds, a ",
            Strong("paired sign-flip permutation test"),
            f" on per-example seed-averaged correctness ({stats.N_SIGN_FLIPS:,} random flips), which reduces to "
            "McNemar for one seed. Bold: p < 0.05 (no correction for multiple comparisons).",
        )
    ]
    return Table([*columns, "verdict"], rows, notes)


def length_table(data: ReportData) -> Table:
    lengths = data.lengths
    buckets = lengths.drop_duplicates("bucket_index").sort_values("bucket_index")
    pivot = lengths.pivot(index="runner", columns="bucket_index")
    runners = [r for r in data.summary["runner"] if r in pivot.index]
    meta = data.summary.set_index("runner")
    rows = [
        [_runner_cell(r, data.baseline), Cell(fmt.length(meta.loc[r, "max_length"]), numeric=True)] for r in runners
    ]
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
    notes = [
        Paragraph.of(
            "Test accuracy on documents in each length bucket (length in tokens before truncation; n = documents). "
            "Mean ± std over seeds. Bold: best in the bucket. A runner loses accuracy where documents outgrow its "
            "max length."
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
    rows = [[Cell(k), Cell(", ".join(sorted(v)))] for k, v in values.items() if v]
    finished = runs["finished_at"].dropna().astype(str)
    if not finished.empty:
        span = finished.min() if finished.min() == finished.max() else f"{finished.min()} … {finished.max()}"
        rows.append([Cell("finished_at"), Cell(span)])
    return Table(["field", "value(s) across records"], rows[:60])


def _highlights(data: ReportData) -> list[Paragraph]:
    s = data.summary[data.summary["seeds_ok"] > 0]
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
        out.append(Paragraph.of("Pareto front of accuracy vs training time per epoch: ", names, ".", bullet=True))
    bad = data.summary[data.summary["seeds_ok"] < data.summary["seeds_in_suite"]]
    if len(bad):
        out.append(Paragraph.of("Incomplete: ", ", ".join(bad["runner"]), " (see Runs).", bullet=True))
    return out


def compose(data: ReportData) -> Document:
    """The whole report as a document: overview, tables, plots, runs, provenance."""
    r, aligned = data.results, data.aligned
    n_test = f"{aligned.n:,} test examples" if aligned else "no predictions"
    blocks: list = [
        Paragraph.of(
            "Suite ",
            Code(r.suite),
            f": {len(r.runners)} runners, seeds {', '.join(map(str, r.seeds))}, ",
            f"{len(r.runs)} runs ({int((r.runs['status'] == OK).sum())} ok), {n_test}. Built from ",
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
    blocks += [Heading("Quality"), quality_table(data), Heading("Cost"), cost_table(data)]
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
