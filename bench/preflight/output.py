"""`bench inspect`'s outputs: the console table, the one line `bench run` prints, and the files (Markdown, CSV, JSON,
a histogram of document lengths per tokenizer), each written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.preflight.estimate import Estimate
from bench.preflight.lengths import PERCENTILES
from bench.preflight.suite import Inspection, Row
from bench.results.files import atomic_write_text, atomic_writer

COLUMNS = ("runner", "tokenizer", "docs", *(f"p{p}" for p in PERCENTILES), "max", "reads", "truncated %",
           "tokens dropped %", "micro-batch", "padding %", "estimate")  # fmt: skip


LINE_COLORS = ("#C44E52", "#DD8452", "#55A868", "#8172B3", "#937860", "#DA8BC3")


def row_values(row: Row) -> dict[str, Any]:
    """One row of the table as plain values (numbers unrounded; None where not applicable)."""
    values: dict[str, Any] = dict.fromkeys(COLUMNS)
    values["runner"] = row.runner
    lengths = row.lengths
    if lengths is None:
        values["tokenizer"] = f"unavailable: {row.why}"
        return values
    values.update(
        {
            "tokenizer": lengths.tokenizer,
            "docs": lengths.n_docs,
            **{f"p{p}": lengths.percentiles.get(p) for p in PERCENTILES},
            "max": lengths.max_tokens,
            "reads": lengths.content_tokens,
            "truncated %": 100 * lengths.truncated_share,
            "tokens dropped %": 100 * lengths.dropped_share,
            "micro-batch": lengths.micro_batch,
            "padding %": None if lengths.padding_share is None else 100 * lengths.padding_share,
        }
    )
    est = row.estimate
    values["estimate"] = est.describe() if isinstance(est, Estimate) else est
    return values


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "all" if column == "reads" else "—"
    if isinstance(value, float):
        return f"{value:.1f}" if column.endswith("%") else f"{value:.0f}"
    return f"{value:,}" if isinstance(value, int) and column == "docs" else str(value)


def table_lines(inspection: Inspection, markdown: bool = False) -> list[str]:
    """The table, aligned for a console or as a Markdown table; the estimate and unavailable tokenizers follow it."""
    columns = [c for c in COLUMNS if c != "estimate"]
    cells = [[_cell(c, row_values(r)[c]) if r.lengths else "" for c in columns] for r in inspection.rows]
    tags = tokenizer_tags(inspection)
    for line, row in zip(cells, inspection.rows, strict=True):
        line[0] = row.runner
        line[1] = tags[row.lengths.tokenizer] if row.lengths else "unavailable (see below)"
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(line) + " |" for line in cells]
    else:
        widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
        lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    bullet = "- " if markdown else "  "
    lines += ["", "tokenizers:", *(f"{bullet}{tag}: {source}" for source, tag in tags.items())]
    reasons: dict[str, list[str]] = {}  # runners of one checkpoint share the reason: said once
    for r in inspection.rows:
        if r.lengths is None:
            reasons.setdefault(r.why, []).append(r.runner)
    notes = [f"{bullet}{', '.join(names)}: {why}" for why, names in reasons.items()]
    if notes:
        lines += ["", "tokenizer unavailable:", *notes]
    estimates = [f"{bullet}{r.runner}: {row_values(r)['estimate']}" for r in inspection.measured if r.estimate]
    if estimates:
        lines += ["", "estimated cost of the suite's protocol per run:", *estimates]
    return lines


def tokenizer_tags(inspection: Inspection) -> dict[str, str]:
    """A short tag (T1, T2, ...) per tokenizer, in order of first use: the table's tokenizer column."""
    tags: dict[str, str] = {}
    for row in inspection.measured:
        tags.setdefault(row.lengths.tokenizer, f"T{len(tags) + 1}")
    return tags


def describe(inspection: Inspection) -> str:
    """What was measured: documents per split, the percentiles' basis, the micro-batch of the padding."""
    sizes = ", ".join(f"{name} {n:,}" for name, n in inspection.splits.items())
    notes = sorted({r.lengths.micro_batch_note for r in inspection.measured if r.lengths.micro_batch_note})
    text = (
        f"suite {inspection.suite}: {sizes} documents. Lengths are of the training documents (train + validation), "
        "in each runner's own tokens without special tokens; `reads` is the most document tokens a runner keeps; "
        "padding is of one simulated epoch of length-grouped training micro-batches."
    )
    return text + "".join(f" {n.capitalize()}." for n in notes) + f" Took {inspection.seconds:.1f} s."


