"""Save the report's figures (PNG and SVG, in the plots' style) and draw the suite's plots in the report's order;
`save_figures` is the loop every section with figures of its own shares (per-class, multi-label, profiling)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import matplotlib as mpl
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench.report import plots
from bench.report.plots import STYLE, SVG_FONTS, Plot


def save(fig: Figure, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Write `fig` as `<name>.png` and `<name>.svg` under `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    fig.savefig(png, metadata={"Software": None})
    fig.savefig(svg, metadata={"Date": None, "Creator": None})
    text = svg.read_text(encoding="utf-8")
    svg.write_text(text.replace("font-family: 'DejaVu Sans'", f"font-family: {SVG_FONTS}"), encoding="utf-8")
    return png, svg


PlotFunction = Callable[..., Figure | None]
NO_DATA = {"accuracy_vs_energy": "no GPU energy in the records (CPU runs, or no NVML energy counter)"}
# name, title, caption, function. The order is the report's order.
PLOTS: tuple[tuple[str, str, str, PlotFunction], ...] = (
    ("accuracy_vs_length", "Accuracy vs max sequence length",
     "A line per model family (and attention window); error bars are ±1 std over seeds where there are 2+ seeds; "
     "a red x marks a runner with no successful run.", plots.accuracy_vs_length),
    ("memory_vs_length", "Peak memory vs max sequence length",
     "Peak memory while training (on a GPU; the whole run's peak for records without a training peak; CPU RSS "
     "without a GPU), mean over successful seeds.", plots.memory_vs_length),
    ("throughput_vs_length", "Throughput vs max sequence length",
     "Training throughput counts non-padding tokens; evaluation throughput counts documents.", plots.throughput_vs_length),
    ("accuracy_vs_cost", "Accuracy vs cost",
     "Cost is the money to train on the full data (GPU-hours × the price in the cost table's notes) where every "
     "runner drawn has a price, else training time per epoch; the x-axis says which. A runner is on the Pareto front when no other runner is both at most as "
     "slow and at least as accurate (and better in one). Runners whose training time was not measured are left "
     "out.", plots.accuracy_vs_cost),
    ("accuracy_vs_energy", "Accuracy vs energy",
     "Cost is the GPU energy of training (NVML board counter, Wh), mean over the runs that measured it. A hollow "
     "point ran on a GPU that other processes shared in some run: its counter includes their energy, so it is not "
     "ranked.",
     plots.accuracy_vs_energy),
    ("accuracy_by_length", "Accuracy by document length",
     "Accuracy on the test documents in each length bucket (n = documents in the bucket); truncation hurts where "
     "a runner's curve drops for documents longer than its max length.", plots.accuracy_by_length),
    ("learning_curves", "Learning curves",
     "Validation metrics after each epoch, mean over seeds (band: ±1 std where there are 2+ seeds).",
     plots.learning_curves),
)  # fmt: skip


def draw_all(
    summary: pd.DataFrame, lengths: pd.DataFrame, curves: pd.DataFrame, memory_label: str, out_dir: Path
) -> tuple[list[Plot], list[str]]:
    """Draw and save every plot there is data for.

    Returns:
        The saved plots, and one line per plot left out saying why.
    """
    colors = plots.runner_colors(summary)
    quality = summary[~summary["cost_only"].astype(bool)]  # accuracy plots leave out cost-only (random-init) runs
    saved, skipped = [], []
    with mpl.rc_context(STYLE):
        for name, title, caption, function in PLOTS:
            shown = quality if name.startswith("accuracy_vs_") else summary
            if (shown["seeds_ok"] == 0).all():
                skipped.append(f"{title}: no successful runs{'' if shown is summary else ' with trained weights'}")
                continue
            fig = function(summary=shown, lengths=lengths, curves=curves, colors=colors, memory_label=memory_label)
            if fig is None:
                skipped.append(f"{title}: {NO_DATA.get(name, 'no data for it in the records')}")
                continue
            png, svg = save(fig, out_dir, name)
            saved.append(Plot(name, title, caption, png, svg))
    return saved, skipped


def save_figures(specs: Iterable[tuple[str, str, str, Any]], draw: Callable[[Any], Any], folder: Path) -> list[Plot]:
    """Each `(name, title, caption, function)` of `specs` drawn by `draw(function)` in the report's style and saved
    under `folder` as PNG and SVG; a function that draws nothing (None: no data for it) is left out."""
    saved = []
    with mpl.rc_context(STYLE):
        for name, title, caption, function in specs:
            fig = draw(function)
            if fig is not None:
                png, svg = save(fig, folder, name)
                saved.append(Plot(name, title, caption, png, svg))
    return saved
