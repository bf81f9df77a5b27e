"""`bench report` end to end, from hand-made records: numbers, files, self-contained HTML, edge cases."""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import report as report_cli
from bench.report import ReportError, build_report, stats
from tests.report_fixtures import (
    NASTY,
    make_record,
    make_test_set,
    predict,
    predictions,
    prf,
    write_run,
    write_sweep,
)

PLOT_NAMES = (
    "accuracy_vs_length",
    "memory_vs_length",
    "throughput_vs_length",
    "accuracy_vs_cost",
    "accuracy_vs_energy",
    "accuracy_by_length",
    "learning_curves",
)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """The report of a five-runner, three-seed suite with failed, OOM and missing runs."""
    root = tmp_path_factory.mktemp("sweep")
    write_sweep(root / "results")
    return build_report(root / "results", "sweep", root / "report")


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Path:
    """A one-seed CPU suite whose comparison has a known answer.

    Both runners are right on the same 80 of 100 examples; the long runner is also right on 10 more, so the
    discordant counts are 10 and 0: Δ = +10 pp and the exact McNemar p-value is 2 / 2**10.
    """
    root = tmp_path_factory.mktemp("pair")
    labels, n_tokens = make_test_set(100)
    base_right = np.arange(100) < 80
    long_right = np.arange(100) < 90
    for runner, length, window, right in (
        ("roberta-512", 512, None, base_right),
        ("longformer-256-4096", 4096, 256, long_right),
    ):
        preds = np.where(right, labels, 1 - labels)
        family = "roberta" if window is None else "longformer"
        record = make_record("pair", runner, 0, metrics=prf(labels, preds), device="cpu", family=family,
                             max_length=length, attention_window=window)  # fmt: skip
        write_run(root / "results", record, predictions(labels, preds, n_tokens))
    return build_report(root / "results", "pair", root / "report")


def _seed_accuracies(results: Path, runner: str) -> list[float]:
    return [pd.read_csv(p)["label"].eq(pd.read_csv(p)["pred"]).mean() for p in sorted(results.glob(f"{runner}/*.csv"))]


def test_quality_means_and_stds_over_seeds(sweep):
    summary = pd.read_csv(sweep.parent / "tables" / "summary.csv").set_index("runner")
    accuracies = _seed_accuracies(sweep.parent.parent / "results" / "sweep" / "runs", "roberta-512")
    assert len(accuracies) == 3
    assert summary.loc["roberta-512", "accuracy_mean"] == pytest.approx(np.mean(accuracies), abs=1e-6)
    assert summary.loc["roberta-512", "accuracy_std"] == pytest.approx(np.std(accuracies, ddof=1), abs=1e-6)
    low, high = summary.loc["roberta-512", ["accuracy_ci_low", "accuracy_ci_high"]]
    assert low < np.mean(accuracies) < high
    text = sweep.read_text(encoding="utf-8")
    assert f"{np.mean(accuracies):.3f} ± {np.std(accuracies, ddof=1):.3f}" in text


def test_default_baseline_is_the_truncated_512_runner(sweep):
    comparison = pd.read_csv(sweep.parent / "tables" / "comparison.csv")
    assert set(comparison["baseline"]) == {"roberta-512"}
    assert "roberta-512" not in set(comparison["runner"])


def test_failed_and_partial_runs_are_shown(sweep):
    text = sweep.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| longformer-1024-8192 |"))
    assert "0/3 ok" in row and "3 oom" in row and "failed" in row
    assert "no run for seed 2" in text  # longformer-256-1024 ran seeds 0 and 1 only
    assert "1/3 ok (1 failed, 1 oom)" in text
    status = pd.read_csv(sweep.parent / "tables" / "run_status.csv").set_index("runner")
    assert status.loc["longformer-256-1024", "seed 2"] == "missing"
    assert status.loc["longformer-512-4096", "seed 1"] == "oom"
    assert "CUDA out of memory." in text
    assert "peak GPU memory allocated (MB)" in text


def test_every_plot_is_written_as_png_and_svg(sweep):
    for name in PLOT_NAMES:
        for ext in ("png", "svg"):
            path = sweep.parent / "plots" / f"{name}.{ext}"
            assert path.stat().st_size > 1000, path
        assert f"plots/{name}.png" in sweep.read_text(encoding="utf-8")


