"""`bench leaderboard` (bench/report/leaderboard.py): runner × suite with each suite's own main metric and its CI,
mean ranks over the suites a runner ran, cost-only runs never ranked, the median cost; Markdown, sortable HTML, CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.api import leaderboard as api_leaderboard
from bench.cli import main
from bench.report import build_report
from bench.report.budget import price_table
from bench.report.errors import ReportError
from bench.report.leaderboard import leaderboard
from tests.report_fixtures import make_record, predictions, prf, write_run

LABELS = np.array([0, 1] * 50)
N_TOKENS = np.full(100, 300)


def _flip(k: int) -> np.ndarray:
    """Predictions wrong on the first k documents (half of each class)."""
    return np.where(np.arange(100) < k, 1 - LABELS, LABELS)


def _run(results: Path, suite: str, runner: str, preds: np.ndarray, train_s: float, **fields) -> None:
    metric = {"alpha": "accuracy", "beta": "f1"}[suite]
    config = {"suite": {"name": suite, "protocol": {"metric_for_best_model": metric}}, "runner": {"name": runner}}
    record = make_record(suite, runner, 0, metrics=prf(LABELS, preds), train_s=train_s, n_train_split=1000,
                         config=config, **fields)  # fmt: skip
    write_run(results, record, predictions(LABELS, preds, N_TOKENS))


@pytest.fixture
def two_suites(tmp_path: Path) -> Path:
    """alpha ranks by accuracy: a 0.9, b 0.8, c cost only. beta ranks by F1, where the order differs from
    accuracy's: a predicts all positive (accuracy 0.5, F1 0.667), b accuracy 0.6 (F1 0.6), d accuracy 0.55."""
    _run(tmp_path, "alpha", "a", _flip(10), 3600.0)
    _run(tmp_path, "alpha", "b", _flip(20), 3600.0)
    _run(tmp_path, "alpha", "c", _flip(50), 3600.0, init="random")
    _run(tmp_path, "beta", "a", np.ones(100, dtype=int), 7200.0)
    _run(tmp_path, "beta", "b", _flip(40), 7200.0)
    _run(tmp_path, "beta", "d", _flip(45), 7200.0)
    return tmp_path


def test_cells_are_each_suites_main_metric_with_ci(two_suites: Path) -> None:
    table = leaderboard(two_suites).table.set_index("runner")
    assert table.loc["a", "alpha.accuracy"] == pytest.approx(0.9)
    assert table.loc["a", "beta.f1"] == pytest.approx(2 / 3)  # F1, as beta's protocol selects by
    assert table.loc["b", "beta.f1"] == pytest.approx(0.6)
    low, high = table.loc["a", "alpha.accuracy_ci_low"], table.loc["a", "alpha.accuracy_ci_high"]
    assert low < 0.9 < high and high - low < 0.2  # a bootstrap CI over 100 documents
    assert "beta.accuracy" not in table.columns


def test_ranks_leave_out_cost_only_and_missing_cells(two_suites: Path) -> None:
    table = leaderboard(two_suites).table
    assert list(table["runner"][:3]) == ["a", "b", "d"]  # sorted by mean rank
    t = table.set_index("runner")
    assert t.loc["a", "beta.rank"] == 1 and t.loc["b", "beta.rank"] == 2 and t.loc["d", "beta.rank"] == 3
    assert t.loc["a", "mean_rank"] == 1.0 and t.loc["b", "mean_rank"] == 2.0
    assert t.loc["d", "mean_rank"] == 3.0 and t.loc["d", "suites_ranked"] == 1  # only beta: not penalised
    assert pd.isna(t.loc["c", "alpha.rank"]) and pd.isna(t.loc["c", "mean_rank"])  # random weights: never ranked
    assert pd.isna(t.loc["c", "alpha.accuracy"])


def test_cost_column_is_the_median_full_data_training_gpu_hours(two_suites: Path) -> None:
    t = leaderboard(two_suites).table.set_index("runner")
    assert t.loc["a", "train_device_h_median"] == pytest.approx(1.5)  # 1 h on alpha, 2 h on beta
    assert t.loc["a", "device_kind"] == "GPU"
    h100 = next(e for e in price_table()["gpus"] if e["name"].startswith("H100"))["per_gpu_hour"]
    assert t.loc["a", "train_cost_median"] == pytest.approx(1.5 * h100)
    assert t.loc["d", "train_device_h_median"] == pytest.approx(2.0)


def test_money_median_only_where_every_suite_is_priced(tmp_path: Path) -> None:
    _run(tmp_path, "alpha", "a", _flip(10), 3600.0)
    _run(tmp_path, "beta", "a", _flip(10), 3600.0, gpu_name="NVIDIA A40")  # not in the price table
    row = leaderboard(tmp_path).table.set_index("runner").loc["a"]
    assert pd.isna(row["train_cost_median"]) and "no list price for NVIDIA A40" in row["cost_note"]
    assert row["train_device_h_median"] == pytest.approx(1.0)


def test_writes_markdown_sortable_html_and_csv(two_suites: Path, tmp_path: Path) -> None:
    out = tmp_path / "board"
    md = api_leaderboard(two_suites, out=out, gpu_price=2.0)
    text = md.read_text(encoding="utf-8")
    assert "| runner | alpha (accuracy) | beta (f1) | mean rank |" in text
    assert "cost only: random weights" in text and "(not run)" in text and "Price: --gpu-price 2 per GPU-hour" in text
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "<script>" in html and "sortable" in html and 'addEventListener("click"' in html
    assert "http" not in html.split("<script>")[1]  # nothing fetched
    csv = pd.read_csv(out / "leaderboard.csv")
    assert list(csv.columns) == [
        "runner", "alpha.accuracy", "alpha.accuracy_ci_low", "alpha.accuracy_ci_high", "alpha.rank", "beta.f1",
        "beta.f1_ci_low", "beta.f1_ci_high", "beta.rank", "mean_rank", "suites_ranked", "device_kind",
        "train_device_h_median", "train_cost_median", "currency", "cost_note",
    ]  # fmt: skip
    assert csv.set_index("runner").loc["a", "train_cost_median"] == pytest.approx(3.0)  # 1.5 GPU-h at 2.0


def test_cli_renders_and_names_its_files(two_suites: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert main(["leaderboard", "--results", str(two_suites), "--suites", "beta", "--out", str(out)]) == 0
    assert "leaderboard.html" in capsys.readouterr().out
    assert "alpha" not in (out / "leaderboard.md").read_text(encoding="utf-8")


def test_a_folder_with_no_suites_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    assert main(["leaderboard", "--results", str(tmp_path / "empty"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no suite results in" in err and not out.exists()


def test_an_unknown_suite_names_the_ones_there(two_suites: Path) -> None:
    with pytest.raises(ReportError, match="suites there: alpha, beta"):
        leaderboard(two_suites, ["gamma"])


def test_a_suite_report_shows_the_other_suites_of_its_folder(two_suites: Path, tmp_path: Path) -> None:
    md = build_report(two_suites, "alpha", tmp_path / "alpha")
    text = md.read_text(encoding="utf-8")
    assert "## Across suites" in text and "| runner | alpha (accuracy) | beta (f1) | mean rank |" in text
