"""The cost section: per-runner time, throughput, memory and energy from the records, and the table that shows them.

A cost of 0 or less is read as not measured (a run resumed before its timer started used to record `train_s` 0):
it is shown as missing, left out of means, and never ranked, in the table or on a Pareto front.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bench.report import conditions, fmt, stats
from bench.report.cells import plural, runner_cell, seeds_cell
from bench.report.render import Cell, Paragraph, Strong, Table

# Cost columns of the summary that are ranked, with whether higher is better; n_params is shown, never ranked.
RANKED = {"train_tokens_per_s": True, "train_s_per_epoch": False, "eval_samples_per_s": True, "wall_s": False}
COST_FIELDS = (*RANKED, "n_params")
ENERGY_FIELDS = ("train_energy_j", "eval_energy_j", "avg_gpu_power_w")
MEMORY_LABELS = {"gpu": "training peak GPU memory allocated", "cpu": "peak CPU RSS", "mixed": "peak memory"}


def measured(values: pd.Series) -> pd.Series:
    """`values` as floats, with 0 and below (not a measurement of a time, a rate, memory or energy) as NaN."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    return numbers.where(numbers > 0)


def _is_true(values: pd.Series) -> pd.Series:
    """True where a flag read from JSON is true (False for None, NaN and false)."""
    return values.map(lambda v: isinstance(v, bool | np.bool_ | int | float) and v == 1).astype(bool)


def run_costs(ok: pd.DataFrame) -> pd.DataFrame:
    """Per successful run, the figures the cost table averages, not-measured values as NaN.

    `gpu_memory` is the training peak (`peak_gpu_mem_train_mb`); a record written before training and evaluation
    peaks were split has only the whole-run `peak_gpu_mem_mb`, used instead and flagged in `memory_whole_run`.
    """
    train_s = measured(ok["train_s"])
    out = pd.DataFrame(index=ok.index)
    out["train_s_per_epoch"] = train_s / measured(ok["n_epochs"])
    for name in ("train_tokens_per_s", "eval_samples_per_s", "wall_s", "n_params", "train_energy_j", "eval_energy_j"):
        out[name] = measured(ok[name])
    out["avg_gpu_power_w"] = measured(ok["avg_gpu_power_w"]).fillna(out["train_energy_j"] / train_s)
    train_peak, whole_run_peak = measured(ok["peak_gpu_mem_train_mb"]), measured(ok["peak_gpu_mem_mb"])
    out["gpu_memory"] = train_peak.fillna(whole_run_peak)
    out["memory_whole_run"] = train_peak.isna() & whole_run_peak.notna()
    return out


def runner_costs(ok: pd.DataFrame) -> dict[str, Any]:
    """One runner's cost columns of the summary, from its successful runs: means, stds and how many runs measured
    each (`<name>_n`), memory and its kind, micro-batch sizes and OOM retries, resumed and shared-GPU run counts."""
    runs = run_costs(ok)
    gpu = bool(runs["gpu_memory"].notna().any())
    memory = stats.seed_stats(runs["gpu_memory"] if gpu else measured(ok["peak_cpu_rss_mb"]))
    micro = sorted(int(m) for m in measured(ok["micro_batch_size"]).dropna().unique())
    segments = pd.to_numeric(ok["segments"], errors="coerce")
    row: dict[str, Any] = {
        "memory_mb": memory.mean,
        "memory_mb_std": memory.std,
        "memory_mb_n": memory.n,
        "memory_kind": "gpu" if gpu else "cpu",
        "memory_whole_run": int(runs["memory_whole_run"].sum()) if gpu else 0,
        "eval_memory_mb": stats.seed_stats(measured(ok["peak_gpu_mem_eval_mb"])).mean,
        "micro_batch": " / ".join(map(str, micro)),
        "oom_retries": int(pd.to_numeric(ok["oom_retries"], errors="coerce").fillna(0).sum()),
        "resumed_runs": int(((segments > 1) | ok["resumed_from_epoch"].notna()).sum()),
        "gpu_shared_runs": int(_is_true(ok["gpu_shared"]).sum()),
        "checkpointed_runs": int(_is_true(ok["gradient_checkpointing"]).sum()),
        "host_bound_runs": int((ok["bound"] == "host").sum()),
        "kernels": " / ".join(sorted({str(k) for k in ok["attn_implementation"].dropna()})),
    }
    for name in (*COST_FIELDS, *ENERGY_FIELDS):
        s = stats.seed_stats(runs[name])
        row |= {name: s.mean, f"{name}_std": s.std, f"{name}_n": s.n}
    return row | tuning_costs(ok) | conditions.runner_conditions(ok)