def test_tables_are_written_as_csv(sweep):
    for name in ("summary", "comparison", "accuracy_by_length", "learning_curves", "run_status", "runs"):
        assert not pd.read_csv(sweep.parent / "tables" / f"{name}.csv").empty, name


def test_html_is_well_formed_self_contained_and_escaped(sweep):
    page = (sweep.parent / "report.html").read_text(encoding="utf-8")
    root = ET.fromstring(page.removeprefix("<!DOCTYPE html>\n"))  # the page is XHTML-compatible
    # every link is to a place on the page (the contents; an SVG's own definitions) or data in it (a heatmap's
    # pixels inside its SVG), nothing to fetch
    links = [v for el in root.iter() for k, v in el.attrib.items() if k.split("}")[-1] in ("src", "href")]
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    inside = [link for link in links if not link.startswith("data:image/png;base64,")]
    assert inside and all(link.startswith("#") and link[1:] in ids for link in inside)
    assert len(ids) == len(set(ids))  # figures inlined on one page keep their ids apart
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    figures = [el for el in root.iter("{http://www.w3.org/2000/svg}svg") if el.get("class") == "plot"]
    assert len(figures) == len(PLOT_NAMES) + 2  # and the per-class and calibration figures, inline
    assert not list(root.iter("img"))
    assert "<script" not in page and NASTY not in page
    assert html.escape(NASTY) in page
    assert "<link" not in page and "@import" not in page


def test_markdown_escapes_data(sweep):
    text = sweep.read_text(encoding="utf-8")
    assert "<script>" not in text and "\\<script\\>" in text


@pytest.mark.smoke
def test_one_seed_cpu_report_has_known_numbers(pair):
    summary = pd.read_csv(pair.parent / "tables" / "summary.csv").set_index("runner")
    assert summary.loc["roberta-512", "accuracy_mean"] == pytest.approx(0.80)
    assert summary.loc["longformer-256-4096", "accuracy_mean"] == pytest.approx(0.90)
    assert summary["accuracy_std"].isna().all()  # one seed: no std, not 0
    low, high = summary.loc["roberta-512", ["accuracy_ci_low", "accuracy_ci_high"]]
    assert low == pytest.approx(0.72, abs=0.02) and high == pytest.approx(0.88, abs=0.02)  # 0.8 ± 1.96 * 0.04

    comparison = pd.read_csv(pair.parent / "tables" / "comparison.csv").iloc[0]
    assert comparison["runner"] == "longformer-256-4096" and comparison["baseline"] == "roberta-512"
    assert comparison["delta_accuracy"] == pytest.approx(0.10)
    assert comparison["p_value"] == pytest.approx(2 / 1024, rel=1e-3)
    assert comparison["p_method"] == "exact McNemar"
    assert (comparison["better"], comparison["worse"]) == (10, 0)
    assert 0 < comparison["delta_ci_low"] < 0.10 < comparison["delta_ci_high"]

    text = pair.read_text(encoding="utf-8")
    assert "peak CPU RSS (MB)" in text and "peak GPU" not in text
    assert "0.800 \\[" in text and "0.800 ±" not in text  # no fake error bars
    assert "exact McNemar" in text


def test_a_suite_where_every_run_failed_still_reports(tmp_path):
    for seed in (0, 1):
        write_run(tmp_path, make_record("dead", "roberta-512", seed, status="failed", error="boom"))
        write_run(tmp_path, make_record("dead", "longformer-256-4096", seed, status="oom", error="CUDA out of memory.",
                                        family="longformer", max_length=4096, attention_window=256))  # fmt: skip
    report = build_report(tmp_path, "dead", tmp_path / "report")
    text = report.read_text(encoding="utf-8")
    assert "0/2 ok (2 failed)" in text and "0/2 ok (2 oom)" in text
    assert "Nothing to compare: baseline **roberta-512** has no successful run" in text
    assert "Not plotted: Accuracy vs max sequence length: no successful runs" in text
    ET.fromstring((report.parent / "report.html").read_text(encoding="utf-8").removeprefix("<!DOCTYPE html>\n"))


