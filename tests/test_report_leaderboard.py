"""`bench leaderboard` (bench/report/leaderboard.py): runner × suite with each suite's task's main metric and its CI,
ranks with ties the paired test cannot separate, mean ranks over the suites every runner ran, cost-only runs never
ranked, the median cost; Markdown, sortable HTML, CSV."""

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
    """alpha: a 0.9, b 0.8 (McNemar separates them: 10 discordant documents, all a's), c cost only. beta (which
    selects epochs by F1, but is judged, as every single-label suite, on accuracy): a 0.95, b 0.6, d 0.55 (b and d
    differ on 5 documents: tied)."""
    _run(tmp_path, "alpha", "a", _flip(10), 3600.0)
    _run(tmp_path, "alpha", "b", _flip(20), 3600.0)
    _run(tmp_path, "alpha", "c", _flip(50), 3600.0, init="random")
    _run(tmp_path, "beta", "a", _flip(5), 7200.0)
    _run(tmp_path, "beta", "b", _flip(40), 7200.0)
    _run(tmp_path, "beta", "d", _flip(45), 7200.0)
    return tmp_path


def test_cells_are_each_suites_main_metric_with_ci(two_suites: Path) -> None:
    table = leaderboard(two_suites).table.set_index("runner")
    assert table.loc["a", "alpha.accuracy"] == pytest.approx(0.9)
    assert table.loc["a", "beta.accuracy"] == pytest.approx(0.95)  # the task's main metric, whatever selects epochs
    assert table.loc["b", "beta.accuracy"] == pytest.approx(0.6)
    low, high = table.loc["a", "alpha.accuracy_ci_low"], table.loc["a", "alpha.accuracy_ci_high"]
    assert low < 0.9 < high and high - low < 0.2  # a bootstrap CI over 100 documents
    assert "beta.f1" not in table.columns


