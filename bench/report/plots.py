"""The report's plots, drawn in one house style (saved, and listed in the report's order: `figures`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

from bench.report import budget, stats
from bench.results.schema import FAILED

# Okabe-Ito: distinguishable with the common colour-vision deficiencies; the pale yellow is left out.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("o", "s", "D", "^", "v", "P", "X")
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.5,
    "axes.labelcolor": "#333333",
    "axes.edgecolor": "#999999",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "lines.linewidth": 1.8,
    "lines.markersize": 6,
    "errorbar.capsize": 3,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.15,
    "svg.hashsalt": "bench-report",  # stable element ids: the same results give the same SVG
    # Text stays text in the SVG (selectable, searchable, and measurable by the browser test); viewers without
    # DejaVu Sans fall back to Verdana's near-identical metrics, then any sans-serif (`save`).
    "svg.fonttype": "none",
}
SVG_FONTS = "'DejaVu Sans', 'Bitstream Vera Sans', Verdana, sans-serif"


@dataclass(frozen=True)
class Plot:
    """One saved plot: its PNG and SVG files, a title and a caption for the report."""

    name: str
    title: str
    caption: str
    png: Path
    svg: Path


@dataclass(frozen=True)
class Series:
    """Runners drawn as one line on the length plots: one model family at one attention window."""

    label: str
    color: str
    marker: str
    runners: list[str]


def _shade(color: str, amount: float) -> str:
    """`color` mixed with white by `amount` (0 keeps it, 1 gives white)."""
    return to_hex(tuple(c + (1 - c) * amount for c in to_rgb(color)))


def series_of(summary: pd.DataFrame) -> list[Series]:
    """Group runners by (model family, attention window), in the summary's runner order."""
    keys: dict[tuple[str, float], list[str]] = {}
    for row in summary.itertuples():
        window = row.attention_window if pd.notna(row.attention_window) else -1.0
        keys.setdefault((str(row.model_family or row.runner), window), []).append(row.runner)
    out = []
    for i, ((family, window), runners) in enumerate(keys.items()):
        label = family if window < 0 else f"{family} (window {int(window)})"
        out.append(Series(label, PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)], runners))
    return out


def runner_colors(summary: pd.DataFrame) -> dict[str, str]:
    """A runner's colour is its series' hue, paler for its shorter max lengths: hue = model, depth = context."""
    colors = {}
    for series in series_of(summary):
        rows = summary.set_index("runner").loc[series.runners].sort_values("max_length")
        for rank, runner in enumerate(rows.index):
            colors[runner] = _shade(series.color, 0.5 * (len(rows) - 1 - rank) / max(len(rows) - 1, 1))
    return colors


def _length_axis(ax: Axes, lengths: list[float]) -> None:
    """Log-2 x axis with a tick at every max length, since lengths double from runner to runner."""
    ticks = sorted({int(v) for v in lengths if pd.notna(v)})
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v):,}"))
    if ticks:
        ax.set_xlim(ticks[0] / 1.35, ticks[-1] * 1.35)
    ax.set_xlabel("max sequence length (tokens, log scale)")


def _maybe_log_y(ax: Axes, values: pd.Series) -> bool:
    values = values[values > 0].dropna()
    if len(values) > 1 and values.max() / values.min() > 20:
        ax.set_yscale("log")
        return True
    return False


def _plot_by_length(ax: Axes, summary: pd.DataFrame, column: str, std_column: str, scale: float = 1.0) -> None:
    """A line per series of `column` against max length, with error bars only where there are 2+ seeds."""
    for series in series_of(summary):
        rows = summary.set_index("runner").loc[series.runners].sort_values("max_length")
        rows = rows[rows[column].notna()]
        if rows.empty:
            continue
        yerr = rows[std_column] * scale
        ax.errorbar(
            rows["max_length"],
            rows[column] * scale,
            yerr=None if yerr.isna().all() else yerr.fillna(0),
            color=series.color,
            marker=series.marker,
            label=series.label,
        )


def _mark_failed(ax: Axes, summary: pd.DataFrame) -> None:
    """Runners with no successful run are drawn as a red x on the axis with their status, not left out."""
    failed = summary[summary["seeds_ok"] == 0]
    transform = mpl.transforms.blended_transform_factory(ax.transData, ax.transAxes)
    for row in failed.itertuples():
        if pd.isna(row.max_length):
            continue
        ax.plot([row.max_length], [0.03], marker="X", color="#C0392B", ms=9, transform=transform, clip_on=False)
        status = "/".join(part.split(" ", 1)[-1] for part in row.not_ok.split(", ")) if row.not_ok else FAILED
        ax.annotate(
            f"{row.runner}: {status}",
            (row.max_length, 0.03),
            xycoords=transform,
            xytext=(6, 4),
            textcoords="offset points",
            fontsize=8,
            color="#C0392B",
        )


