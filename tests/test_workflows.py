"""The workflows a user runs, end to end, as sequences of `bench` commands on tiny models (issue 27): each feature
passes its own tests, and these check that they combine: the report builds, its numbers agree with the records,
the verdict is coherent, and `bench status` says where every run stands.

- single- and multi-label x untuned and tuned, one seed then three;
- a `--limit` smoke run, then the full run (refused as stale), then `--overwrite`;
- kill -9 mid-epoch, then resume (training time close to an uninterrupted run's);
- two `bench run`s of one suite at once (equal CPUs, every record whole), `bench status` during and after.

Written against the CLI and the files it writes only, so that refactors inside bench leave them standing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import TINY_SUITE, write_suite

pytestmark = pytest.mark.slow
CPUS = len(os.sched_getaffinity(0))
GRID = "tune: {learning_rate: [1.0e-6, 5.0e-3]}\n"
MULTILABEL_SUITE = """
name: {name}
data:
  source: synthetic
  task: multilabel
  synthetic: {{n_train: 80, n_test: 20, min_tokens: 40, max_tokens: 80, cue_length: 6, n_labels: 3, seed: 0}}
runners:
  - {{runner: tiny-roberta-128, hidden_size: 16, num_layers: 1, vocab_size: 200}}
  - tfidf-logreg
seeds: [0, 1, 2]
protocol: {{epochs: 1, learning_rate: 5.0e-3, batch_size: 8, per_device_batch_size: 8, eval_batch_size: 16,
           validation_fraction: 0.25}}
