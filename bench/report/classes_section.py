"""The report's per-class and calibration sections: per-class precision/recall/F1, confusion matrices, ECE, and
their figures (a confusion heatmap grid and a reliability diagram), for runs with trained weights."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.report import calibration, classes, costonly, fmt, plots
from bench.report.cells import runner_cell
from bench.report.figures import save_figures
from bench.report.load import SuiteResults
from bench.report.plots import Plot
from bench.report.render import Cell, Code, Heading, Image, Paragraph, Strong, Table

MAX_TEXT_CLASSES = 12  # larger confusion matrices go to the figure and the CSV only


@dataclass(frozen=True)
class ClassesReport:
    """Per-class figures, confusion matrices and calibration of the runners with trained weights and predictions."""

    names: list[str]
    per_class: pd.DataFrame
    matrices: dict[str, np.ndarray]
    calibration: pd.DataFrame
    bins: pd.DataFrame
    baseline: str | None
    cost_only: list[str] = field(default_factory=list)
    skipped: str = ""  # why the sections show nothing (a multi-label suite)
    plots: dict[str, Plot] = field(default_factory=dict)


def build(
    results: SuiteResults, order: list[str], summary: pd.DataFrame, baseline: str | None, out_dir: Path
) -> ClassesReport:
    """Compute the tables (written as CSV under `out_dir/tables`) and draw the figures under `out_dir/plots`."""
    cost_only = costonly.cost_only_runners(results.runs)
    empty = pd.DataFrame()
    if "per_class" not in results.kind.sections:
        why = f"a {results.kind.title} suite: per-class figures are for one class per document"
        return ClassesReport([], empty, {}, empty, empty, baseline, cost_only, why)
    predictions = costonly.quality_view(results.predictions, cost_only)
    shown = [r for r in order if r not in cost_only and r in set(predictions["runner"])]
    names = classes.class_names(results.label_names, predictions)
    matrices = classes.confusion_matrices(predictions, len(names), shown)
    report = ClassesReport(
        names,
        classes.per_class_table(predictions, names, shown),
        matrices,
        calibration.calibration_table(predictions, shown),
        calibration.reliability_table(predictions, shown),
        baseline,
        cost_only,
    )
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    report.per_class.to_csv(tables / "per_class.csv", index=False, float_format="%.6g")
    classes.confusion_frame(matrices, names).to_csv(tables / "confusion.csv", index=False)
    report.calibration.to_csv(tables / "calibration.csv", index=False, float_format="%.6g")
    report.bins.to_csv(tables / "reliability_bins.csv", index=False, float_format="%.6g")
    colors = plots.runner_colors(summary)
    saved = save_figures(_PLOTS, lambda figure: figure(report, colors), out_dir / "plots")
    report.plots.update((plot.name, plot) for plot in saved)
    return report


def confusion_grid(report: ClassesReport, colors: dict[str, str]) -> Figure | None:
    """One heatmap per runner, shaded by the share of the true class (row), annotated with counts."""
    if not report.matrices:
        return None
    runners, k = list(report.matrices), len(report.names)
    columns = min(3, len(runners))
    rows = math.ceil(len(runners) / columns)
    side = max(2.6, 0.35 * k + 1.6)
    fig = Figure(figsize=(side * columns + 0.8, side * rows + 0.4))
    axes = fig.subplots(rows, columns, squeeze=False, gridspec_kw={"wspace": 0.55, "hspace": 0.5}).ravel()
    image = None
    for n, (ax, runner) in enumerate(zip(axes, runners, strict=False)):
        matrix = report.matrices[runner]
        share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        ax.grid(False)
        ticks = np.arange(k)
        ax.set_xticks(ticks, report.names, rotation=90 if k > 4 else 0, fontsize=7 if k > 8 else 8.5)
        ax.set_yticks(ticks, report.names, fontsize=7 if k > 8 else 8.5)
        ax.set_xlabel("predicted")
        if n % columns == 0:  # one axis title per row of panels
            ax.set_ylabel("true")
        ax.set_title(runner, fontsize=9.5)
        if k <= MAX_TEXT_CLASSES:
            for i in range(k):
                for j in range(k):
                    dark = share[i, j] > 0.6
                    ax.text(
                        j,
                        i,
                        f"{matrix[i, j]:,}",
                        ha="center",
                        va="center",
                        fontsize=7 if k > 6 else 8.5,
                        color="white" if dark else "#222222",
                    )
    for ax in axes[len(runners) :]:
        ax.set_visible(False)
    if image is not None:
        bar = fig.colorbar(image, ax=list(axes[: len(runners)]), shrink=0.8)
        bar.set_label("share of the true class")
    return fig


def reliability_diagram(report: ClassesReport, colors: dict[str, str]) -> Figure | None:
    """Accuracy against mean confidence per bin, a line per runner, and the diagonal of perfect calibration."""
    if report.bins.empty:
        return None
    fig = Figure(figsize=(6.4, 5.0))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="#888888", linewidth=1.0, label="perfectly calibrated")
    ece = report.calibration.set_index("runner")["ece"]
    for k, (runner, bins) in enumerate(report.bins.groupby("runner", sort=False)):
        ax.plot(
            bins["confidence"],
            bins["accuracy"],
            marker=plots.MARKERS[k % len(plots.MARKERS)],
            color=colors.get(runner, plots.PALETTE[k % len(plots.PALETTE)]),
            label=f"{runner} (ECE {ece[runner]:.3f})",
        )
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel("mean confidence in the bin (score of the predicted class)")
    ax.set_ylabel("accuracy in the bin")
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


_PLOTS = (
    ("confusion_matrices", "Confusion matrices",
     "Rows: true class; columns: predicted class. Counts summed over each runner's seeds; shade: the share of the "
     "row (the true class) predicted as the column.", confusion_grid),
    ("reliability_diagram", "Reliability diagram",
     f"Test examples binned by confidence ({calibration.N_BINS} equal-width bins on [0, 1]); each point is a non-empty "
     "bin's mean confidence and accuracy, pooled over the runner's seeds. Below the diagonal: overconfident.",
     reliability_diagram),
)  # fmt: skip


def _pooled(report: ClassesReport) -> str:
    seeds = set(report.per_class["seeds"]) if not report.per_class.empty else {1}
    return "its one seed" if seeds == {1} else "its seeds' test predictions pooled (counts summed over seeds)"


def _left_out(report: ClassesReport, where: str) -> list[Paragraph]:
    return [costonly.note(report.cost_only, where)] if report.cost_only else []


def per_class_section(report: ClassesReport) -> list:
    """'Per class': a table of precision, recall, F1 and support per (runner, class), and the confusion matrices."""
    out: list = []
    if report.skipped or report.per_class.empty:
        why = report.skipped or "no successful run with trained weights has predictions"
        return [*out, Paragraph.of(f"Not shown: {why}.")]
    rows = []
    for runner, group in report.per_class.groupby("runner", sort=False):
        best = fmt.best_mask(list(group["f1"]))
        for i, (_, r) in enumerate(group.iterrows()):
            rows.append(
                [
                    runner_cell(runner, report.baseline) if i == 0 else Cell(""),
                    Cell(str(r["class"])),
                    Cell(f"{r['precision']:.3f}", numeric=True),
                    Cell(f"{r['recall']:.3f}", numeric=True),
                    Cell(f"{r['f1']:.3f}", best=best[i] and len(group) > 1, numeric=True),
                    Cell(fmt.count(r["support"]), numeric=True),
                    Cell(fmt.count(r["predicted"]), numeric=True),
                ]
            )
    note = Paragraph.of(
        "Each runner's test predictions, ",
        _pooled(report),
        ": precision = correct predictions of the class / predictions of it, recall = correct / true examples of it "
        "(support), F1 their harmonic mean; 0 where a class is never predicted (or never true). Predicted: test "
        "examples predicted as the class. ",
        Strong("Bold"),
        ": the runner's best class by F1.",
    )
    out.append(
        Table(
            ["runner", "class", "precision", "recall", "F1", "support", "predicted"],
            rows,
            [note, *_left_out(report, "the per-class figures")],
        )
    )
    out.append(Heading("Confusion matrices", 3))  # once: the figure carries the counts, the CSV every cell
    if len(report.names) > MAX_TEXT_CLASSES:
        out.append(Paragraph.of(f"{len(report.names)} classes: the counts are in ", Code("tables/confusion.csv"), "."))
    if "confusion_matrices" in report.plots:
        plot = report.plots["confusion_matrices"]
        out.append(Image(plot.png, plot.title, plot.caption, plot.svg))
    return out


def calibration_section(report: ClassesReport) -> list:
    """'Calibration': ECE per runner, and the reliability diagram."""
    out: list = []
    if report.skipped or report.calibration.empty:
        why = report.skipped or "no successful run with trained weights has predictions"
        return [*out, Paragraph.of(f"Not shown: {why}.")]
    c = report.calibration
    best = fmt.best_mask(list(c["ece"]), higher=False)
    rows = []
    for i, (_, r) in enumerate(c.iterrows()):
        if not r["recorded"]:
            rows.append(
                [
                    runner_cell(r["runner"], report.baseline),
                    Cell("not recorded", "(predictions without a score: written by an older bench)"),
                    Cell(fmt.MISSING),
                    Cell(fmt.MISSING),
                    Cell(fmt.MISSING),
                ]
            )
            continue
        gap = r["confidence"] - r["accuracy"]
        rows.append(
            [
                runner_cell(r["runner"], report.baseline),
                Cell(f"{r['ece']:.3f}", best=best[i], numeric=True),
                Cell(f"{r['confidence']:.3f}", numeric=True),
                Cell(f"{r['accuracy']:.3f}", numeric=True),
                Cell(
                    f"{gap:+.3f}", "(overconfident)" if gap > 0 else "(underconfident)" if gap < 0 else "", numeric=True
                ),
            ]
        )
    note = Paragraph.of(
        "Confidence: the score a runner gave its predicted class (softmax probability, or the TF-IDF classifier's "
        "probability). ",
        Strong("ECE"),
        f" (expected calibration error): test examples split into {calibration.N_BINS} equal-width bins of confidence "
        f"([0, 1/{calibration.N_BINS}], …, ({calibration.N_BINS - 1}/{calibration.N_BINS}, 1]), then the sum over bins of (share of examples in the bin) × "
        "|accuracy in the bin − mean confidence in the bin|; 0 is perfectly calibrated. Pooled over each runner's "
        "seeds. Gap: mean confidence minus accuracy. ",
        Strong("Bold"),
        ": lowest ECE.",
    )
    out.append(
        Table(
            ["runner", "ECE", "mean confidence", "accuracy", "gap"],
            rows,
            [note, *_left_out(report, "the calibration figures")],
        )
    )
    if "reliability_diagram" in report.plots:
        plot = report.plots["reliability_diagram"]
        out.append(Image(plot.png, plot.title, plot.caption, plot.svg))
    return out
