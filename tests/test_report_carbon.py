"""Energy and carbon in the report (bench/report/carbon.py): the recorded training kWh and CO2, scaled to the full
data and to 1 M documents, in the cost table and the verdict; missing (never 0) for runs that recorded none."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.report import build_report
from bench.report.carbon import add_energy
from bench.report.load import load_results
from tests.report_fixtures import make_record, make_test_set, predictions, prf, write_run

SUITE = "carbon"


def _write(results: Path, runner: str, **fields) -> None:
    labels, n_tokens = make_test_set(100)
    preds = np.where(np.arange(100) < 80, labels, 1 - labels)
    record = make_record(SUITE, runner, 0, metrics=prf(labels, preds), device="cpu", gpu_mem_mb=None, **fields)
    write_run(results, record, predictions(labels, preds, n_tokens))


def _energy(results: Path) -> pd.DataFrame:
    runs = load_results(results, SUITE).runs
    summary = pd.DataFrame({"runner": sorted(runs["runner"].unique())})
    return add_energy(summary, runs).set_index("runner")


MEASURED = {"energy_kwh": 0.5, "co2eq_kg": 0.25, "carbon_intensity": 500.0, "energy_method": "estimated"}


def test_full_data_and_1m_documents_from_the_recorded_energy(tmp_path: Path) -> None:
    # 1 h of training at 0.5 kWh on a tenth of the train split; the test pass at 1e6 / 2 h documents per second
    _write(
        tmp_path,
        "a",
        train_s=3600.0,
        n_train=90,
        n_val=10,
        n_train_split=1000,
        eval_samples_per_s=1e6 / (2 * 3600),
        **MEASURED,
    )
    row = _energy(tmp_path).loc["a"]
    assert row["energy_kwh"] == pytest.approx(0.5) and row["co2eq_kg"] == pytest.approx(0.25)
    assert row["energy_kwh_full"] == pytest.approx(5.0) and row["co2eq_kg_full"] == pytest.approx(2.5)
    # 0.5 kW of training power over the 2 h 1 M documents take, at 500 g/kWh
    assert row["energy_kwh_per_1M"] == pytest.approx(1.0) and row["co2eq_kg_per_1M"] == pytest.approx(0.5)
    assert row["energy_method"] == "estimated" and row["carbon_intensities"] == "500"


def test_a_run_without_energy_is_missing_not_zero(tmp_path: Path) -> None:
    _write(
        tmp_path, "a", train_s=3600.0, n_train=90, n_val=10, n_train_split=1000, eval_samples_per_s=100.0, **MEASURED
    )
    _write(tmp_path, "b", train_s=3600.0, n_train=90, n_val=10, n_train_split=1000, eval_samples_per_s=100.0)
    energy = _energy(tmp_path)
    assert all(math.isnan(energy.loc["b", c]) for c in ("energy_kwh", "co2eq_kg", "energy_kwh_full"))
    assert energy.loc["b", "energy_n"] == 0


def test_the_cost_table_and_verdict_show_energy_only_where_recorded(tmp_path: Path) -> None:
    _write(
        tmp_path / "without", "a", train_s=3600.0, n_train=90, n_val=10, n_train_split=1000, eval_samples_per_s=100.0
    )
    text = build_report(tmp_path / "without", SUITE, tmp_path / "out-without").read_text()
    assert "kWh" not in text
    _write(
        tmp_path / "with",
        "a",
        train_s=3600.0,
        n_train=90,
        n_val=10,
        n_train_split=1000,
        eval_samples_per_s=1e6 / (2 * 3600),
        **MEASURED,
    )
    report = build_report(tmp_path / "with", SUITE, tmp_path / "out-with")
    text = report.read_text()
    assert "train, full data (kWh, CO2eq)" in text and "5 kWh" in text and "2.5 kg CO2eq" in text
    assert "codecarbon" in text
    assert "Energy: a ~5 kWh (2.5 kg CO2eq) to train on the full data" in report.with_name("verdict.md").read_text()
