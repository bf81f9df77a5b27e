"""One table across suites: runner × suite, each cell the suite's main metric with its bootstrap CI and rank, the
mean rank per runner, and a cost column, from the records of a results folder alone; as Markdown, sortable HTML and
CSV.

A suite's main metric is its task's (`Task.main_metric`: accuracy for a single-label suite, micro-F1 for a
multi-label one), named in the column's header; the cells and CIs are the suite report's own figures
(`tables.summary_table`: mean over seeds, 95% bootstrap CI over test documents). Ranks are per suite, among the
runners with a result there (cost-only random-init runs are never ranked), by the main metric; runners the task's
paired test on the same test documents cannot separate (p >= 0.05 against the best of their group) share the
group's rank and are shown as tied. The mean rank is over the suites every ranked runner of the board has a result
on, so that a runner that ran one small suite cannot top runners ranked on many; the table shows over how many.
Cost: the median over suites of the full-data training device-hours (`budget`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.report import budget, costonly, fmt, tables
from bench.report.errors import ReportError
from bench.report.load import AlignedPredictions, align_predictions, load_results
from bench.report.render import Cell, Code, Document, Heading, Paragraph, Table, to_html, to_markdown
from bench.results.store import ResultStore
from bench.tasks import Task

TIE_ALPHA = 0.05  # runners whose paired test against their group's best has p at or above this are tied


@dataclass(frozen=True)
class SuiteColumn:
    """One suite's column: its name, main metric (and its name as shown), one row per runner of
    `tables.summary_table` (with budget), and the ranks with ties (`ranks`)."""

    suite: str
    metric: str
    summary: pd.DataFrame
    label: str = ""
    rank: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    tied: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Leaderboard:
    """The leaderboard: `table` has one row per runner (the CSV), `columns` the suites in order, `problems` the
    suites that could not be read, one line each."""

    table: pd.DataFrame
    columns: list[SuiteColumn]
    problems: list[str] = field(default_factory=list)


def suite_column(dirs: Sequence[Path], suite: str, pricing: budget.Pricing | None) -> SuiteColumn:
    """Read one suite, compute the report's per-runner summary of it and rank its runners on the task's main
    metric."""
    results = load_results(list(dirs), suite)
    task = results.kind
    order = tables.runner_order(results)
    quality = costonly.quality_view(results.predictions, costonly.cost_only_runners(results.runs))
    aligned = align_predictions(quality, None, task)
    summary = budget.add_budget(tables.summary_table(results, aligned, order), results.runs, pricing)
    rank, tied = ranks(summary, task.main_metric, aligned, task)
    return SuiteColumn(suite, task.main_metric, summary, task.label(task.main_metric), rank, tied)


def ranks(
    summary: pd.DataFrame, metric: str, aligned: AlignedPredictions | None = None, task: Task | None = None
) -> tuple[pd.Series, frozenset[str]]:
    """Rank 1 = best `metric`, among runners with a trained result, and the runners tied with another.

    Runners are taken best first; each joins the group of the runner before it where the task's paired test
    (`Task.compare` on the documents all runners predicted) cannot tell it from that group's best at `TIE_ALPHA`,
    and a group shares its best's rank (1, 1, 3: competition ranking). Equal values are tied too. Without
    predictions to test on, only equal values tie."""
    s = summary
    ranked = s[~s["cost_only"].astype(bool) & (s["seeds_ok"] > 0) & s[f"{metric}_mean"].notna()]
    values = ranked.set_index("runner")[f"{metric}_mean"].sort_values(ascending=False, kind="stable")
    rank: dict[str, float] = {}
    tied: set[str] = set()
    leader, leader_rank = None, 0.0
    for position, runner in enumerate(values.index, 1):
        if leader is not None and _inseparable(runner, leader, values, metric, aligned, task):
            rank[runner] = leader_rank
            tied |= {runner, leader}
        else:
            leader, leader_rank = runner, float(position)
            rank[runner] = leader_rank
    return pd.Series(rank, dtype=float), frozenset(tied)


def _inseparable(
    runner: str, leader: str, values: pd.Series, metric: str, aligned: AlignedPredictions | None, task: Task | None
) -> bool:
    if abs(values[runner] - values[leader]) < 1e-12:
        return True
    if task is None or aligned is None or runner not in aligned.docs or leader not in aligned.docs or not aligned.n:
        return False
    return task.compare(metric, aligned.docs[runner], aligned.docs[leader])["p_value"] >= TIE_ALPHA


def build_table(columns: list[SuiteColumn]) -> pd.DataFrame:
    """One row per runner: per suite the main metric, its CI and rank; the mean rank; the median cost."""
    runners = list(dict.fromkeys(r for c in columns for r in c.summary["runner"]))
    rows = {r: {"runner": r} for r in runners}
    for c in columns:
        by_runner = c.summary.set_index("runner")
        rank = c.rank
        for runner, s in by_runner.iterrows():
            trained = not bool(s["cost_only"]) and s["seeds_ok"] > 0
            prefix = f"{c.suite}.{c.metric}"
            rows[runner] |= {
                prefix: s[f"{c.metric}_mean"] if trained else math.nan,
                # a metric the report has no bootstrap for yet has a mean and no CI
                f"{prefix}_ci_low": s.get(f"{c.metric}_ci_low", math.nan) if trained else math.nan,
                f"{prefix}_ci_high": s.get(f"{c.metric}_ci_high", math.nan) if trained else math.nan,
                f"{c.suite}.rank": rank.get(runner, math.nan),
                f"{c.suite}.tied": runner in c.tied,
                f"{c.suite}.cost_only": bool(s["cost_only"]),
            }
    table = pd.DataFrame(list(rows.values()))
    rank_columns = [f"{c.suite}.rank" for c in columns]
    ranked = table[rank_columns].notna()
    # the suites every runner ranked anywhere has a rank on: a mean over different suites would compare nothing
    shared = [c for c in rank_columns if ranked.loc[ranked.any(axis=1), c].all()]
    table["mean_rank"] = table[shared].mean(axis=1) if shared else math.nan
    table.loc[~ranked.any(axis=1), "mean_rank"] = math.nan
    table["suites_ranked"] = ranked.sum(axis=1)
    table["suites_in_mean"] = len(shared)
    cost = _median_cost(columns, runners)
    table = table.merge(cost, on="runner", how="left")
    order = table.sort_values(["mean_rank", "runner"], na_position="last").index
    return table.loc[order].reset_index(drop=True)


def _median_cost(columns: list[SuiteColumn], runners: list[str]) -> pd.DataFrame:
    """Per runner: the median over suites of its full-data training device-hours (and money where priced)."""
    rows = []
    for runner in runners:
        found = [c.summary.set_index("runner").loc[runner] for c in columns if runner in set(c.summary["runner"])]
        kinds = sorted({s["device_kind"] for s in found} - {""})
        kind = kinds[0] if len(kinds) == 1 else ""  # GPU-hours and CPU-hours are not one number
        hours = [s[f"train_{kind.lower()}_h"] for s in found] if kind else []
        money = pd.Series([s["train_cost"] for s in found], dtype=float)
        currencies = sorted({s["currency"] for s in found} - {""})
        # a median over the priced suites only would pass for the runner's: money only where every suite has it
        priced = len(currencies) == 1 and bool(money.notna().all())
        notes = sorted({s["budget_note"] for s in found} - {""})
        rows.append(
            {
                "runner": runner,
                "device_kind": kind or " / ".join(kinds),
                "train_device_h_median": pd.Series(hours, dtype=float).median(),
                "train_cost_median": money.median() if priced else math.nan,
                "currency": currencies[0] if priced else "",
                "cost_note": "" if priced else "; ".join(notes) or "not priced in every suite",
            }
        )
    return pd.DataFrame(rows, columns=["runner", "device_kind", "train_device_h_median", "train_cost_median",
                                       "currency", "cost_note"])  # fmt: skip


def leaderboard(
    results: Path | Sequence[Path],
    suites: Sequence[str] | None = None,
    pricing: budget.Pricing | None = None,
) -> Leaderboard:
    """The leaderboard of every suite (or `suites`) in the results folder(s).

    Raises:
        ReportError: No suite has results there, or a suite asked for has none.
    """
    dirs = [Path(results)] if isinstance(results, str | Path) else [Path(d) for d in results]
    found = sorted({s for d in dirs for s in ResultStore(d).suites()})
    where = ", ".join(str(d) for d in dirs)
    if not found:
        raise ReportError(f"no suite results in {where}; run `bench run --suite NAME --results {dirs[0]}` first")
    wanted = list(suites) if suites else found
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise ReportError(f"no results for suite(s) {', '.join(unknown)} in {where}; suites there: {', '.join(found)}")
    columns, problems = [], []
    for suite in wanted:
        try:
            columns.append(suite_column(dirs, suite, pricing))
        except ReportError as err:  # one unreadable suite does not hide the others: named in the output
            problems.append(f"suite {suite} left out: {err}")
    if not columns:
        raise ReportError(f"no suite in {where} could be read: {problems[0]}")
    return Leaderboard(build_table(columns), columns, problems)


# ---- rendering ----------------------------------------------------------------------------------------------------


def _cell(row: pd.Series, c: SuiteColumn, best: bool) -> Cell:
    prefix, cost_only = f"{c.suite}.{c.metric}", row.get(f"{c.suite}.cost_only")
    if cost_only is None or pd.isna(cost_only):
        return Cell(fmt.MISSING, "(not run)")
    if bool(cost_only):
        return Cell(fmt.MISSING, "(cost only: random weights)")
    if pd.isna(row[prefix]):
        return Cell(fmt.MISSING, "(no successful run)", bad=True)
    ci = fmt.interval(row[f"{prefix}_ci_low"], row[f"{prefix}_ci_high"])
    tied = " (tied)" if row.get(f"{c.suite}.tied") else ""
    rank = f"rank {row[f'{c.suite}.rank']:g}{tied}" if pd.notna(row[f"{c.suite}.rank"]) else ""
    return Cell(f"{row[prefix]:.3f}", " ".join(p for p in (ci, rank) if p), best=best, numeric=True)


def document(board: Leaderboard, source: str) -> Document:
    """The leaderboard as a document: the table, then how to read it."""
    t = board.table
    currency = next((c for c in t["currency"] if c), "")
    best = {
        c.suite: fmt.best_mask(list(t[f"{c.suite}.{c.metric}"])) if f"{c.suite}.{c.metric}" in t else [False] * len(t)
        for c in board.columns
    }
    mean_best = fmt.best_mask(list(t["mean_rank"]), higher=False)
    rows = []
    for i, row in t.iterrows():
        cells = [Cell(row["runner"])]
        cells += [_cell(row, c, best[c.suite][i]) for c in board.columns]
        n, ranked = int(row["suites_in_mean"]), pd.notna(row["mean_rank"])
        cells.append(
            Cell(
                f"{row['mean_rank']:.2f}" if ranked else fmt.MISSING,
                f"(over {n} of {len(board.columns)})" if ranked else "",
                best=mean_best[i],
                numeric=True,
            )
        )
        unit = f" {row['device_kind']}-h" if row["device_kind"] in ("GPU", "CPU") else ""
        hours = budget.hours(row["train_device_h_median"])
        cells.append(Cell(hours + (unit if hours != fmt.MISSING else ""), numeric=True))
        if currency:
            note = f"({row['cost_note']})" if row["cost_note"] else ""
            cells.append(Cell(budget.money(row["train_cost_median"], row["currency"] or currency), note, numeric=True))
        rows.append(cells)
    headers = ["runner", *(f"{c.suite} ({c.label or c.metric})" for c in board.columns), "mean rank"]
    headers += ["train, full data (median device-h)", *([f"train, full data (median {currency})"] if currency else [])]
    sources = sorted({s for c in board.columns for s in c.summary["price_source"] if s})
    notes = [
        Paragraph.of(
            "Each cell: the suite's main metric (its task's: accuracy for a single-label suite, micro-F1 for a "
            "multi-label one; named in the header), mean over successful seeds, with its 95% bootstrap CI over test "
            "documents (test-set sampling only) and the runner's rank in that suite (1 = best). Tied: the task's "
            f"paired test on the same test documents cannot tell the runner from the best of its group (p >= "
            f"{TIE_ALPHA}), so they share the group's rank. Bold: best in the column. Mean rank: over the suites every "
            "ranked runner has a result on (below it: how many), so that runners are compared on the same suites and "
            "one that ran a single small suite cannot top the board; — where no suite has them all. Cost-only runs "
            "(random weights) are shown, never ranked. Cost: the "
            "median over suites of the full-data training device-hours (measured training time scaled to the "
            "suite's full train split, × devices), and of its money where a GPU price is known.",
        ),
        *(Paragraph.of("Price: ", s, ".", bullet=True) for s in sources),
        *(Paragraph.of("Note: ", p, bullet=True) for p in board.problems),
    ]
    blocks = [
        Paragraph.of(f"{len(board.columns)} suites, {len(t)} runners, built from ", Code(source), " alone."),
        Table(headers, rows, notes),
    ]
    return Document("bench leaderboard", [Heading("Runner × suite"), *blocks])


# Sort a table by a clicked header: numbers (commas dropped, the first number of a cell) before text, — last.
SORT_JS = """
document.querySelectorAll("table").forEach(function (table) {
  table.classList.add("sortable");
  table.querySelectorAll("th").forEach(function (th, col) {
    th.style.cursor = "pointer"; th.title = "sort";
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var up = th.getAttribute("data-dir") !== "asc";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("data-dir"); });
      th.setAttribute("data-dir", up ? "asc" : "desc");
      function key(row) {
        var text = row.cells[col].firstChild ? row.cells[col].firstChild.textContent : "";
        var n = parseFloat(text.replace(/,/g, ""));
        return isNaN(n) ? text : n;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === "\\u2014" || y === "\\u2014") { return x === y ? 0 : x === "\\u2014" ? 1 : -1; }
        if (typeof x === typeof y) { return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); }
        return typeof x === "number" ? -1 : 1;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def write(
    results: Path | Sequence[Path],
    out: Path | None = None,
    suites: Sequence[str] | None = None,
    pricing: budget.Pricing | None = None,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Write leaderboard.md, leaderboard.html (sortable, self-contained) and leaderboard.csv to `out` (default
    `reports/`); the Markdown's path."""
    board = leaderboard(results, suites, pricing)
    for line in board.problems if warn else ():
        warn(line)
    out = Path("reports") if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dirs = [results] if isinstance(results, str | Path) else list(results)
    doc = document(board, ", ".join(str(d) for d in dirs))
    md = out / "leaderboard.md"
    md.write_text(to_markdown(doc, out), encoding="utf-8")
    page = to_html(doc).replace("</body>", f"<script>{SORT_JS}</script></body>")
    (out / "leaderboard.html").write_text(page, encoding="utf-8")
    columns = [c for c in board.table.columns if not c.endswith(".cost_only")]
    board.table[columns].to_csv(out / "leaderboard.csv", index=False, float_format="%.6g")
    return md


def section(results: Path | Sequence[Path], pricing: budget.Pricing | None = None) -> list:
    """The suite report's "Across suites" section: the leaderboard, where the results folder(s) hold two or more
    suites; nothing otherwise."""
    dirs = [Path(results)] if isinstance(results, str | Path) else [Path(d) for d in results]
    if len({s for d in dirs for s in ResultStore(d).suites()}) < 2:
        return []
    board = leaderboard(dirs, None, pricing)
    blocks = document(board, ", ".join(str(d) for d in dirs)).blocks[1:]  # without its own heading
    intro = Paragraph.of(
        "The other suites in this results folder, beside this one (",
        Code("bench leaderboard"),
        " writes the same table as Markdown, sortable HTML and CSV):",
    )
    return [intro, *blocks]  # under the page's "Across suites" heading (`sections.SECTIONS`)
