"""The report's sections, registered in reading order, and the page built from them.

A section is a title, an anchor, a kind and a function from the report's data to its blocks (tables, text,
figures; [] where it has nothing to show, and the page leaves it out). The page is the one-line answer, a
table of contents, the verdict, then the other sections: those that decide (quality, cost, the paired comparison)
before those that explain (by length, per class, calibration, scaling) and the record (runs, provenance, other
suites). A new section is one `Section` in `SECTIONS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bench.report import classes_section, compose, fmt, leaderboard, multilabel_section, profiling, stats, verdict
from bench.report.compose import ReportData
from bench.report.load import OK
from bench.report.published import published_section
from bench.report.render import Answer, Block, Code, Contents, Document, Heading, Image, Paragraph, Strong

ANSWER, DECISION, DIAGNOSTIC, RECORD = "answer", "decision", "diagnostic", "record"
KINDS = (ANSWER, DECISION, DIAGNOSTIC, RECORD)  # the page's order


def slug(title: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


@dataclass(frozen=True)
class Section:
    """One section of the report: `render(data)` gives its blocks, without its heading (the page adds it)."""

    title: str
    kind: str
    render: Callable[[ReportData], list[Block]]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"section {self.title!r}: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @property
    def anchor(self) -> str:
        return slug(self.title)


def sentences(data: ReportData) -> list[str]:
    """The verdict's sentences: the report's, `verdict.md`'s and what `bench run` prints."""
    return verdict.verdict(data.summary, data.comparison, data.aligned, data.baseline, data.results.kind)


def answer(data: ReportData) -> str:
    """The one line the report opens with, on the task's main metric."""
    return verdict.headline(data.summary, data.comparison, data.baseline, data.results.kind)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _figures(data: ReportData, *names: str, headed: bool = True) -> list[Block]:
    """The suite's plots named `names` (those drawn), each under its own heading unless `headed` is false (a
    section that is about the figure already)."""
    out: list[Block] = []
    for plot in (p for p in data.plots if p.name in names):
        out += [Heading(plot.title, 3)] if headed else []
        out.append(Image(plot.png, plot.title, plot.caption, plot.svg))
    return out


def _highlights(data: ReportData) -> list[Paragraph]:
    # on the task's main metric, as the verdict judges (micro-F1 for a multi-label suite, not subset accuracy)
    task = data.results.kind
    metric, name = task.main_metric, task.label(task.main_metric)
    s = data.summary[(data.summary["seeds_ok"] > 0) & ~data.summary["cost_only"].astype(bool)]
    out = []
    if not s.empty and s[f"{metric}_mean"].notna().any():
        top = s.loc[s[f"{metric}_mean"].idxmax()]
        seeds = (
            f", {top['seeds_ok']} of {top['seeds_in_suite']} seeds" if top["seeds_ok"] < top["seeds_in_suite"] else ""
        )
        value = fmt.metric(top[f"{metric}_mean"], top[f"{metric}_std"])
        out.append(Paragraph.of(f"Best {name}: ", Strong(top["runner"]), f" ({name} {value}{seeds}).", bullet=True))
    if data.baseline is not None:
        out.append(Paragraph.of("Baseline for the paired comparison: ", Strong(data.baseline), ".", bullet=True))
    front = s[stats.pareto_front(s["train_s_per_epoch"].to_numpy(), s[f"{metric}_mean"].to_numpy())]
    if len(front):
        names = ", ".join(front.sort_values("train_s_per_epoch")["runner"])
        unmeasured = s.loc[s["train_s_per_epoch"].isna(), "runner"]
        left_out = f" (not ranked, training time not measured: {', '.join(unmeasured)})" if len(unmeasured) else ""
        out.append(
            Paragraph.of(f"Pareto front of {name} vs training time per epoch: ", names, left_out, ".", bullet=True)
        )
    bad = data.summary[data.summary["seeds_ok"] < data.summary["seeds_in_suite"]]
    if len(bad):
        out.append(Paragraph.of("Incomplete: ", ", ".join(bad["runner"]), " (see Runs).", bullet=True))
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _verdict(data: ReportData) -> list[Block]:
    r, aligned = data.results, data.aligned
    n_test = f"{aligned.n:,} test examples" if aligned else "no predictions"
    blocks: list[Block] = [Paragraph.of(line, bullet=True) for line in sentences(data)]
    blocks.append(
        Paragraph.of(
            "Suite ",
            Code(r.suite),
            f": {_count(len(r.runners), 'runner')}, {'seed' if len(r.seeds) == 1 else 'seeds'} "
            f"{', '.join(map(str, r.seeds))}; {_count(len(r.runs), 'run')} ({int((r.runs['status'] == OK).sum())} ok), "
            f"{n_test}. Built from ",
            Code(str(r.source)),
            " alone.",
        )
    )
    blocks += _highlights(data)
    notes = list(r.problems)
    if aligned is not None and aligned.n_dropped:
        notes.append(
            f"{aligned.n_dropped} test examples lack a prediction from some run; CIs and comparisons omit them"
        )
    return blocks + [Paragraph.of("Note: ", note, bullet=True) for note in notes]


