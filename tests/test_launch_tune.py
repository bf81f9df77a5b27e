"""`bench run` on a suite with `tune:`: every grid point a run of its own (validation only), selection on
validation, one test pass for the chosen point, its record carrying the choice and the grid's cost, and a rerun that
skips everything."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.data.tune import validation_score
from tests.conftest import TINY_SUITE, write_suite

pytestmark = pytest.mark.slow
GRID = [1.0e-6, 5.0e-3]
POINTS = [f"learning_rate={lr!r}" for lr in GRID]


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def tuned_suite(tmp_path: Path, extra: str = "") -> Path:
    text = TINY_SUITE.format(n_train=80, n_test=20, epochs=1).replace("name: tiny", "name: tinytune")
    text = text.replace("runners:\n", "runners:\n  - tfidf-logreg\n")
    text = text.replace("eval_batch_size: 16}", "eval_batch_size: 16, validation_fraction: 0.25}")
    return write_suite(tmp_path / "tuned.yaml", text + f"tune: {{learning_rate: {GRID}}}\n" + extra)


def test_a_tuned_suite_selects_on_validation_and_tests_the_chosen_point_once(tmp_path: Path):
    suite, results = tuned_suite(tmp_path), tmp_path / "results"
    first = bench("run", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    # progress lines say which grid point is running; the selected runs come after the grid
    for point in POINTS:
        assert f"tiny-roberta-128 · tuning {point} · seed 0" in first.stdout
        assert f"(grid point {point}, no test)" in first.stdout
    assert "[selected run 1/1] tiny-roberta-128 · seed 0" in first.stdout

    runs = results / "tinytune" / "runs" / "tiny-roberta-128"
    points = [json.loads((runs / "tune" / p / "seed0.json").read_text()) for p in POINTS]
    for point, record in zip(POINTS, points, strict=True):
        assert record["status"] == "ok" and record["tune_point"] == point
        # validation only: no test metric, no test predictions, no test pass measured
        assert record["accuracy"] is None and record["f1"] is None and record["eval_samples_per_s"] is None
        assert record["n_test"] is None and not list((runs / "tune" / point).glob("*predictions*"))
        assert record["epochs"][0]["val_accuracy"] is not None and record["train_s"] > 0
    assert [p["config_key"]["protocol"]["learning_rate"] for p in points] == GRID  # each point's value in its key

    scores = [validation_score(p["epochs"], p["best_epoch"], "accuracy") for p in points]
    chosen = 1 if scores[1] > scores[0] else 0  # a tie goes to the first in grid order
    selected = json.loads((runs / "seed0.json").read_text())
    assert selected["status"] == "ok" and selected["tune_point"] is None and selected["accuracy"] is not None
    assert selected["tuned"] == {"learning_rate": GRID[chosen]}
    assert selected["config_key"]["protocol"]["learning_rate"] == GRID[chosen]
    assert selected["config_key"]["tune"] == {"learning_rate": GRID}
    assert selected["tuning_points"] == 2
    assert selected["tuning_train_s"] == pytest.approx(sum(p["train_s"] for p in points))
    assert selected["tuning_wall_s"] == pytest.approx(sum(p["wall_s"] for p in points))
    assert f"{POINTS[chosen]} {scores[chosen]:.4f}" in selected["tuning_note"]
    assert (runs / "seed0.predictions.csv").exists()
    # same seed, same settings: the selected run trains the point's model again (on a CPU, bit for bit)
    assert selected["epochs"] == points[chosen]["epochs"]

    # the scikit-learn runner ignores the learning rate: trained once, and its record says it was not tuned
    tfidf = json.loads((results / "tinytune" / "runs" / "tfidf-logreg" / "seed0.json").read_text())
    assert tfidf["status"] == "ok" and tfidf["tuned"] is None and tfidf["tuning_note"].startswith("not tuned")
    assert not (results / "tinytune" / "runs" / "tfidf-logreg" / "tune").exists()

    # the report: a tuning column in the cost table, and the verdict says the runners were tuned
    report = (tmp_path / "reports" / "tinytune" / "report.md").read_text().replace("\\_", "_")  # Markdown escapes
    assert "| tuning wall time |" in report and f"chose {POINTS[chosen]} (seed 0)" in report
    verdict = (tmp_path / "reports" / "tinytune" / "verdict.md").read_text()
    assert "tuned on the same grid of 2 points" in verdict and "tfidf-logreg not" in verdict

    status = bench("status", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    for point, score in zip(POINTS, scores, strict=True):
        assert re.search(
            rf"tiny-roberta-128 · tuning {re.escape(point)} +0 +ok +val accuracy {score:.4f}", status.stdout
        )

    again = bench("run", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "skipping 4 finished run(s)" in again.stdout and "[run " not in again.stdout
    assert "[selected run" not in again.stdout
    assert json.loads((runs / "seed0.json").read_text())["finished_at"] == selected["finished_at"]

    # a grid with another value is another configuration: refused before any point trains, naming the change
    wider = write_suite(tmp_path / "tuned.yaml", suite.read_text().replace(f"{GRID}", f"{[*GRID, 1.0e-4]}"))
    changed = bench("run", "--suite", str(wider), "--results", str(results), cwd=tmp_path)
    assert changed.returncode == 2 and "Traceback" not in changed.stderr
    assert f"tiny-roberta-128 seed 0: tune.learning_rate [{GRID[0]}, {GRID[1]}] -> [" in changed.stderr
    assert not (runs / "tune" / "learning_rate=0.0001").exists()


def test_a_bad_grid_key_exits_2_in_one_line_and_writes_nothing(tmp_path: Path):
    suite = tuned_suite(tmp_path).read_text().replace("tune: {learning_rate:", "tune: {learning_rat:")
    path = write_suite(tmp_path / "bad.yaml", suite)
    done = bench("run", "--suite", str(path), "--results", str(tmp_path / "results"), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "'learning_rat' is not a tunable protocol setting; tunable: batch_size, epochs, learning_rate" in done.stderr
    assert not (tmp_path / "results").exists()
    listed = bench("list", "--suite", str(tuned_suite(tmp_path)), cwd=tmp_path)
    assert listed.returncode == 0
    assert f"tune: learning_rate: {GRID[0]}, {GRID[1]} — 2 point(s) per runner and seed" in listed.stdout


def test_a_tuned_suite_is_refused_on_slurm_before_anything_is_submitted(tmp_path: Path):
    from bench import api
    from bench.errors import BenchError
    from bench.launch.options import RunOptions
    from bench.launch.slurm import ClusterOptions

    options = RunOptions(suite=str(tuned_suite(tmp_path)), results=tmp_path / "results", cluster=ClusterOptions())
    with pytest.raises(BenchError, match="a suite with 'tune:' runs here only for now"):
        api.prepare(options=options)
    assert not (tmp_path / "results").exists()