"""


def bench(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def start(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    # a session of its own: kill -9 reaches the sweep and its worker, as a terminal's would
    return subprocess.Popen(
        [sys.executable, "-m", "bench", *args],
        cwd=cwd,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# what a user's shell has: under pytest-xdist, tests/conftest.py fixes each worker's thread count, which would hide
# how bench shares the CPUs out by itself
AUTO_THREADS = {k: v for k, v in os.environ.items() if k not in ("BENCH_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def single_label_suite(tmp_path: Path, name: str, tuned: bool) -> Path:
    text = TINY_SUITE.format(n_train=80, n_test=20, epochs=1).replace("name: tiny", f"name: {name}")
    text = text.replace("runners:\n", "runners:\n  - tfidf-logreg\n").replace("seeds: [0]", "seeds: [0, 1, 2]")
    text = text.replace("eval_batch_size: 16}", "eval_batch_size: 16, validation_fraction: 0.25}")
    return write_suite(tmp_path / f"{name}.yaml", text + (GRID if tuned else ""))


def records(results: Path, suite: str) -> list[dict]:
    """The suite's own run records (a tuning grid's points left out), each parsed whole."""
    found = sorted((results / suite / "runs").glob("*/seed*.json"))
    return [json.loads(path.read_text()) for path in found]


def check_report(tmp_path: Path, results: Path, suite: str, seeds: int, tuned: bool, multilabel: bool) -> str:
    """The report of `suite` exists and agrees with its records; the verdict is coherent. Its verdict text."""
    runs = records(results, suite)
    assert runs and all(r["status"] == "ok" for r in runs), [r.get("error") for r in runs]
    summary = pd.read_csv(tmp_path / "reports" / suite / "tables" / "summary.csv").set_index("runner")
    frame = pd.DataFrame(runs)
    assert sorted(summary.index) == sorted(frame["runner"].unique())
    for runner, group in frame.groupby("runner"):
        row = summary.loc[runner]
        assert row["seeds_ok"] == len(group) == seeds
        for metric in ("accuracy", "f1"):  # multi-label: subset accuracy and micro-F1
            assert row[f"{metric}_mean"] == pytest.approx(group[metric].mean(), rel=1e-4)
        assert row["train_s_per_epoch"] == pytest.approx((group["train_s"] / group["n_epochs"]).mean(), rel=1e-4)
        if tuned and runner != "tfidf-logreg":
            assert group["tuned"].notna().all() and row["tuning_points"] == 2
            # the budget counts the grid: own training + the grid's, on the full data (nothing --limit-ed here)
            hours = ((group["train_s"] + group["tuning_train_s"]) / 3600).mean()
            assert row["train_cpu_h"] == pytest.approx(hours, rel=1e-4)
    assert all(r["task"] == ("multilabel" if multilabel else "single_label") for r in runs)
    verdict = (tmp_path / "reports" / suite / "verdict.md").read_text()
    named = [r for r in summary.index if r in verdict.splitlines()[0]]
    assert named, verdict  # the verdict's first sentence names a runner of this suite
    assert ("tuned on the same grid of 2 points" in verdict) == tuned
    assert ("one seed per runner" in verdict) == (seeds == 1)
    if multilabel:
        assert "micro-F1" in verdict
    return verdict


@pytest.mark.parametrize("multilabel", [False, True], ids=["single-label", "multi-label"])
@pytest.mark.parametrize("tuned", [False, True], ids=["untuned", "tuned"])
def test_a_suite_from_one_seed_to_three(tmp_path: Path, multilabel: bool, tuned: bool):
    name = f"wf{'ml' if multilabel else 'sl'}{'t' if tuned else 'u'}"
    if multilabel:
        suite = write_suite(tmp_path / f"{name}.yaml", MULTILABEL_SUITE.format(name=name) + (GRID if tuned else ""))
    else:
        suite = single_label_suite(tmp_path, name, tuned)
    results = tmp_path / "results"

    one = bench("run", "--suite", str(suite), "--results", str(results), "--seeds", "0", cwd=tmp_path)
    assert one.returncode == 0, one.stderr[-3000:]
    check_report(tmp_path, results, name, 1, tuned, multilabel)

    three = bench("run", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert three.returncode == 0, three.stderr[-3000:]  # 65e8abe, tuned: exit 2 when two seeds chose differently
    assert "skipping" in three.stdout  # seed 0's runs (and grid points) are reused
    check_report(tmp_path, results, name, 3, tuned, multilabel)
    leaderboard = bench("leaderboard", "--results", str(results), "--out", str(tmp_path / "board"), cwd=tmp_path)
    assert leaderboard.returncode == 0, leaderboard.stderr[-2000:]
    board = pd.read_csv(next((tmp_path / "board").glob("*.csv")))
    assert {"tiny-roberta-128", "tfidf-logreg"} <= set(board["runner"])

    status = bench("status", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    runs = 2 * 3 + (2 * 3 if tuned else 0)  # two runners x three seeds, and the grid's points
    assert f"{runs} ok" in status.stdout.splitlines()[-1]


def test_a_limit_smoke_run_then_the_full_run(tmp_path: Path):
    text = TINY_SUITE.format(n_train=80, n_test=20, epochs=1)
    suite, results = write_suite(tmp_path / "tiny.yaml", text), tmp_path / "results"
    smoke = bench("run", "--suite", str(suite), "--results", str(results), "--limit", "40", cwd=tmp_path)
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    (limited,) = records(results, "tiny")
    assert limited["config_key"]["limit"] == 40 and limited["n_train"] + limited["n_val"] <= 40

    full = bench("run", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert full.returncode == 2 and "Traceback" not in full.stderr  # the smoke run is not the suite's result
    assert "--limit 40 -> none" in full.stderr and "--overwrite" in full.stderr
    assert records(results, "tiny") == [limited]  # refused before anything ran

    again = bench("run", "--suite", str(suite), "--results", str(results), "--overwrite", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    (whole,) = records(results, "tiny")
    assert whole["config_key"]["limit"] is None and whole["n_train"] + whole["n_val"] > 40
    check_report(tmp_path, results, "tiny", 1, False, False)
    summary = pd.read_csv(tmp_path / "reports" / "tiny" / "tables" / "summary.csv")
    assert summary.loc[0, "train_scale"] == pytest.approx(1.0)  # the full data: nothing scaled


def test_kill_9_mid_epoch_then_resume(tmp_path: Path):
    text = TINY_SUITE.format(n_train=400, n_test=60, epochs=3).replace("per_device_batch_size: 8",
                                                                       "per_device_batch_size: 4")  # fmt: skip
    suite = write_suite(tmp_path / "tiny.yaml", text)
    whole_results, results = tmp_path / "uninterrupted", tmp_path / "results"
    whole = bench("run", "--suite", str(suite), "--results", str(whole_results), cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]

    proc = start("run", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    runs = results / "tiny" / "runs" / "tiny-roberta-128"
    deadline = time.monotonic() + 300
    while not list(runs.glob("seed0.checkpoints/checkpoint-*/trainer_state.json")):
        assert proc.poll() is None, "bench run ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)  # into the second epoch
    during = bench("status", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert during.returncode == 1 and "running" in during.stdout, during.stdout  # 1: not all finished
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=120)
    assert not (runs / "seed0.json").exists()
    stopped = bench("status", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert "interrupted" in stopped.stdout and "resumes from epoch" in stopped.stdout, stopped.stdout

    resumed = bench("run", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from the checkpoint after epoch" in resumed.stdout
    (record,) = records(results, "tiny")
    (reference,) = records(whole_results, "tiny")
    assert record["segments"] == 2 and record["epochs"] == reference["epochs"]  # the same training, bit for bit
    # its training time is both processes', summed: close to the uninterrupted run's (loosely: a busy machine)
    assert 0 < record["train_s"] <= 1.6 * reference["train_s"] + 2.0, (record["train_s"], reference["train_s"])
    check_report(tmp_path, results, "tiny", 1, False, False)
    after = bench("status", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert after.returncode == 0 and "1 ok" in after.stdout.splitlines()[-1]


def test_two_bench_runs_of_one_suite_at_once(tmp_path: Path):
    text = TINY_SUITE.format(n_train=160, n_test=20, epochs=1).replace("seeds: [0]", "seeds: [0, 1, 2]")
    suite, results = write_suite(tmp_path / "tiny.yaml", text), tmp_path / "results"
    command = ("run", "--suite", str(suite), "--results", str(results))
    first, second = start(*command, cwd=tmp_path, env=AUTO_THREADS), start(*command, cwd=tmp_path, env=AUTO_THREADS)
    seen_running = False
    while first.poll() is None or second.poll() is None:
        status = bench("status", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
        assert status.returncode in (0, 1), status.stderr  # 0 once every run is ok
        seen_running = seen_running or "running" in status.stdout
        time.sleep(0.5)
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, [err[-2000:] for _, err in outputs]
    assert seen_running
    runs = records(results, "tiny")
    assert sorted(r["seed"] for r in runs) == [0, 1, 2] and all(r["status"] == "ok" for r in runs)
    # equal resources: every run trained on the whole CPU share it started with, one bench run waiting for the
    # other's CPUs rather than both squeezing onto them (65e8abe: 2 threads for one, 1 for the rest)
    assert {r["cpu_threads"] for r in runs} == {CPUS} and {r["environment"]["torch_threads"] for r in runs} == {CPUS}
    assert all(len(r["cpus"].split(",")) == CPUS for r in runs)
    # each run trained once, by one of the two: the other skipped it
    said = "".join(out for out, _ in outputs)
    assert said.count("done: accuracy") == 3 and "another bench process" in said
    after = bench("status", "--suite", str(suite), "--results", str(results), cwd=tmp_path)
    assert after.returncode == 0 and "3 ok" in after.stdout.splitlines()[-1]
    report = bench("report", "--suite", "tiny", "--results", str(results), cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-2000:]
    check_report(tmp_path, results, "tiny", 3, False, False)