def accuracy_vs_length(summary: pd.DataFrame, **_: object) -> Figure | None:
    fig = Figure(figsize=(7, 4.3))
    ax = fig.subplots()
    _plot_by_length(ax, summary, "accuracy_mean", "accuracy_std")
    _length_axis(ax, list(summary["max_length"]))
    _mark_failed(ax, summary)
    ax.set_ylabel("test accuracy")
    ax.set_title("Accuracy vs max sequence length")
    ax.legend(loc="best")
    return fig


def memory_vs_length(summary: pd.DataFrame, memory_label: str, **_: object) -> Figure | None:
    fig = Figure(figsize=(7, 4.3))
    ax = fig.subplots()
    gib = summary["memory_mb"].max() >= 2048
    scale = 1 / 1024 if gib else 1.0
    _plot_by_length(ax, summary, "memory_mb", "memory_mb_std", scale)
    _length_axis(ax, list(summary["max_length"]))
    _maybe_log_y(ax, summary["memory_mb"] * scale)
    _mark_failed(ax, summary)
    ax.set_ylabel(f"{memory_label} ({'GiB' if gib else 'MB'})")
    ax.set_title(f"{memory_label[0].upper()}{memory_label[1:]} vs max sequence length")
    ax.legend(loc="best")
    return fig


def throughput_vs_length(summary: pd.DataFrame, **_: object) -> Figure | None:
    fig = Figure(figsize=(11, 4.3))
    axes = fig.subplots(1, 2)
    panels = (
        ("train_tokens_per_s", "train tokens/s (non-padding)", "Training throughput"),
        ("eval_samples_per_s", "eval samples/s", "Evaluation throughput"),
    )
    for ax, (column, label, title) in zip(axes, panels, strict=True):
        _plot_by_length(ax, summary, column, f"{column}_std")
        _length_axis(ax, list(summary["max_length"]))
        _maybe_log_y(ax, summary[column])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_ylabel(label)
        ax.set_title(title)
    axes[0].legend(loc="best")
    fig.subplots_adjust(wspace=0.3)
    return fig


def _accuracy_vs(
    summary: pd.DataFrame,
    colors: dict[str, str],
    x: str,
    scale: float,
    axis: tuple[str, str],
    unranked: pd.Series | None = None,
    why_unranked: str = "",
) -> Figure | None:
    """Accuracy against one cost (summary column `x` times `scale`; `axis` is its name and unit) with the Pareto
    front; `unranked` runners are drawn hollow, labelled with `why_unranked` and kept off the front. A cost that is
    missing or 0 was not measured: such a runner is not drawn."""
    data = summary[summary["accuracy_mean"].notna() & (summary[x] > 0)]
    if data.empty:
        return None
    cost, cost_std = data[x] * scale, data[f"{x}_std"] * scale
    free = np.ones(len(data), dtype=bool) if unranked is None else ~unranked.loc[data.index].to_numpy(dtype=bool)
    front = stats.pareto_front(cost.where(free).to_numpy(), data["accuracy_mean"].to_numpy())
    on_front = data[front].assign(cost=cost[front]).sort_values("cost")
    fig = Figure(figsize=(7, 4.6))
    ax = fig.subplots()
    ax.step(
        on_front["cost"],
        on_front["accuracy_mean"],
        where="post",
        color="#888888",
        lw=1.2,
        ls="--",
        label="Pareto front",
        zorder=1,
    )
    for is_front, is_free, c, c_std, row in zip(front, free, cost, cost_std, data.itertuples(), strict=True):
        xerr = c_std if pd.notna(c_std) else None
        yerr = row.accuracy_std if pd.notna(row.accuracy_std) else None
        color = colors[row.runner]
        ax.errorbar(
            [c],
            [row.accuracy_mean],
            xerr=xerr,
            yerr=yerr,
            color=color,
            marker="o",
            ms=9 if is_front else 7,
            mec="black" if is_front else ("white" if is_free else color),
            mfc=color if is_free else "white",
            mew=1.2,
            zorder=3,
        )
        ax.annotate(
            row.runner if is_free else f"{row.runner} ({why_unranked})",
            (c, row.accuracy_mean),
            xytext=(7, 5),
            textcoords="offset points",
            fontsize=8,
            fontweight="bold" if is_front else "normal",
            color="#333333",
        )
    low, high = cost.min(), cost.max()
    if high / low > 4:  # a log axis only where costs spread enough for one to squeeze the others together
        ax.set_xscale("log")
        # Costs often span less than a decade: label 1-2-5 steps, not only powers of ten.
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlim(low / 1.4, high * 1.6)  # room for the names printed right of the points
    else:
        ax.set_xlim(0, high * 1.25)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.4g}"))
    ax.set_xlabel(f"{axis[0]} ({axis[1]}{', log scale' if high / low > 4 else ''})")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"Accuracy vs {'energy' if x == 'train_energy_j' else 'cost'} (black ring: on the Pareto front)")
    ax.legend(loc="best")
    return fig