def test_ranks_leave_out_cost_only_and_missing_cells(two_suites: Path) -> None:
    table = leaderboard(two_suites).table
    assert list(table["runner"][:3]) == ["a", "b", "d"]  # sorted by mean rank
    t = table.set_index("runner")
    assert t.loc["a", "alpha.rank"] == 1 and t.loc["b", "alpha.rank"] == 2 and not t.loc["b", "alpha.tied"]
    assert t.loc["a", "beta.rank"] == 1 and t.loc["b", "beta.rank"] == 2 and t.loc["d", "beta.rank"] == 2
    assert t.loc["b", "beta.tied"] and t.loc["d", "beta.tied"] and not t.loc["a", "beta.tied"]
    # the mean is over beta alone, the one suite every ranked runner ran
    assert t.loc["a", "mean_rank"] == 1.0 and t.loc["b", "mean_rank"] == 2.0 and t.loc["d", "mean_rank"] == 2.0
    assert (t["suites_in_mean"] == 1).all() and t.loc["d", "suites_ranked"] == 1 and t.loc["a", "suites_ranked"] == 2
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
    assert "| runner | alpha (accuracy) | beta (accuracy) | mean rank |" in text and "rank 2 (tied)" in text
    assert "cost only: random weights" in text and "(not run)" in text and "Price: --gpu-price 2 per GPU-hour" in text
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "<script>" in html and "sortable" in html and 'addEventListener("click"' in html
    assert "http" not in html.split("<script>")[1]  # nothing fetched
    csv = pd.read_csv(out / "leaderboard.csv")
    assert list(csv.columns) == [
        "runner", "alpha.accuracy", "alpha.accuracy_ci_low", "alpha.accuracy_ci_high", "alpha.rank", "alpha.tied",
        "beta.accuracy", "beta.accuracy_ci_low", "beta.accuracy_ci_high", "beta.rank", "beta.tied", "mean_rank",
        "suites_ranked", "suites_in_mean", "device_kind", "train_device_h_median", "train_cost_median", "currency",
        "cost_note",
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
    assert "## Across suites" in text and "| runner | alpha (accuracy) | beta (accuracy) | mean rank |" in text


def _multilabel_run(results: Path, runner: str, truth: list[list[str]], preds: list[list[str]]) -> None:
    """A multi-label run whose protocol selects on micro-F1, written as `bench run` writes it."""
    import json

    labels = ["law", "music", "sports"]
    rows = [{"id": f"d{i}", "labels": json.dumps(t), "preds": json.dumps(p), "n_tokens": 100}
            for i, (t, p) in enumerate(zip(truth, preds, strict=True))]  # fmt: skip
    tp = sum(len(set(t) & set(p)) for t, p in zip(truth, preds, strict=True))
    wrong = sum(len(set(t) ^ set(p)) for t, p in zip(truth, preds, strict=True))
    micro = 2 * tp / (2 * tp + wrong)
    exact = float(np.mean([set(t) == set(p) for t, p in zip(truth, preds, strict=True)]))
    config = {"suite": {"name": "ml", "protocol": {"metric_for_best_model": "micro_f1"}}, "runner": {"name": runner}}
    record = make_record("ml", runner, 0, metrics={"accuracy": exact, "f1": micro, "precision": micro, "recall": micro},
                         config=config, task="multilabel", label_names=labels, micro_f1=micro, f1_average="micro",
                         positive_label=None)  # fmt: skip
    write_run(results, record, pd.DataFrame(rows))


def test_a_multilabel_suite_ranks_by_micro_f1_under_its_name(tmp_path: Path) -> None:
    """`near` finds two of three labels on every document (micro-F1 0.8, no set exact); `exact` gets a fifth of the
    sets exactly and nothing on the rest (subset accuracy 0.2, micro-F1 0.33): micro-F1 ranks `near` first."""
    truth = [["law", "music", "sports"]] * 50
    _multilabel_run(tmp_path, "near", truth, [["law", "music"]] * 50)
    _multilabel_run(tmp_path, "exact", truth, [t if i % 5 == 0 else [] for i, t in enumerate(truth)])
    board = leaderboard(tmp_path)
    t = board.table.set_index("runner")
    assert board.columns[0].metric == "micro_f1" and "ml.accuracy" not in t.columns
    assert t.loc["near", "ml.micro_f1"] == pytest.approx(0.8) and t.loc["near", "ml.rank"] == 1
    assert t.loc["exact", "ml.rank"] == 2 and list(board.table["runner"]) == ["near", "exact"]
    assert t.loc["near", "ml.micro_f1_ci_low"] <= 0.8 <= t.loc["near", "ml.micro_f1_ci_high"]
    out = tmp_path / "board"
    text = api_leaderboard(tmp_path, out=out).read_text(encoding="utf-8")
    assert "| runner | ml (micro-F1) | mean rank |" in text


def test_runners_the_paired_test_cannot_separate_share_a_rank(tmp_path: Path) -> None:
    _run(tmp_path, "alpha", "a", _flip(10), 3600.0)
    _run(tmp_path, "alpha", "b", _flip(12), 3600.0)  # 2 documents apart: McNemar p = 0.5
    _run(tmp_path, "alpha", "e", _flip(40), 3600.0)
    t = leaderboard(tmp_path).table.set_index("runner")
    assert t.loc["a", "alpha.rank"] == 1 and t.loc["b", "alpha.rank"] == 1 and t.loc["e", "alpha.rank"] == 3
    assert t.loc["a", "alpha.tied"] and t.loc["b", "alpha.tied"] and not t.loc["e", "alpha.tied"]
    text = api_leaderboard(tmp_path, out=tmp_path / "board").read_text(encoding="utf-8")
    assert text.count("rank 1 (tied)") == 2


def test_a_runner_of_one_small_suite_cannot_top_the_board(tmp_path: Path) -> None:
    """`small` ran one suite, against one other runner; `wide` and `b` ran two others. The old mean rank (over the
    suites a runner ran) put `small` first with 1.0; over the suites every runner ran there is none to rank on."""
    _run(tmp_path, "alpha", "small", _flip(5), 3600.0)
    _run(tmp_path, "alpha", "b", _flip(40), 3600.0)
    _run(tmp_path, "beta", "wide", _flip(5), 3600.0)
    _run(tmp_path, "beta", "b", _flip(40), 3600.0)
    table = leaderboard(tmp_path).table
    assert table["runner"].iloc[0] != "small" and table["mean_rank"].isna().all()
    _run(tmp_path, "beta", "small", _flip(45), 3600.0)  # now every runner ran beta: the mean is over it alone
    t = leaderboard(tmp_path).table.set_index("runner")
    assert t.loc["wide", "mean_rank"] == 1 and t.loc["small", "mean_rank"] == 2 and (t["suites_in_mean"] == 1).all()
