"""The multi-label part of a report: its tables (`bench.report.multilabel`), plots and section, for a task whose
predictions are label sets (`"label_sets" in Task.sections`). The verdict judges it on the task's main metric,
micro-F1, with the other tasks' (`bench.report.verdict`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.report import fmt, multilabel, plots
from bench.report.cells import runner_cell
from bench.report.figures import save_figures
from bench.report.load import AlignedPredictions, SuiteResults
from bench.report.plots import Plot
from bench.report.render import Cell, Heading, Image, Paragraph, Strong, Table
from bench.tasks.multi_label_metrics import FEW_SHOT_MAX

PER_LABEL_SHOWN = 30  # the per-label table's rows on the page (EURLEX has 4,271 labels); the csv keeps them all


@dataclass(frozen=True)
class MultiLabelReport:
    quality: pd.DataFrame
    per_label: pd.DataFrame
    comparison: pd.DataFrame
    lengths: pd.DataFrame
    baseline: str | None
    plots: list[Plot] = field(default_factory=list)


def build(
    results: SuiteResults,
    aligned: AlignedPredictions | None,
    summary: pd.DataFrame,
    baseline: str | None,
    max_lengths: list[int],
    out_dir: Path,
) -> MultiLabelReport | None:
    """The multi-label tables, with their CSV files and plots under `out_dir`; None for a single-label suite."""
    if "label_sets" not in results.kind.sections:
        return None
    docs = multilabel.document_counts(results, aligned)
    order = list(summary["runner"])
    report = MultiLabelReport(
        multilabel.quality_table(results, docs, order),
        multilabel.per_label_table(results, order),
        multilabel.comparison_table(docs, order, baseline),
        multilabel.length_table(docs, aligned, order, max_lengths),
        baseline,
    )
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    for name in ("quality", "per_label", "comparison", "lengths"):
        getattr(report, name).to_csv(tables / f"multilabel_{name}.csv", index=False, float_format="%.6g")
    colors = plots.runner_colors(summary)
    report.plots.extend(save_figures(_PLOTS, lambda figure: figure(report, colors), out_dir / "plots"))
    return report


def _f1_by_length(report: MultiLabelReport, colors: dict[str, str]) -> Figure | None:
    return plots.accuracy_by_length(  # the same buckets and layout, another metric
        report.lengths,
        colors,
        metric="samples_f1",
        ylabel="mean per-document F1 (samples-F1)",
        title="Per-document F1 by document length",
    )


def _per_label_f1(report: MultiLabelReport, colors: dict[str, str]) -> Figure | None:
    frame = report.per_label
    if frame.empty:
        return None
    labels = list(dict.fromkeys(frame["label"]))
    runners = list(dict.fromkeys(frame["runner"]))
    fig = Figure(figsize=(max(5.5, 0.9 * len(labels) * max(1, len(runners) / 2) + 2), 4.4))
    ax = fig.subplots()
    width = 0.8 / len(runners)
    for k, runner in enumerate(runners):
        rows = frame[frame["runner"] == runner].set_index("label").reindex(labels)
        x = np.arange(len(labels)) + (k - (len(runners) - 1) / 2) * width
        ax.bar(x, rows["f1"].fillna(0), width=width, color=colors.get(runner), label=runner)
    ax.set_xticks(np.arange(len(labels)), labels, rotation=30 if len(labels) > 6 else 0)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("test F1 of the label")
    ax.set_title("Per-label F1")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


_PLOTS = (
    ("multilabel_f1_by_length", "Per-document F1 by document length",
     "Mean per-document F1 on the test documents in each length bucket (n = documents), ±1 std over seeds: a "
     "truncated runner misses the labels whose evidence lies beyond its max length.", _f1_by_length),
    ("multilabel_per_label_f1", "Per-label F1",
     "Test F1 of each label at the runner's threshold, mean over seeds.", _per_label_f1),
)  # fmt: skip


def section(report: MultiLabelReport | None) -> list:
    """The report's multi-label section (nothing for a single-label suite)."""
    if report is None:
        return []
    out: list = []  # under the page's "Multi-label quality" heading (`sections.SECTIONS`)
    q = report.quality
    rows = []
    for _, r in q.iterrows():
        ci = fmt.interval(r["micro_f1_ci_low"], r["micro_f1_ci_high"])
        s_ci = fmt.interval(r["samples_f1_ci_low"], r["samples_f1_ci_high"])
        rows.append(
            [
                runner_cell(r["runner"], report.baseline),
                Cell(fmt.metric(r["micro_f1_mean"], r["micro_f1_std"]), ci, numeric=True),
                Cell(fmt.metric(r["macro_f1_mean"], r["macro_f1_std"]), numeric=True),
                Cell(fmt.metric(r["samples_f1_mean"], r["samples_f1_std"]), s_ci, numeric=True),
                Cell(fmt.metric(r["micro_precision_mean"], r["micro_precision_std"]), numeric=True),
                Cell(fmt.metric(r["micro_recall_mean"], r["micro_recall_std"]), numeric=True),
                Cell(fmt.metric(r["accuracy_mean"], r["accuracy_std"]), numeric=True),
                *(Cell(fmt.metric(r[f"{g}_mean"], r[f"{g}_std"]), numeric=True) for g in multilabel.GROUPS),
                Cell(r["thresholds"], numeric=True),
            ]
        )
    note = Paragraph.of(
        "Micro-F1 pools every (document, label) decision; macro-F1 averages the labels' F1; samples-F1 averages the "
        "documents' F1 (1 for a document with no true and no predicted label). Subset accuracy: the share of "
        "documents whose label set is predicted exactly (the Quality table's accuracy). Mean ± std over seeds; "
        "below: 95% bootstrap CI over test documents. Frequent / few-shot / zero-shot: micro-F1 over the labels "
        f"in {FEW_SHOT_MAX + 1} or more / 1 to {FEW_SHOT_MAX} / no training documents (Chalkidis et al. 2019; — where "
        "test has none of them). ",
        Strong("Threshold"),
        ": the one score a label needs, chosen per run on validation (maximising micro-F1 over 0.05, 0.10, …, "
        "0.95) and applied unchanged to test.",
    )
    columns = ["runner", "micro-F1", "macro-F1", "samples-F1", "micro precision", "micro recall", "subset accuracy",
               "frequent", "few-shot", "zero-shot", "threshold"]  # fmt: skip
    out.append(Table(columns, rows, [note]))
    if not report.per_label.empty:
        pivot = report.per_label.pivot_table(index="label", columns="runner", values="f1", sort=False)
        support = report.per_label.groupby("label", sort=False)["support"].first()
        runners = list(dict.fromkeys(report.per_label["runner"]))
        shown = support.sort_values(ascending=False, kind="stable").index[:PER_LABEL_SHOWN]
        rows = [
            [
                Cell(str(label)),
                Cell(fmt.count(support[label]), numeric=True),
                *(Cell(f"{pivot.loc[label, r]:.3f}", numeric=True) for r in runners),
            ]
            for label in shown
        ]
        more = len(pivot.index) - len(shown)
        kept = f"The {len(shown)} labels with the most test documents; the other {fmt.count(more)} are in "
        rest = [Paragraph.of(kept, "tables/multilabel_per_label.csv.")] if more else []
        out += [Heading("Per-label F1", 3), Table(["label", "test support", *runners], rows, rest)]
        out += [Image(p.png, p.title, p.caption, p.svg) for p in report.plots if p.name == "multilabel_per_label_f1"]
    out.append(Heading("Paired comparison on per-document F1", 3))
    c = report.comparison
    if c.empty:
        out.append(Paragraph.of("No baseline with predictions to compare with."))
    else:
        rows = [
            [
                runner_cell(r["runner"], report.baseline),
                Cell(
                    fmt.points(r["delta_samples_f1"]),
                    f"{fmt.interval(r['delta_ci_low'] * 100, r['delta_ci_high'] * 100, 2)} pp",
                    numeric=True,
                ),
                Cell(fmt.p_value(r["p_value"]), numeric=True),
                Cell(fmt.p_value(r["p_holm"]), best=r["p_holm"] < 0.05, numeric=True),
                Cell(
                    fmt.points(r["delta_micro_f1"]),
                    f"{fmt.interval(r['delta_micro_ci_low'] * 100, r['delta_micro_ci_high'] * 100, 2)} pp",
                    numeric=True,
                ),
                Cell(f"{r['better']:,} / {r['worse']:,}", numeric=True),
            ]
            for _, r in c.iterrows()
        ]
        note = Paragraph.of(
            f"Runner minus {report.baseline} on the same {int(c['n_examples'].iloc[0]):,} test documents. Δ "
            "samples-F1: the mean difference of per-document F1 (seed-averaged), 95% paired bootstrap CI below; p: a "
            "paired sign-flip (permutation) test of that difference, Holm-adjusted over the table. Δ micro-F1 with "
            "its paired bootstrap CI. Better / worse: documents with a higher / lower F1 than the baseline's."
        )
        out.append(Table(["runner", "Δ samples-F1", "p", "p (Holm)", "Δ micro-F1", "better / worse"], rows, [note]))
    for plot in (p for p in report.plots if p.name != "multilabel_per_label_f1"):  # that one is under its table
        out += [Heading(plot.title, 3), Image(plot.png, plot.title, plot.caption, plot.svg)]
    return out