def accuracy_vs_cost(summary: pd.DataFrame, colors: dict[str, str], **_: object) -> Figure | None:
    if budget.money_axis(summary):
        currency = summary["currency"].dropna().iloc[0]
        priced = summary.assign(train_cost_std=float("nan"))
        return _accuracy_vs(priced, colors, "train_cost", 1.0, ("training on the full data", currency))
    return _accuracy_vs(summary, colors, "train_s_per_epoch", 1.0, ("training time per epoch", "s"))


def accuracy_vs_energy(summary: pd.DataFrame, colors: dict[str, str], **_: object) -> Figure | None:
    # A shared GPU's energy counter includes the other processes' energy: shown hollow, never on the front.
    shared = summary["gpu_shared_runs"] > 0
    axis = ("GPU energy while training", "Wh")
    return _accuracy_vs(summary, colors, "train_energy_j", 1 / 3600, axis, shared, "GPU shared: not ranked")


def accuracy_by_length(
    lengths: pd.DataFrame,
    colors: dict[str, str],
    metric: str = "accuracy",
    ylabel: str = "test accuracy",
    title: str = "Accuracy by document length",
    **_: object,
) -> Figure | None:
    """Each runner's `<metric>_mean` (±`<metric>_std` over seeds) per length bucket of `lengths`."""
    if lengths.empty:
        return None
    buckets = lengths.drop_duplicates("bucket_index").sort_values("bucket_index")
    runners = list(dict.fromkeys(lengths["runner"]))
    fig = Figure(figsize=(max(5.5, 1.3 * len(buckets) + 2), 4.4))
    ax = fig.subplots()
    width = 0.7 / max(len(runners), 1)
    position = {b: i for i, b in enumerate(buckets["bucket_index"])}
    for k, runner in enumerate(runners):
        rows = lengths[lengths["runner"] == runner].sort_values("bucket_index")
        x = np.array([position[b] for b in rows["bucket_index"]]) + (k - (len(runners) - 1) / 2) * width
        yerr = rows[f"{metric}_std"] if rows[f"{metric}_std"].notna().any() else None
        ax.errorbar(
            x,
            rows[f"{metric}_mean"],
            yerr=None if yerr is None else yerr.fillna(0),
            color=colors[runner],
            marker="o",
            ms=6.5,
            lw=1.4,
            elinewidth=1,
            alpha=0.95,
            label=runner,
        )
    ax.xaxis.set_major_locator(FixedLocator(list(range(len(buckets)))))
    ax.set_xticklabels([f"{b}\n(n={n:,})" for b, n in zip(buckets["bucket"], buckets["n_examples"], strict=True)])
    ax.xaxis.grid(False)
    ax.set_xlim(-0.6, len(buckets) - 0.4)
    tokens_of = lengths["tokens_of"].dropna()
    whose = f"{tokens_of.iloc[0]}'s tokens" if len(tokens_of) else "tokens"
    ax.set_xlabel(f"document length ({whose}, before truncation)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: the lines fill the whole panel
    return fig


def learning_curves(curves: pd.DataFrame, colors: dict[str, str], **_: object) -> Figure | None:
    if curves.empty or "val_accuracy_mean" not in curves or curves["val_accuracy_mean"].isna().all():
        return None
    fig = Figure(figsize=(9.5, 4.1))
    axes = fig.subplots(1, 2)
    for runner in [r for r in colors if r in set(curves["runner"])]:  # the tables' runner order
        rows = curves[curves["runner"] == runner].sort_values("epoch")
        for ax, column in zip(axes, ("val_accuracy", "val_loss"), strict=True):
            mean, std = rows[f"{column}_mean"], rows[f"{column}_std"]
            ax.plot(rows["epoch"], mean, color=colors.get(runner, "#555555"), marker="o", ms=4, label=runner)
            if std.notna().any():  # a band only where there are seeds to spread over
                ax.fill_between(rows["epoch"], mean - std, mean + std, color=colors.get(runner), alpha=0.1, lw=0)
    epochs = sorted(curves["epoch"].dropna().unique())
    for ax, label in zip(axes, ("validation accuracy", "validation loss"), strict=True):
        ax.xaxis.set_major_locator(
            FixedLocator(epochs if len(epochs) <= 12 else epochs[:: math.ceil(len(epochs) / 12)])
        )
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v)}"))
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
    axes[0].set_title("Learning curves: validation accuracy")
    axes[1].set_title("Learning curves: validation loss")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))  # outside, shared by both panels
    fig.subplots_adjust(wspace=0.3)
    return fig
