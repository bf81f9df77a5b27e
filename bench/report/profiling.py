"""The report's profile section: how memory and time per step grow with sequence length (`bench profile`),
drawn from the records under `<results>/profile/` alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bench.report import fmt
from bench.report.exponents import COSTS, describe, exponents
from bench.report.figures import save_figures
from bench.report.plots import MARKERS, PALETTE, _length_axis
from bench.report.render import Block, Cell, Code, Document, Heading, Image, Paragraph, Table, to_html, to_markdown
from bench.results.schema import OK, OOM
from bench.results.store import ResultStore
from bench.results.tables import profile_table

MEMORY_KINDS = {"gpu": "GPU memory allocated", "cpu": "CPU RSS"}


@dataclass(frozen=True)
class Line:
    """Records drawn as one line and fitted as one series: one runner, mode, batch size and device."""

    label: str
    color: str
    marker: str
    rows: pd.DataFrame  # sorted by seq_len


def series(frame: pd.DataFrame) -> list[Line]:
    """Group the profile table into lines; labels say mode, batch or device only where these vary."""
    frame = frame.assign(device_name=frame["gpu_name"].fillna(frame["device"]).fillna("?"))
    keys = ["runner", "mode", "batch_size", "device_name"]
    varying = [k for k in keys[1:] if frame[k].nunique(dropna=False) > 1]
    lines = []
    for i, (key, rows) in enumerate(frame.groupby(keys, sort=False, dropna=False)):
        parts = dict(zip(keys, key, strict=True))
        extra = {
            "mode": parts["mode"],
            "batch_size": f"batch {parts['batch_size']}",
            "device_name": parts["device_name"],
        }
        label = " · ".join([str(parts["runner"]), *(str(extra[k]) for k in varying)])
        lines.append(Line(label, PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)], rows.sort_values("seq_len")))
    return lines


def _ok(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["status"] == OK]


def _mark_oom(ax, lines: list[Line]) -> None:
    """A red x at the top of the panel for every length that ran out of memory."""
    top = ax.get_ylim()[1]
    for line in lines:
        oom = line.rows[line.rows["status"] == OOM]
        if len(oom):
            ax.scatter(oom["seq_len"], [top] * len(oom), marker="x", color="#b3261e", s=60, zorder=4, clip_on=False)
            for length in oom["seq_len"]:
                ax.annotate(
                    f"OOM: {line.label}",
                    (length, top),
                    xytext=(4, -12),
                    textcoords="offset points",
                    fontsize=7.5,
                    color="#b3261e",
                )


def _by_length(lines: list[Line], column: str, ylabel: str, title: str) -> Figure | None:
    """One line per series of `column` over the lengths that finished, with out-of-memory lengths marked."""
    if not any(_ok(ln.rows)[column].notna().any() for ln in lines):
        return None
    fig = Figure(figsize=(7, 4.3))
    ax = fig.subplots()
    for ln in lines:
        ok = _ok(ln.rows)
        ax.plot(ok["seq_len"], ok[column], color=ln.color, marker=ln.marker, label=ln.label)
    _length_axis(ax, [*(v for ln in lines for v in ln.rows["seq_len"])])
    ax.set_xlabel("sequence length (tokens, log scale)")
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_title(title)
    _mark_oom(ax, lines)
    ax.legend(loc="upper left")
    return fig


def memory_figure(lines: list[Line], kind: str) -> Figure | None:
    return _by_length(lines, "step_mem_mb", f"{kind} added by the steps (MB)", "Memory vs sequence length")


def throughput_figure(lines: list[Line], **_: object) -> Figure | None:
    return _by_length(lines, "tokens_per_s", "tokens/s", "Throughput vs sequence length")


def loglog_figure(lines: list[Line], kind: str) -> Figure | None:
    if not any(len(_ok(ln.rows)) >= 2 for ln in lines):
        return None
    fig = Figure(figsize=(11, 4.3))
    axes = fig.subplots(1, 2)
    panels = (("time", "seconds per step (median)", "Time per step"), ("memory", f"{kind} added (MB)", "Memory"))
    for ax, (cost, ylabel, title) in zip(axes, panels, strict=True):
        column = COSTS[cost]
        for ln in lines:
            ok = _ok(ln.rows)
            ok = ok[ok[column] > 0]
            slope = exponents(ok.to_dict("records"))[cost]
            label = f"{ln.label}: slope {slope:.2f}" if slope is not None else ln.label
            ax.plot(ok["seq_len"], ok[column], color=ln.color, marker=ln.marker, lw=0, label=label)
            if slope is not None:  # the fitted power law through the points' geometric centre
                x, y = np.log(ok["seq_len"].astype(float)), np.log(ok[column].astype(float))
                xs = np.linspace(x.min(), x.max(), 20)
                ax.plot(np.exp(xs), np.exp(y.mean() + slope * (xs - x.mean())), color=ln.color, lw=1.4, ls="--")
        _length_axis(ax, [*(v for ln in lines for v in ln.rows["seq_len"])])
        ax.set_yscale("log")
        ax.set_xlabel("sequence length (tokens, log scale)")
        ax.set_ylabel(f"{ylabel}, log scale")
        ax.set_title(f"{title} (log-log)")
        ax.legend(loc="upper left", fontsize=7.5)
    fig.subplots_adjust(wspace=0.3)
    return fig


# name, title, caption, function. The order is the report's order.
FIGURES = (
    ("profile_memory_vs_length", "Memory vs sequence length",
     "Memory the warm-up and timed steps add over the built model (GPU: peak allocated minus the model's; CPU: peak "
     "RSS over the steps minus RSS before them). A red x: out of memory at that length.", memory_figure),
    ("profile_throughput_vs_length", "Throughput vs sequence length",
     "Tokens per second of synthetic documents of exactly that length (median step).", throughput_figure),
    ("profile_loglog", "Scaling exponents (log-log)",
     "Slope of the least-squares line through log cost against log length: 1 is linear, 2 quadratic. Dashed: the "
     "fitted power law.", loglog_figure),
)  # fmt: skip


def exponent_table(lines: list[Line]) -> Table:
    rows = []
    for ln in lines:
        fitted = exponents(ln.rows.to_dict("records"))
        ok = _ok(ln.rows)["seq_len"]
        span = f"{ok.min():,}–{ok.max():,}" if len(ok) else fmt.MISSING
        cells = [Cell(ln.label), Cell(span, numeric=True)]
        for cost in ("memory", "time"):
            value = fitted[cost]
            cells.append(Cell(fmt.MISSING if value is None else f"{value:.2f}", describe(value), numeric=True))
        statuses = ln.rows["status"].value_counts()
        cells.append(Cell(", ".join(f"{n} {s}" for s, n in statuses.items()), bad=bool(set(statuses.index) - {OK})))
        rows.append(cells)
    notes = [
        Paragraph.of(
            "Fitted over the lengths that finished (ok); a quadratic cost can look flatter at short "
            "lengths, where the parts that grow linearly still dominate."
        )
    ]
    return Table(["series", "lengths", "memory exponent", "time exponent", "measurements"], rows, notes)


def measurement_table(frame: pd.DataFrame) -> Table:
    rows = []
    for r in frame.itertuples():
        bad = r.status != OK
        step_memory = MEMORY_KINDS.get(r.step_mem_kind, "") if not bad else ""
        rows.append(
            [
                Cell(r.runner),
                Cell(r.mode),
                Cell(str(r.batch_size), numeric=True),
                Cell(fmt.length(r.seq_len), numeric=True),
                Cell(r.status, str(r.error or "") if bad else "", bad=bad),
                Cell("" if pd.isna(r.s_per_step) else f"{r.s_per_step:.4g}", numeric=True),
                Cell(fmt.rate(r.tokens_per_s), numeric=True),
                Cell(fmt.megabytes(r.step_mem_mb), step_memory, numeric=True),
                Cell(fmt.megabytes(r.peak_gpu_mem_mb), numeric=True),
                Cell(fmt.megabytes(r.peak_cpu_rss_mb), numeric=True),
                Cell(fmt.MISSING if pd.isna(r.mfu) else f"{100 * r.mfu:.2f}%", numeric=True),
            ]
        )
    columns = ["runner", "mode", "batch", "length", "status", "s/step", "tokens/s", "step memory (MB)"]
    notes = [
        Paragraph.of(
            "s/step: median over the timed steps. Step memory: what the steps add over the built model. Peak GPU: "
            "torch max_memory_allocated; peak RSS: the whole process, imports included. MFU: model FLOPs (",
            Code("bench/profile/flops.py"),
            ") per second over the device's peak (data sheet on known GPUs, a measured fp32 matmul on a CPU); ",
            fmt.MISSING,
            " where not measurable.",
        )
    ]
    return Table([*columns, "peak GPU (MB)", "peak RSS (MB)", "MFU"], rows, notes)


def load(results_dir: Path) -> pd.DataFrame:
    """The profile table of `<results_dir>/profile/`, empty when there are no records."""
    return profile_table(list(ResultStore(results_dir).profile_records()))


def blocks(results_dir: Path, out_dir: Path, level: int = 2) -> list[Block]:
    """The profile section under a heading of `level` (its exponents, plots, measurements; the heading is the
    caller's), or [] without profile records.

    Plots are written to `<out_dir>/plots/`.
    """
    frame = load(results_dir)
    if frame.empty:
        return []
    lines = series(frame)
    kinds = set(frame.loc[frame["step_mem_mb"].notna(), "step_mem_kind"])
    kind = MEMORY_KINDS[kinds.pop()] if len(kinds) == 1 else "memory"
    out: list[Block] = [
        Paragraph.of(
            f"{len(frame)} measurements by ",
            Code("bench profile"),
            " from ",
            Code(str(results_dir / "profile")),
            ": synthetic documents of exactly each length, each (runner, length) in a fresh process.",
        ),
        exponent_table(lines),
    ]
    saved = save_figures(FIGURES, lambda function: function(lines, kind=kind), out_dir / "plots")
    for plot in saved:
        out += [Heading(plot.title, level + 1), Image(plot.png, plot.title, plot.caption)]
    out += [Heading("Measurements", level + 1), measurement_table(frame)]
    return out


def build_profile_report(results_dir: Path, out_dir: Path) -> Path:
    """reports/profile/report.md and report.html (self-contained) from the profile records alone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    body = blocks(results_dir, out_dir, level=2)
    section = [Heading("Scaling with sequence length"), *body] if body else []
    document = Document("bench profile: memory and time vs sequence length", section)
    md_path = out_dir / "report.md"
    md_path.write_text(to_markdown(document, out_dir), encoding="utf-8")
    (out_dir / "report.html").write_text(to_html(document), encoding="utf-8")
    return md_path