def test_explicit_baseline(pair, tmp_path):
    out = build_report(pair.parent.parent / "results", "pair", tmp_path, baseline="longformer-256-4096")
    comparison = pd.read_csv(out.parent / "tables" / "comparison.csv").iloc[0]
    assert comparison["runner"] == "roberta-512"
    assert comparison["delta_accuracy"] == pytest.approx(-0.10)


def test_unknown_baseline_is_a_report_error(pair, tmp_path):
    with pytest.raises(ReportError, match=r"unknown baseline runner 'roberta512'.*did you mean 'roberta-512'"):
        build_report(pair.parent.parent / "results", "pair", tmp_path, baseline="roberta512")


def test_no_results_is_a_report_error(tmp_path):
    with pytest.raises(ReportError) as err:
        build_report(tmp_path, "x")
    assert str(err.value) == f"no results for suite 'x' in {tmp_path}; run `bench run --suite x` first"
    assert isinstance(err.value, ValueError)


@pytest.mark.smoke
def test_cli_builds_the_report(pair, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    report_cli.add_arguments(parser)
    assert parser.parse_args([]).suite is None  # resolved when it runs: the one suite with results, else demo
    args = parser.parse_args(
        ["--suite", "pair", "--results", str(pair.parent.parent / "results"), "--out", str(tmp_path)]
    )
    assert report_cli.run(args) == 0
    assert str(tmp_path / "report.md") in capsys.readouterr().out
    assert (tmp_path / "report.html").exists()


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium on PATH (apt-get install chromium)"
)
def test_html_renders_in_headless_chromium(sweep, tmp_path):
    shot = tmp_path / "report.png"
    command = [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1400,3000",
        (sweep.parent / "report.html").resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    assert shot.stat().st_size > 50_000  # a blank page compresses to a few kB


def _table_header(report: Path, first_column: str, after: str) -> str:
    text = report.read_text(encoding="utf-8")
    return next(line for line in text[text.index(after) :].splitlines() if line.startswith(f"| {first_column} |"))


def _news_suite(results: Path, suite: str, positives: dict[str, str | None]) -> Path:
    """Two one-seed runners on an imbalanced news test set: 30 hyperpartisan (label id 0) of 100, the 'sorted
    second' class mainstream is the majority. Each runner's record names `positives[runner]` (None: an older
    record) and its metrics are on that class."""
    labels = np.array([0] * 30 + [1] * 70)
    names = ["hyperpartisan", "mainstream"]
    for runner, length, window, missed in (("roberta-512", 512, None, 12), ("longformer-256-4096", 4096, 256, 4)):
        preds = labels.copy()
        preds[:missed] = 1
        positive = positives[runner]
        metrics = prf(1 - labels, 1 - preds) if positive == "hyperpartisan" else prf(labels, preds)
        record = make_record(suite, runner, 0, metrics=metrics, max_length=length, attention_window=window,
                             family="roberta" if window is None else "longformer", label_names=names,
                             positive_label=positive)  # fmt: skip
        write_run(results, record, predictions(labels, preds, np.full(100, 800)))
    return build_report(results, suite, results.parent / f"report-{suite}")


def test_f1_names_its_positive_class(tmp_path):
    report = _news_suite(
        tmp_path / "results", "news", {"roberta-512": "hyperpartisan", "longformer-256-4096": "hyperpartisan"}
    )
    header = _table_header(report, "runner", "## Quality")
    assert (
        "| F1 (positive: hyperpartisan) | precision (positive: hyperpartisan) | recall (positive: hyperpartisan) |"
        in header
    )
    summary = pd.read_csv(report.parent / "tables" / "summary.csv").set_index("runner")
    row = summary.loc["roberta-512"]
    assert row["positive_label"] == "hyperpartisan"
    assert row["f1_mean"] == pytest.approx(36 / 48)  # 18 of 30 found: F1 of hyperpartisan, not of mainstream
    assert row["f1_ci_low"] < row["f1_mean"] < row["f1_ci_high"] < 140 / 152  # the CI is on the same class
    assert row["recall_ci_high"] < 0.9


def test_older_records_fall_back_to_the_second_label_and_say_so(pair):
    text = pair.read_text(encoding="utf-8")
    assert "| F1 (positive: pos) |" in text
    assert "do not name their positive class" in text and "'pos'" in text


def test_runners_on_different_positive_classes_are_not_compared(tmp_path):
    report = _news_suite(tmp_path / "results", "mixed", {"roberta-512": "hyperpartisan", "longformer-256-4096": None})
    header = _table_header(report, "runner", "## Quality")
    assert "| F1 | precision | recall |" in header
    text = report.read_text(encoding="utf-8")
    assert "(positive: hyperpartisan)" in text and "(positive: mainstream)" in text
    assert "not comparable across runners" in text


def test_length_buckets_use_the_baselines_tokens(tmp_path):
    """bigbird sorts before roberta, and its tokenizer counts three times as many tokens: the buckets must still be
    roberta-512's (the baseline's) for every runner."""
    labels, n_tokens = make_test_set(200)
    for runner, length, factor in (("bigbird-4096", 4096, 3), ("roberta-512", 512, 1)):
        preds = predict(labels, n_tokens, length, 0)
        record = make_record("tok", runner, 0, metrics=prf(labels, preds), max_length=length, family=runner[:7])
        write_run(tmp_path, record, predictions(labels, preds, n_tokens * factor))
    report = build_report(tmp_path, "tok", tmp_path / "report")
    lengths = pd.read_csv(report.parent / "tables" / "accuracy_by_length.csv")
    edges = stats.length_edges(n_tokens, [512, 4096])
    expected = np.bincount(stats.bucket_index(n_tokens, edges), minlength=len(edges) + 1)
    for runner in ("roberta-512", "bigbird-4096"):
        counts = lengths[lengths["runner"] == runner].sort_values("bucket_index")["n_examples"].to_numpy()
        np.testing.assert_array_equal(counts, expected[expected > 0])
    assert set(lengths["tokens_of"]) == {"roberta-512"}
    assert "Lengths in roberta-512's tokens** (the baseline)" in report.read_text(encoding="utf-8")


def test_comparison_says_which_uncertainty_each_figure_covers(sweep):
    comparison = pd.read_csv(sweep.parent / "tables" / "comparison.csv").set_index("runner")
    three_seeds = ["longformer-256-2048", "longformer-256-4096"]
    assert comparison.loc[three_seeds, "delta_seed_ci_low"].notna().all()
    assert comparison.drop(index=three_seeds)["delta_seed_ci_low"].isna().all()  # 2 and 1 seeds: none
    for runner in three_seeds:  # seeds disagree in this sweep: the two-level interval is the wider one
        one = comparison.loc[runner, "delta_ci_high"] - comparison.loc[runner, "delta_ci_low"]
        assert comparison.loc[runner, "delta_seed_ci_high"] - comparison.loc[runner, "delta_seed_ci_low"] > one
    text = sweep.read_text(encoding="utf-8")
    assert "Δ 95% CI, seeds and test set" in text and "— (\\< 3 seeds)" in text
    assert "cover **test-set sampling only**" in text and "covers **seeds and test set**" in text
    assert "it covers **test-set sampling only**" in text  # the quality table's CIs


def test_a_difference_within_the_seed_spread_says_so(tmp_path):
    labels = np.array([0, 1] * 100)
    for runner, length, window, rights in (
        ("roberta-512", 512, None, (140, 140, 140)),
        ("longformer-256-4096", 4096, 256, (120, 160, 200)),  # 60%, 80%, 100%: +10 pp, from one lucky seed
    ):
        for seed, right in enumerate(rights):
            preds = np.where(np.arange(200) < right, labels, 1 - labels)
            record = make_record("spread", runner, seed, metrics=prf(labels, preds), max_length=length,
                                 attention_window=window)  # fmt: skip
            write_run(tmp_path, record, predictions(labels, preds, np.full(200, 900)))
    report = build_report(tmp_path, "spread", tmp_path / "report")
    row = pd.read_csv(report.parent / "tables" / "comparison.csv").iloc[0]
    assert row["p_value"] < 0.05 and row["delta_ci_low"] > 0 > row["delta_seed_ci_low"]
    assert "better on this test set; within the spread over seeds" in report.read_text(encoding="utf-8")