def tuning_costs(ok: pd.DataFrame) -> dict[str, Any]:
    """A runner's tuning on its suite's grid (`tune:`): the grid's wall and training time per seed (means), the
    points per seed, the settings chosen (each distinct choice once, with the seeds that chose it: each seed selects
    on its own grid, docs/tuning.md), and the runs not tuned."""
    column = lambda name: ok[name] if name in ok else pd.Series(None, index=ok.index, dtype=object)  # noqa: E731
    chosen: dict[str, list[int]] = {}
    for name, seed in zip(column("tuned_values"), column("seed"), strict=True):
        if isinstance(name, str):
            chosen.setdefault(name, []).append(int(seed))
    notes = column("tuning_note").dropna().astype(str)
    seeds = lambda s: f"{'seed' if len(s) == 1 else 'seeds'} {', '.join(map(str, sorted(s)))}"  # noqa: E731
    return {
        "tuning_wall_s": stats.seed_stats(measured(column("tuning_wall_s"))).mean,
        "tuning_train_s": stats.seed_stats(measured(column("tuning_train_s"))).mean,
        "tuning_points": measured(column("tuning_points")).max(),
        "tuned": " / ".join(f"{k} ({seeds(s)})" for k, s in chosen.items()),
        "untuned_runs": int(notes.str.startswith("not tuned").sum()),
    }


def has_tuning(summary: pd.DataFrame) -> bool:
    """Whether any runner of the report was tuned on a grid (or left out of one)."""
    points = summary["tuning_points"] if "tuning_points" in summary else pd.Series(dtype=float)
    untuned = summary["untuned_runs"] if "untuned_runs" in summary else pd.Series(dtype=float)
    return bool(points.notna().any() or (untuned > 0).any())


def _tuning_cell(row: pd.Series) -> Cell:
    if row.get("untuned_runs") and pd.isna(row.get("tuning_points")):
        return Cell("not tuned", "the grid does not apply to it")
    sub = f"{int(row['tuning_points'])} points; chose {row['tuned']}" if pd.notna(row.get("tuning_points")) else ""
    return Cell(fmt.duration(row.get("tuning_wall_s")), sub, numeric=True)


def memory_column_kind(summary: pd.DataFrame) -> str:
    """'gpu' or 'cpu' when every runner with a measurement has that kind, else 'mixed' (each cell says which)."""
    kinds = set(summary.loc[summary["memory_mb"].notna(), "memory_kind"])
    return kinds.pop() if len(kinds) == 1 else ("gpu" if not kinds else "mixed")


def _only_whole_run(summary: pd.DataFrame) -> bool:
    """True when every GPU memory figure is a whole-run peak: all records predate the training peak."""
    gpu = summary[(summary["memory_kind"] == "gpu") & (summary["memory_mb_n"] > 0)]
    return not gpu.empty and bool((gpu["memory_whole_run"] == gpu["memory_mb_n"]).all())


def memory_label(summary: pd.DataFrame) -> str:
    """What the memory column holds, for its header and the memory plot."""
    kind = memory_column_kind(summary)
    return "peak GPU memory allocated" if kind == "gpu" and _only_whole_run(summary) else MEMORY_LABELS[kind]


def has_energy(summary: pd.DataFrame) -> bool:
    return bool(summary["train_energy_j"].notna().any())


def _coverage(row: pd.Series, name: str) -> list[str]:
    """['2 of 3 runs'] where some successful runs did not measure `name`, ['not measured'] where none did."""
    n, ok = int(row[f"{name}_n"]), int(row["seeds_ok"])
    if ok == 0 or n == ok:
        return []
    return ["not measured"] if n == 0 else [f"{n} of {ok} runs"]


def _sub(parts: list[str]) -> str:
    return f"({'; '.join(parts)})" if parts else ""