def _quality(data: ReportData) -> list[Block]:
    blocks: list[Block] = [compose.quality_table(data)]
    if data.published is not None and not data.published.empty:
        blocks += [Heading("Published results", 3), published_section(data.published)]
    return blocks


def _cost(data: ReportData) -> list[Block]:
    return [compose.cost_table(data), *_figures(data, "accuracy_vs_cost", "accuracy_vs_energy")]


def _comparison(data: ReportData) -> list[Block]:
    if data.baseline is None:
        return [
            Paragraph.of(
                "No baseline: no runner is head-truncated without an attention window. Pick one with ",
                Code("--baseline RUNNER"),
                ".",
            )
        ]
    if data.comparison.empty:
        has_predictions = data.aligned is not None and data.baseline in data.aligned.preds
        why = " is the only runner with predictions." if has_predictions else " has no successful run with predictions."
        return [Paragraph.of("Nothing to compare: baseline ", Strong(data.baseline), why)]
    return [Paragraph.of("Baseline: ", Strong(data.baseline), "."), compose.comparison_table(data)]


def _by_length(data: ReportData) -> list[Block]:
    if data.lengths.empty:
        return [Paragraph.of("No document lengths in the predictions.")]
    return [compose.length_table(data), *_figures(data, "accuracy_by_length", headed=False)]


def _plots(data: ReportData) -> list[Block]:
    blocks = _figures(data, "accuracy_vs_length", "memory_vs_length", "throughput_vs_length", "learning_curves")
    return blocks + [Paragraph.of("Not plotted: ", why, bullet=True) for why in data.skipped_plots]


def _profile(data: ReportData) -> list[Block]:
    if data.results_dir is None or data.out_dir is None:
        return []
    return profiling.blocks(data.results_dir, data.out_dir, level=2)


def _runs(data: ReportData) -> list[Block]:
    blocks: list[Block] = [
        Paragraph.of("Status of every (runner, seed) of the suite; missing means no record."),
        compose.status_table(data),
    ]
    if not data.failures.empty:
        blocks += [Heading("Failed runs", 3), compose.failure_table(data)]
    return blocks


def _across(data: ReportData) -> list[Block]:
    return [] if data.across is None else leaderboard.section(data.across, data.pricing)


SECTIONS: tuple[Section, ...] = (
    Section("Verdict", ANSWER, _verdict),
    Section("Quality", DECISION, _quality),
    Section("Multi-label quality", DECISION, lambda d: multilabel_section.section(d.multilabel)),
    Section("Cost", DECISION, _cost),
    Section("Paired comparison with the baseline", DECISION, _comparison),
    Section("Accuracy by document length", DIAGNOSTIC, _by_length),
    Section(
        "Per class", DIAGNOSTIC, lambda d: [] if d.classes is None else classes_section.per_class_section(d.classes)
    ),
    Section(
        "Calibration", DIAGNOSTIC, lambda d: [] if d.classes is None else classes_section.calibration_section(d.classes)
    ),
    Section("Plots", DIAGNOSTIC, _plots),
    Section("Scaling with sequence length", DIAGNOSTIC, _profile),
    Section("Runs", RECORD, _runs),
    Section("Provenance", RECORD, lambda d: [compose.provenance_table(d)]),
    Section("Across suites", RECORD, _across),
)


def page(data: ReportData, sections: tuple[Section, ...] = SECTIONS) -> Document:
    """The report: its answer in one line, a table of contents, then `sections` in order (those with something to
    show)."""
    rendered = [(s, blocks) for s in sections if (blocks := s.render(data))]
    out: list[Block] = [Answer((answer(data),)), Contents(tuple((s.title, s.anchor) for s, _ in rendered))]
    for section, blocks in rendered:
        out += [Heading(section.title, 2, section.anchor), *blocks]
    return Document(f"bench report: {data.results.suite}", out)
