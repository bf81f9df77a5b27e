"""The report's budget (bench/report/budget.py): device-hours for the full data and 1 M documents from measured rates,
scaled for a --limit run, money at a given or shipped dated price, never 0 for a price not known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.report import build_report
from bench.report.budget import Pricing, add_budget, price_for, price_table
from bench.report.errors import ReportError
from bench.report.load import load_results
from tests.report_fixtures import make_record, make_test_set, predictions, prf, write_run

SUITE = "budget"


def _write(results: Path, runner: str, **fields) -> None:
    labels, n_tokens = make_test_set(100)
    preds = np.where(np.arange(100) < 80, labels, 1 - labels)
    record = make_record(SUITE, runner, 0, metrics=prf(labels, preds), **fields)
    write_run(results, record, predictions(labels, preds, n_tokens))


def _budget(results: Path, pricing: Pricing | None = None) -> pd.DataFrame:
    runs = load_results(results, SUITE).runs
    summary = pd.DataFrame({"runner": sorted(runs["runner"].unique())})
    return add_budget(summary, runs, pricing).set_index("runner")


def test_gpu_hours_and_money_from_measured_rates(tmp_path: Path) -> None:
    # 2 h of training on 2 GPUs, the whole train split used; the test pass at 1e6 / 5 h documents per second
    _write(tmp_path, "a", train_s=7200.0, world_size=2, n_train=900, n_val=100, n_train_split=1000,
           eval_samples_per_s=1e6 / (5 * 3600))  # fmt: skip
    row = _budget(tmp_path, Pricing(2.5)).loc["a"]
    assert row["device_kind"] == "GPU"
    assert row["train_gpu_h"] == pytest.approx(4.0)
    assert row["infer_gpu_h_per_1M"] == pytest.approx(10.0)  # 5 h on each of the 2 devices
    assert row["train_cost"] == pytest.approx(10.0) and row["infer_cost_per_1M"] == pytest.approx(25.0)
    assert row["currency"] == "USD" and "--gpu-price 2.5" in row["price_source"]
    assert row["train_scale"] == pytest.approx(1.0) and math.isnan(row["train_cpu_h"])


def test_limit_run_is_scaled_to_the_full_train_split(tmp_path: Path) -> None:
    # 1,000 of a 10,000-document train split: the measured 0.1 h becomes 1 h
    _write(tmp_path, "a", train_s=360.0, n_train=900, n_val=100, n_train_split=10_000)
    row = _budget(tmp_path, Pricing(3.0, "EUR")).loc["a"]
    assert row["train_scale"] == pytest.approx(10.0)
    assert row["train_gpu_h"] == pytest.approx(1.0)
    assert row["train_cost"] == pytest.approx(3.0) and row["currency"] == "EUR"


def test_shipped_price_table_prices_a_listed_gpu_with_its_date(tmp_path: Path) -> None:
    _write(tmp_path, "a", train_s=3600.0, n_train_split=1000)  # the fixture's GPU: NVIDIA H100 80GB HBM3
    row = _budget(tmp_path).loc["a"]
    entry = next(e for e in price_table()["gpus"] if e["name"].startswith("H100"))
    assert row["price_per_gpu_h"] == entry["per_gpu_hour"]
    assert row["train_cost"] == pytest.approx(entry["per_gpu_hour"])
    assert entry["as_of"] in row["price_source"] and "check your provider" in row["price_source"]
    # a variant priced differently is not matched by a loose name
    assert price_for("NVIDIA H100 PCIe", Pricing()) is None


def test_unknown_gpu_and_cpu_runs_get_no_money_and_say_why(tmp_path: Path) -> None:
    _write(tmp_path, "gpu", gpu_name="NVIDIA A40", n_train_split=1000)
    _write(tmp_path, "cpu", device="cpu", train_s=1800.0, n_train_split=1000)
    table = _budget(tmp_path)
    gpu, cpu = table.loc["gpu"], table.loc["cpu"]
    assert math.isnan(gpu["train_cost"]) and "no list price for NVIDIA A40" in gpu["budget_note"]
    assert gpu["train_gpu_h"] > 0  # the hours are still there
    assert cpu["device_kind"] == "CPU" and cpu["train_cpu_h"] == pytest.approx(0.5)
    assert math.isnan(cpu["train_gpu_h"]) and math.isnan(cpu["train_cost"])
    assert "CPU-hours" in cpu["budget_note"]
    priced = _budget(tmp_path, Pricing(2.5))
    assert math.isnan(priced.loc["cpu", "train_cost"])  # a GPU price never prices a CPU run


def test_record_without_the_split_size_is_not_scaled_and_says_so(tmp_path: Path) -> None:
    _write(tmp_path, "a", train_s=3600.0)  # an older record: no n_train_split
    row = _budget(tmp_path).loc["a"]
    assert not row["train_full_size_known"] and row["train_gpu_h"] == pytest.approx(1.0)


@pytest.mark.parametrize("price", [-1.0, 0.0, float("nan")])
def test_a_price_that_is_not_positive_is_refused(price: float) -> None:
    with pytest.raises(ReportError, match="--gpu-price must be a positive"):
        Pricing(price)


def test_currency_without_a_price_is_refused() -> None:
    with pytest.raises(ReportError, match="give --gpu-price too"):
        Pricing(None, "EUR")


def test_cli_negative_price_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path, "a")
    out = tmp_path / "out"
    code = main(["report", "--suite", SUITE, "--results", str(tmp_path), "--out", str(out), "--gpu-price", "-2"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--gpu-price must be a positive" in err
    assert not out.exists()


def test_report_shows_budget_in_verdict_cost_table_and_plot(tmp_path: Path) -> None:
    _write(tmp_path, "roberta-512", train_s=360.0, n_train=900, n_val=100, n_train_split=10_000)
    _write(tmp_path, "longformer-4096", max_length=4096, family="longformer", train_s=1440.0, n_train=900, n_val=100,
           n_train_split=10_000)  # fmt: skip
    md = build_report(tmp_path, SUITE, tmp_path / "out", gpu_price=2.5)
    verdict = (tmp_path / "out" / "verdict.md").read_text(encoding="utf-8")
    assert "Budget: training roberta-512 on the full data ~1 GPU-h (~2.50 USD at 2.5 USD/GPU-h)" in verdict
    assert "training longformer-4096 on the full data ~4 GPU-h (~10.00 USD" in verdict
    text = md.read_text(encoding="utf-8")
    assert "train, full data (USD)" in text and "scaled ×10 from 900 docs" in text
    assert "Price: --gpu-price 2.5 per GPU-hour" in text
    summary = pd.read_csv(tmp_path / "out" / "tables" / "summary.csv")
    assert {"train_gpu_h", "infer_gpu_h_per_1M", "train_cost", "price_source"} <= set(summary.columns)
    assert (tmp_path / "out" / "plots" / "accuracy_vs_cost.svg").read_text(encoding="utf-8").count("USD") >= 1


def test_cpu_only_report_has_cpu_hours_and_no_money_columns(tmp_path: Path) -> None:
    _write(tmp_path, "tfidf", device="cpu", train_s=36.0, n_train=900, n_val=100, n_train_split=2000)
    md = build_report(tmp_path, SUITE, tmp_path / "out", gpu_price=2.5)
    text = md.read_text(encoding="utf-8")
    assert "0.02 CPU-h (scaled ×2 from 900 docs)" in text
    assert "train, full data (USD)" not in text and "train, full data (money)" not in text
    verdict = (tmp_path / "out" / "verdict.md").read_text(encoding="utf-8")
    assert "training tfidf on the full data ~0.02 CPU-h, 1 M documents ~" in verdict and "USD" not in verdict


def test_bench_run_refuses_a_bad_price_before_anything_trains(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code = main(["run", "--suite", "demo", "--results", str(tmp_path / "results"), "--gpu-price", "-1"])
    assert code == 2 and "--gpu-price must be a positive" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_verdict_says_which_gpu_had_no_price(tmp_path: Path) -> None:
    _write(tmp_path, "roberta-512", train_s=3600.0, n_train_split=1000)
    _write(tmp_path, "longformer-4096", max_length=4096, family="longformer", gpu_name="NVIDIA A40", n_train_split=1000)
    build_report(tmp_path, SUITE, tmp_path / "out")
    verdict = (tmp_path / "out" / "verdict.md").read_text(encoding="utf-8")
    assert "training longformer-4096 on the full data ~" in verdict
    assert "GPU-h (no price for its GPU: give --gpu-price)" in verdict
    assert "list price as of 2026-11-09" in verdict  # the roberta-512 run's H100 price, named with its date


def test_the_verdict_never_calls_an_unscaled_figure_the_full_datas() -> None:
    """A record without the train split's size (written before bench recorded it) is not scaled, and the verdict's
    budget line says so instead of "on the full data" (imdb-minilm's minilm-128 read 0.07 CPU-h "on the full data"
    beside minilm-512's scaled 1.28)."""
    from bench.report.budget import sentence

    base = {"device_kind": "CPU", "train_cpu_h": 0.07, "infer_cpu_h_per_1M": 4.2, "train_cost": np.nan,
            "infer_cost_per_1M": np.nan, "train_full_size_known": True}  # fmt: skip
    rows = pd.DataFrame([{**base, "runner": "scaled"}, {**base, "runner": "old", "train_full_size_known": False}])
    line = sentence(rows)
    assert "training scaled on the full data ~" in line
    assert (
        "training old as measured, not scaled to the full data" in line and "training old on the full data" not in line
    )