def _memory_cell(row: pd.Series, kind: str, only_whole_run: bool, best: bool) -> Cell:
    parts = ["CPU RSS"] if kind == "mixed" and row["memory_kind"] == "cpu" else []
    whole_run = int(row["memory_whole_run"])
    if whole_run and not only_whole_run:  # where all are whole-run peaks, the header says so
        parts.append("whole run" if whole_run == row["seeds_ok"] else f"{whole_run} of {row['seeds_ok']} whole run")
    if row["micro_batch"]:
        retries = int(row["oom_retries"])
        over = f" in {row['seeds_ok']} runs" if row["seeds_ok"] > 1 else ""
        parts.append(f"micro-batch {row['micro_batch']}")
        if retries:
            parts[-1] += f" after {plural(retries, 'OOM retry', 'OOM retries')}{over}"
    checkpointed = int(row["checkpointed_runs"])
    if checkpointed:
        every = checkpointed == row["seeds_ok"]
        parts.append("activation checkpointing" + ("" if every else f" in {plural(checkpointed, 'run')}"))
    if pd.notna(row["eval_memory_mb"]):
        parts.append(f"test pass {fmt.megabytes(row['eval_memory_mb'])} MB")
    return Cell(fmt.megabytes(row["memory_mb"]), _sub(parts), best=best, bad=row["seeds_ok"] == 0, numeric=True)


def _energy_cells(row: pd.Series, best: bool) -> list[Cell]:
    parts = _coverage(row, "train_energy_j")
    if pd.notna(row["eval_energy_j"]):
        parts.append(f"test pass {fmt.watt_hours(row['eval_energy_j'])} Wh")
    shared = int(row["gpu_shared_runs"])
    if shared:
        parts.append(f"GPU shared in {plural(shared, 'run')}: whole board's energy")
    text = fmt.watt_hours(row["train_energy_j"])
    return [
        Cell(text, _sub(parts), best=best, bad=bool(shared), numeric=True),
        Cell(fmt.watts(row["avg_gpu_power_w"]), _sub(_coverage(row, "avg_gpu_power_w")), numeric=True),
    ]


def _host_bound(row: pd.Series) -> list[str]:
    n = int(row["host_bound_runs"])
    return [f"host-bound in {plural(n, 'run')}: launch overhead, not the architecture"] if n else []


def cost_table(summary: pd.DataFrame, baseline: str | None) -> Table:
    """Memory, throughput, time and (where measured) energy per runner; best marks only among measured values."""
    s = summary
    kind = memory_column_kind(s)
    energy = has_energy(s)
    tuning = has_tuning(s)
    memory = s["memory_mb"].where(s["memory_kind"] == kind) if kind != "mixed" else s["memory_mb"] * float("nan")
    marks = {name: fmt.best_mask(list(s[name]), higher=higher) for name, higher in RANKED.items()}
    marks["memory"] = fmt.best_mask(list(memory), higher=False)
    # A shared GPU's counter includes the other processes' energy: such a runner is shown, never ranked.
    marks["energy"] = fmt.best_mask(list(s["train_energy_j"].where(s["gpu_shared_runs"] == 0)), higher=False)
    rows = []
    base_rows = s[s["runner"] == baseline]
    base = base_rows.iloc[0] if not base_rows.empty else (s.iloc[0] if len(s) else None)
    flagged = False
    for i, row in s.iterrows():
        time_notes = _coverage(row, "train_s_per_epoch")
        if row["resumed_runs"]:
            time_notes.append(f"{row['resumed_runs']} resumed")
        measured_under = conditions.differences(row, base)  # threads, device, machine, busy host
        time_notes += measured_under
        flagged = flagged or bool(measured_under)
        cells = [
            runner_cell(row["runner"], baseline, bool(row.get("cost_only", False))),
            seeds_cell(row),
            _memory_cell(row, kind, _only_whole_run(s), marks["memory"][i]),
            Cell(
                fmt.rate(row["train_tokens_per_s"]),
                _sub(_coverage(row, "train_tokens_per_s") + _host_bound(row)),
                best=marks["train_tokens_per_s"][i],
                bad=bool(row["host_bound_runs"]),
                numeric=True,
            ),
            Cell(
                fmt.duration(row["train_s_per_epoch"]),
                _sub(time_notes),
                best=marks["train_s_per_epoch"][i],
                bad=bool(measured_under),
                numeric=True,
            ),
            Cell(
                fmt.rate(row["eval_samples_per_s"]),
                _sub(_coverage(row, "eval_samples_per_s")),
                best=marks["eval_samples_per_s"][i],
                numeric=True,
            ),
            Cell(fmt.duration(row["wall_s"]), best=marks["wall_s"][i], numeric=True),
        ]
        cells += _energy_cells(row, marks["energy"][i]) if energy else []
        cells += [_tuning_cell(row)] if tuning else []
        kernels = f"({row['kernels']} attention)" if row["kernels"] else ""
        cells += [
            Cell(fmt.count(row["n_params"]), numeric=True),
            Cell(row["gpu_name"] or row["device"] or fmt.MISSING, kernels),
        ]
        rows.append(cells)
    columns = ["runner", "seeds", f"{memory_label(s)} (MB)", "train tokens/s", "train time / epoch", "eval samples/s"]
    columns += ["wall time", *(["train energy (Wh)", "avg GPU power (W)"] if energy else [])]
    columns += [*(["tuning wall time"] if tuning else []), "parameters", "device"]
    notes = _notes(kind, energy, s)
    if tuning:
        notes.append(TUNING_NOTE)
    if flagged:
        notes.append(Paragraph.of(conditions.NOTE))
    return Table(columns, rows, notes)


