"""Expected calibration error and reliability bins on constructed confidences, and the report's Calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.report import build_report, calibration
from tests.report_fixtures import make_record, make_test_set, predictions, prf, write_run


def test_perfectly_calibrated_scores_have_zero_ece():
    # 60 of 100 right at confidence 0.6, 85 of 100 at 0.85, all 50 at 1.0
    confidence = np.repeat([0.6, 0.85, 1.0], [100, 100, 50])
    correct = np.concatenate([np.arange(100) < 60, np.arange(100) < 85, np.ones(50, bool)])
    assert calibration.ece(confidence, correct) == pytest.approx(0.0, abs=1e-12)


def test_an_overconfident_model_has_the_hand_computed_ece():
    # 100 at 0.95 with 60 right (gap 0.35), 100 at 0.70 with 70 right (gap 0): ECE = 0.5 * 0.35 + 0.5 * 0 = 0.175
    confidence = np.repeat([0.95, 0.70], 100)
    correct = np.concatenate([np.arange(100) < 60, np.arange(100) < 70])
    assert calibration.ece(confidence, correct) == pytest.approx(0.175)
    bins = calibration.reliability(confidence, correct)
    assert list(bins["bin"]) == [10, 14]  # 0.70 in (10/15, 11/15], 0.95 in (14/15, 1]
    np.testing.assert_allclose(bins["accuracy"], [0.7, 0.6])


def test_bins_are_fifteen_equal_width_right_closed():
    edges = np.array([0.0, 1 / 15, 1 / 15 + 1e-9, 0.5, 1.0])
    assert list(calibration.bin_index(edges)) == [0, 0, 1, 7, 14]


def test_within_a_bin_confidences_are_averaged():
    # one bin (0.9, 0.9333]: mean confidence 0.92, accuracy 0.5 -> ECE 0.42
    assert calibration.ece(np.array([0.91, 0.93]), np.array([1, 0])) == pytest.approx(0.42)


def test_old_predictions_without_score_are_not_recorded():
    frame = pd.DataFrame({"runner": "old", "seed": 0, "label": [0, 1], "pred": [0, 0], "score": np.nan,
                          "correct": [True, False]})  # fmt: skip
    table = calibration.calibration_table(frame, ["old"])
    assert not table.loc[0, "recorded"] and np.isnan(table.loc[0, "ece"])
    assert calibration.reliability_table(frame, ["old"]).empty


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> Path:
    """Binary suite: a calibrated runner, an overconfident one, one without scores, and a random-init one."""
    root = tmp_path_factory.mktemp("calibration")
    labels, n_tokens = make_test_set(200)
    for runner, right, score, init in (("roberta-512", 160, 0.8, "pretrained"),
                                       ("bigbird-4096", 120, 0.95, "pretrained"),
                                       ("longformer-4096", 150, None, "pretrained"),
                                       ("modernbert-8192@random-init", 199, 0.99, "random")):  # fmt: skip
        preds = np.where(np.arange(200) < right, labels, 1 - labels)
        record = make_record("cal", runner, 0, metrics=prf(labels, preds), init=init)
        frame = predictions(labels, preds, n_tokens)
        frame = frame.drop(columns="score") if score is None else frame.assign(score=score)
        write_run(root / "results", record, frame)
    return build_report(root / "results", "cal", root / "report")


def test_the_report_has_a_calibration_section_and_plot(calibrated):
    text = calibrated.read_text(encoding="utf-8")
    section = text.split("## Calibration\n", 1)[1].split("\n## ", 1)[0]
    assert "15 equal-width bins" in section
    table = pd.read_csv(calibrated.parent / "tables" / "calibration.csv").set_index("runner")
    assert table.loc["roberta-512", "ece"] == pytest.approx(0.0, abs=1e-9)  # 0.8 confident, 80% right
    assert table.loc["bigbird-4096", "ece"] == pytest.approx(0.95 - 0.6)
    assert not table.loc["longformer-4096", "recorded"]
    assert "not recorded" in section and "0.350" in section
    assert "modernbert-8192@random-init" not in table.index
    assert "modernbert-8192@random-init" not in section.split("Cost only", 1)[0]
    assert (calibrated.parent / "plots" / "reliability_diagram.png").stat().st_size > 1000
    assert "reliability_diagram.png" in section