def summary_line(inspection: Inspection) -> str | None:
    """The line `bench run` prints before training: each measured runner's truncation, or None if none measured."""
    measured = inspection.measured
    if not measured:
        return None
    parts = []
    for i, row in enumerate(measured):
        lengths = row.lengths
        share = f"{100 * lengths.truncated_share:.1f}%"
        if i == 0:
            parts.append(
                f"{row.runner} truncates {share} of {lengths.n_docs:,} train docs "
                f"({100 * lengths.dropped_share:.1f}% of tokens)"
            )
        else:
            parts.append(f"{row.runner} {share}")
    return "inspect: " + "; ".join(parts)


def to_json(inspection: Inspection) -> dict[str, Any]:
    """The inspection as JSON-ready data (`bench inspect --json`, inspect.json)."""
    return {
        "suite": inspection.suite,
        "splits": inspection.splits,
        "epochs": inspection.epochs,
        "seconds": round(inspection.seconds, 3),
        "runners": [{**row_values(r), "why": r.why or None, "describe": r.describe} for r in inspection.rows],
    }


def write_files(inspection: Inspection, out: Path) -> list[Path]:
    """inspect.md, inspect.csv, inspect.json and lengths.png under `out`, each replaced whole."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    md, csv, js, png = (out / n for n in ("inspect.md", "inspect.csv", "inspect.json", "lengths.png"))
    text = [f"# Inspect: {inspection.suite}", "", describe(inspection), "", *table_lines(inspection, markdown=True)]
    text += ["", "![document lengths](lengths.png)", ""]
    atomic_write_text(md, "\n".join(text))
    frame = pd.DataFrame([row_values(r) for r in inspection.rows], columns=list(COLUMNS))
    atomic_write_text(csv, frame.to_csv(index=False, float_format="%.4g"))
    atomic_write_text(js, json.dumps(to_json(inspection), indent=2) + "\n")
    written = [md, csv, js]
    if inspection.measured:
        histogram(inspection, png)
        written.append(png)
    return written


def histogram(inspection: Inspection, path: Path) -> None:
    """Document lengths per tokenizer (log-spaced bins), with a dashed line where each runner stops reading."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    by_tokenizer: dict[str, list[Row]] = {}  # tokenizers that count alike share a panel
    for row in inspection.measured:
        by_tokenizer.setdefault(row.lengths.tokenizer_key, []).append(row)
    fig = Figure(figsize=(8, 2.8 * len(by_tokenizer)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(by_tokenizer), 1, squeeze=False)[:, 0]
    for ax, rows in zip(axes, by_tokenizer.values(), strict=True):
        source = "; ".join(dict.fromkeys(r.lengths.tokenizer.split(" (from ")[0] for r in rows))
        docs = rows[0].lengths.doc_tokens
        low, top = max(int(docs.min()) if len(docs) else 1, 1), max(int(docs.max()) if len(docs) else 1, 2)
        bins = np.unique(np.geomspace(low, top + 1, 60).astype(int))
        ax.hist(np.maximum(docs, 1), bins=bins, color="#4C72B0", alpha=0.8)
        ax.set_xscale("log")
        limits = sorted({r.lengths.content_tokens for r in rows if r.lengths.content_tokens})
        for i, limit in enumerate(limits):
            names = ", ".join(r.runner for r in rows if r.lengths.content_tokens == limit)
            over = 100 * float((docs > limit).mean()) if len(docs) else 0.0
            color = LINE_COLORS[i % len(LINE_COLORS)]
            label = f"reads {limit}: {over:.1f}% longer ({names})"
            ax.axvline(limit, color=color, linestyle="--", linewidth=1.2, label=label)
        if limits:
            ax.legend(fontsize=7, loc="upper right", frameon=False)
        ax.set_title(f"{inspection.suite}: {len(docs):,} training documents, {source}", fontsize=8, loc="left")
        ax.set_xlabel("tokens per document (log scale)")
        ax.set_ylabel("documents")
    with atomic_writer(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110, metadata={"Software": None})