TUNING_NOTE = Paragraph.of(
    "Tuning: the runners were tuned on the suite's grid (tune:), each grid point a run of its own evaluated on "
    "validation only; the point best on validation was then trained again and tested once, and that run is the one "
    "every other column shows. Tuning wall time: the grid's runs, summed per seed (mean over seeds), on top of the "
    "wall time column; below it the points per seed and the settings chosen, with the seeds that chose them (each "
    "seed selects on its own grid: the selection is part of the runner's method, and the spread over seeds includes "
    "it). The budget's training device-hours include the grid's training time, scaled like the run's own. Not "
    "tuned: a runner the grid's settings do not apply to (scikit-learn), trained once."
)


def _notes(kind: str, energy: bool, summary: pd.DataFrame) -> list[Paragraph]:
    memory = f"Memory: {memory_label(summary)} in MB"
    if kind == "gpu" and _only_whole_run(summary):
        memory += " (torch max_memory_allocated over the whole run: training, validation and the test pass; these "
        memory += "records predate the training peak)"
    elif kind == "gpu":
        memory += " (torch max_memory_allocated while training; validation and test passes excluded)"
    memory += ". "
    if kind == "cpu":
        memory += "These runs had no GPU, so the peak resident set size of the run's process is shown instead. "
    if kind == "mixed":
        memory += "Runners without a GPU measurement show CPU RSS, marked so, and no best is marked. "
    if summary["memory_whole_run"].any() and not _only_whole_run(summary):
        memory += "Records written before the training peak was recorded apart show the whole run's peak "
        memory += "(training and the test pass), marked whole run. "
    memory += "Below it: the micro-batch the runs trained with (chosen by the probe where the suite says auto), "
    memory += "the out-of-memory retries (each halves the micro-batch) it took to get there, activation checkpointing "
    memory += "where it was on (it trades time for memory), and the test pass's peak where recorded. "
    notes = [
        Paragraph.of(
            "Means over successful seeds. ",
            memory,
            "Train tokens/s counts non-padding tokens after warm-up; train time / epoch is the training time "
            "(warm-up and evaluation excluded, summed over the processes of a resumed run) over the epochs; wall time "
            "covers the whole run. A time or rate that is missing or 0 was not measured: it shows as —, is left out "
            "of the means (below the value: how many runs measured it) and is never ranked. Host-bound (flagged): the "
            "GPU computed for under 80% of the training time (CUDA events around each step), so the figure measures "
            "launches, Python and data loading more than the model; compare such runners at a larger batch. ",
            Strong("Bold"),
            ": best in the column (parameters are not ranked).",
        )
    ]
    if energy:
        notes.append(
            Paragraph.of(
                "Energy: the GPU's NVML energy counter over training, in watt-hours (1 Wh = 3.6 kJ), mean over the "
                "runs that measured it; below it the test pass's energy. Average power = training energy / training "
                "time. The counter is the whole board's: where other processes shared the GPU (GPU shared) it counts "
                "their energy too, so such runners are flagged and not ranked. — where NVML has no energy counter."
            )
        )
    return notes
