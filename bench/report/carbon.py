"""Energy and carbon in the cost table and the budget: the training kWh and kg CO2eq each run recorded (codecarbon,
the `energy` extra), and the same scaled to the full data and to 1 M documents.

Full data = the recorded training kWh and CO2 × the factor the budget scales training time by (the suite's train
split over the documents a --limit run drew from). 1 M documents = training's average power (kWh / training
hours) × the budget's inference hours per 1 M documents, at the run's grid intensity: codecarbon measures training
only, so this assumes inference draws the power training did (said where it is shown). Runs without codecarbon have
no energy: their cells are missing, never 0, and without any energy anywhere the columns are not shown.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bench.report import budget, stats
from bench.report.cost import measured
from bench.report.fmt import MISSING
from bench.report.render import Cell, Paragraph, Table

COLUMNS = ("energy_kwh", "co2eq_kg", "energy_kwh_full", "co2eq_kg_full", "energy_kwh_per_1M", "co2eq_kg_per_1M")
TEXT = ("energy_method", "carbon_intensities")


def run_energy(ok: pd.DataFrame) -> pd.DataFrame:
    """Per successful run: its training kWh and CO2, and both for the full data and for 1 M documents (NaN where
    the run recorded no energy)."""
    hours = budget.run_hours(ok)
    kwh, co2 = measured(ok["energy_kwh"]), measured(ok["co2eq_kg"])
    out = pd.DataFrame(index=ok.index)
    out["energy_kwh"], out["co2eq_kg"] = kwh, co2
    scale = hours["scale"].fillna(1)
    out["energy_kwh_full"], out["co2eq_kg_full"] = kwh * scale, co2 * scale
    # training hours of this run as measured (the budget's are scaled and times the devices)
    train_h = measured(ok["train_s"]) / 3600
    devices = pd.to_numeric(ok["world_size"], errors="coerce").fillna(1).clip(lower=1)
    infer_h = hours["infer_h_per_1M"] / devices
    out["energy_kwh_per_1M"] = kwh / train_h * infer_h
    out["co2eq_kg_per_1M"] = out["energy_kwh_per_1M"] * measured(ok["carbon_intensity"]) / 1000
    return out


def runner_energy(ok: pd.DataFrame) -> dict[str, Any]:
    """One runner's energy columns: means over its runs that recorded energy, the method(s), the intensities."""
    runs = run_energy(ok)
    row: dict[str, Any] = {name: stats.seed_stats(runs[name]).mean for name in COLUMNS}
    row["energy_n"] = int(runs["energy_kwh"].notna().sum())
    methods = sorted({str(m) for m in ok["energy_method"].dropna()})
    row["energy_method"] = " / ".join(methods)
    intensities = sorted({round(float(v)) for v in measured(ok["carbon_intensity"]).dropna()})
    row["carbon_intensities"] = " / ".join(f"{v:g}" for v in intensities)
    return row


def add_energy(summary: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """`summary` with each runner's energy columns, from its successful runs in `runs`."""
    ok = runs[runs["status"] == "ok"]
    rows = [runner_energy(ok[ok["runner"] == runner]) for runner in summary["runner"]]
    names = [*COLUMNS, "energy_n", *TEXT]
    energy = pd.DataFrame(rows, index=summary.index, columns=names)
    return pd.concat([summary.drop(columns=[c for c in names if c in summary]), energy], axis=1)


def has_energy(summary: pd.DataFrame) -> bool:
    return "energy_kwh" in summary and bool(summary["energy_kwh"].notna().any())


def kwh(x: float) -> str:
    """'0.0042 kWh', '3.7 kWh', '1,250 kWh'."""
    if x is None or pd.isna(x):
        return MISSING
    return f"{x:,.0f} kWh" if x >= 1000 else f"{x:.2g} kWh"


def kg(x: float) -> str:
    if x is None or pd.isna(x):
        return MISSING
    return f"{x:,.0f} kg" if x >= 1000 else f"{x:.2g} kg"


def cells(row: pd.Series) -> list[Cell]:
    """Training, full-data and 1 M-document energy, each with its CO2eq below it."""
    how = [row["energy_method"], f"{row['carbon_intensities']} g/kWh" if row["carbon_intensities"] else ""]
    trained = f"{kg(row['co2eq_kg'])} CO2eq" + (f" ({' · '.join(p for p in how if p)})" if any(how) else "")
    return [
        Cell(kwh(row["energy_kwh"]), trained, numeric=True),
        Cell(kwh(row["energy_kwh_full"]), f"{kg(row['co2eq_kg_full'])} CO2eq", numeric=True),
        Cell(kwh(row["energy_kwh_per_1M"]), f"{kg(row['co2eq_kg_per_1M'])} CO2eq", numeric=True),
    ]


def notes() -> list[Paragraph]:
    return [
        Paragraph.of(
            "Energy (codecarbon, `pip install -e '.[energy]'`): the electricity of CPU, GPU and RAM over the training "
            "steps the training time counts (warm-up and evaluation excluded), and its CO2-equivalent at the grid "
            "intensity shown (g CO2eq/kWh: the suite's `energy:` country or intensity, else the world average). "
            "measured: every part read from a meter (RAPL, NVML); estimated: some part from the CPU's TDP and load "
            "or the RAM's size — the record's energy_sources says which. Full data: scaled as the budget's training "
            "hours are. 1 M docs: training's average power over the budget's inference hours, an estimate "
            "(codecarbon measures training only). — where a run recorded no energy (codecarbon not installed, or a "
            "run of several processes)."
        )
    ]


def extend(table: Table, summary: pd.DataFrame) -> Table:
    """The cost table (one row per summary row, in order) with the energy columns and their note, where any runner
    recorded energy; else unchanged."""
    if not has_energy(summary):
        return table
    rows = [[*row, *cells(s)] for row, (_, s) in zip(table.rows, summary.iterrows(), strict=True)]
    columns = ["train energy (kWh, CO2eq)", "train, full data (kWh, CO2eq)", "1 M docs (kWh, CO2eq, est.)"]
    return Table([*table.columns, *columns], rows, [*table.notes, *notes()])


def sentence(candidates: pd.DataFrame) -> str | None:
    """The verdict's energy line: per runner, full-data training and 1 M documents in kWh and kg CO2eq."""
    if not has_energy(candidates):
        return None
    parts = [
        f"{row['runner']} ~{kwh(row['energy_kwh_full'])} ({kg(row['co2eq_kg_full'])} CO2eq) to train on the full "
        f"data, ~{kwh(row['energy_kwh_per_1M'])} per 1 M documents"
        for _, row in candidates.iterrows()
        if pd.notna(row["energy_kwh_full"])
    ]
    return "Energy: " + "; ".join(parts) + " (codecarbon; 1 M documents at training's power)." if parts else None
