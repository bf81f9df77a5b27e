"""A tuned runner's seeds in the report (issue 27): each seed selects on its own grid and the report, verdict and
leaderboard pool them whatever each chose (showing each choice); the budget counts the grid's training, scaled for
a --limit run like the run's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.report import build_report
from bench.report.budget import Pricing, add_budget
from bench.report.errors import ReportError
from bench.report.leaderboard import leaderboard
from bench.report.load import load_results
from tests.report_fixtures import make_record, make_test_set, predict, predictions, prf, write_run

SUITE = "tunedseeds"
GRID = {"learning_rate": [0.004, 0.005]}
CHOICES = {0: 0.004, 1: 0.004, 2: 0.005}  # seed 2 chose another point than seeds 0 and 1


def _key(lr: float, grid: dict | None = GRID, max_length: int = 512) -> dict:
    """A configuration key as `bench.results.key.configuration_key` makes it (and `launch.tune.grid_key`)."""
    key = {"version": 1, "data": {"source": "synthetic"}, "limit": None, "runner": {"max_length": max_length}}
    key["protocol"] = {"learning_rate": lr, "epochs": 1}
    return {**key, **({"tune": grid} if grid else {})}


def _write_tuned(results: Path, runner: str = "tuned", max_length: int = 512, grid: dict | None = GRID,
                 **fields) -> None:  # fmt: skip
    labels, n_tokens = make_test_set()
    for seed, lr in CHOICES.items():
        preds = predict(labels, n_tokens, max_length, seed)
        record = make_record(
            SUITE, runner, seed, metrics=prf(labels, preds), max_length=max_length, config_key=_key(lr, grid,
            max_length), tuned={"learning_rate": lr}, tuning_points=2, tuning_note="chosen on validation accuracy",
            tuning_wall_s=50.0, **fields,
        )  # fmt: skip
        write_run(results, record, predictions(labels, preds, n_tokens))


def test_seeds_that_chose_different_points_pool_into_a_report_a_verdict_and_a_leaderboard_row(tmp_path: Path):
    results = tmp_path / "results"
    _write_tuned(results, "base", 512, tuning_train_s=40.0)
    _write_tuned(results, "long", 1024, tuning_train_s=80.0)
    loaded = load_results(results, SUITE)  # 65e8abe: "seed 0 and seed 2 were made with different configurations"
    assert sorted(loaded.runs["seed"]) == [0, 0, 1, 1, 2, 2]

    md = build_report(results, SUITE, out_dir=tmp_path / "report", baseline="base")
    text = md.read_text().replace("\\_", "_")
    # each seed's choice is shown, with the seeds that made it
    assert "chose learning_rate=0.004 (seeds 0, 1) / learning_rate=0.005 (seed 2)" in text
    verdict = (tmp_path / "report" / "verdict.md").read_text()
    assert "tuned on the same grid of 2 points, each seed choosing on validation" in verdict
    assert "long:" in verdict  # the comparison with the baseline is made on the pooled seeds

    board = leaderboard(results).table.set_index("runner")
    assert {"base", "long"} <= set(board.index)
    assert board.loc["base", f"{SUITE}.accuracy"] == pytest.approx(loaded.runs[loaded.runs.runner == "base"]
                                                                   ["accuracy"].mean())  # fmt: skip


def test_seeds_tuned_on_different_grids_are_still_refused(tmp_path: Path):
    results = tmp_path / "results"
    _write_tuned(results, tuning_train_s=40.0)
    labels, n_tokens = make_test_set()
    preds = predict(labels, n_tokens, 512, 3)
    other = make_record(SUITE, "tuned", 3, metrics=prf(labels, preds), config_key=_key(0.004, {"learning_rate": [
        0.004, 0.006]}), tuned={"learning_rate": 0.004}, tuning_points=2)  # fmt: skip
    write_run(results, other, predictions(labels, preds, n_tokens))
    with pytest.raises(ReportError, match=r"runner tuned: seed 0 and seed 3 .*tune\.learning_rate"):
        load_results(results, SUITE)


def test_an_untuned_runner_seeds_of_different_settings_are_still_refused(tmp_path: Path):
    results = tmp_path / "results"
    _write_tuned(results, grid=None)  # the same records without a grid: another learning rate is another config
    with pytest.raises(ReportError, match="seed 0 and seed 2 were made with different configurations"):
        load_results(results, SUITE)


def _budget(results: Path) -> pd.Series:
    runs = load_results(results, SUITE).runs
    summary = pd.DataFrame({"runner": sorted(runs["runner"].unique())})
    return add_budget(summary, runs, Pricing(2.0)).set_index("runner").loc["tuned"]


def test_the_budget_counts_the_grid_scaled_like_training(tmp_path: Path):
    # a --limit run: 1,000 of a 10,000-document split (×10); own training 360 s, the grid's 720 s, per seed
    results = tmp_path / "results"
    _write_tuned(results, train_s=360.0, tuning_train_s=720.0, n_train=900, n_val=100, n_train_split=10_000)
    row = _budget(results)
    assert row["train_gpu_h"] == pytest.approx((360.0 + 720.0) * 10 / 3600)  # 65e8abe: 1.0, the grid left out
    assert row["train_cost"] == pytest.approx(3.0 * 2.0)
    assert row["train_includes_tuning"]
    md = build_report(results, SUITE, out_dir=tmp_path / "report", gpu_price=2.0)
    assert "grid included" in md.read_text()
    verdict = (tmp_path / "report" / "verdict.md").read_text()
    assert "training tuned on the full data ~3 GPU-h (its tuning grid included)" in verdict


def test_a_tuned_run_whose_grid_time_is_unknown_has_no_training_budget(tmp_path: Path):
    results = tmp_path / "results"
    _write_tuned(results, train_s=360.0, tuning_train_s=None, n_train_split=1000)
    assert np.isnan(_budget(results)["train_gpu_h"])  # never its own time alone, as if the grid were free
