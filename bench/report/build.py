"""Build a suite's report: read the records, compute the tables, draw the plots, write Markdown, HTML and CSV."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from bench.report import (
    budget,
    carbon,
    classes_section,
    compose,
    cost,
    costonly,
    figures,
    multilabel_section,
    published,
    sections,
    tables,
)
from bench.report.load import align_predictions, load_results
from bench.report.render import to_html, to_markdown


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, float_format="%.6g")


def build(
    results_dir: Path | Sequence[Path],
    suite: str,
    out_dir: Path | None = None,
    baseline: str | None = None,
    warn: Callable[[str], None] | None = None,
    pricing: budget.Pricing | None = None,
) -> Path:
    """See `bench.report.build_report`."""
    out_dir = out_dir if out_dir is not None else Path("reports") / suite
    data = report_data(results_dir, suite, out_dir, baseline, warn, pricing)
    document = sections.page(data)
    verdict = "\n".join(sections.sentences(data)) + "\n"
    (out_dir / "verdict.md").write_text(verdict, encoding="utf-8")  # `bench run` prints it
    md_path = out_dir / "report.md"
    md_path.write_text(to_markdown(document, out_dir), encoding="utf-8")
    (out_dir / "report.html").write_text(to_html(document), encoding="utf-8")
    return md_path


def report_data(
    results_dir: Path | Sequence[Path],
    suite: str,
    out_dir: Path | None = None,
    baseline: str | None = None,
    warn: Callable[[str], None] | None = None,
    pricing: budget.Pricing | None = None,
) -> compose.ReportData:
    """Read the records, compute every table (written as CSV under `<out_dir>/tables/`) and draw the plots (under
    `plots/`): all the report's sections render from what this returns."""
    across = results_dir  # every folder, for the section across suites
    results = load_results(results_dir, suite)
    for line in results.duplicates if warn else ():
        warn(line)
    results_dir = Path(results_dir) if isinstance(results_dir, str | Path) else Path(results_dir[0])
    out_dir = out_dir if out_dir is not None else Path("reports") / suite
    chosen = tables.pick_baseline(results, baseline)  # fails on an unknown baseline before anything is written
    order = tables.runner_order(results, first=chosen)
    # cost-only (random-init) runs take no part in paired tests, CIs or accuracy by length
    quality = costonly.quality_view(results.predictions, costonly.cost_only_runners(results.runs))
    aligned = align_predictions(quality, chosen or order[0], results.kind)  # lengths in the baseline's tokens
    summary = budget.add_budget(tables.summary_table(results, aligned, order), results.runs, pricing)
    summary = carbon.add_energy(summary, results.runs)
    comparison = tables.comparison_table(aligned, order, chosen, results.kind)  # on the task's main metric
    lengths = tables.length_table(aligned, order, [int(m) for m in summary["max_length"].dropna()])
    max_lengths = [int(m) for m in summary["max_length"].dropna()]
    multilabel = multilabel_section.build(results, aligned, summary, chosen, max_lengths, out_dir)  # None: single
    per_class = classes_section.build(results, order, summary, chosen, out_dir)  # per-class and calibration
    curves = tables.learning_curves(results)
    statuses = tables.status_table(results, order)
    failures = tables.failure_table(results)
    literature = published.published_table(results, summary)

    csv_dir = out_dir / "tables"
    for name, frame in (
        ("summary", summary),
        ("comparison", comparison),
        ("accuracy_by_length", lengths),
        ("learning_curves", curves),
        ("run_status", statuses),
        ("published", literature),
        ("runs", results.runs),
    ):
        _write_csv(frame, csv_dir / f"{name}.csv")

    memory_label = cost.memory_label(summary)
    saved, skipped = figures.draw_all(summary, lengths, curves, memory_label, out_dir / "plots")
    return compose.ReportData(
        results,
        aligned,
        summary,
        comparison,
        lengths,
        statuses,
        failures,
        chosen,
        saved,
        skipped,
        literature,
        multilabel,
        per_class,
        results_dir=results_dir,
        out_dir=out_dir,
        across=across,
        pricing=pricing,
    )
