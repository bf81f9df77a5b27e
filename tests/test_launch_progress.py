"""The sweep's time left (bench/launch/progress.py): each run still to go is estimated from its own runner's runs
(this sweep's, or earlier finished ones of the same configuration), and a runner with none is a guess the line
names. Nothing trains here."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bench.data.suite import load_suite
from bench.launch.options import RunOptions
from bench.launch.progress import SweepProgress
from bench.launch.sweep import plan
from bench.results.schema import OK
from tests.conftest import TINY_SUITE, write_suite


def test_cheap_runners_finished_first_do_not_set_the_cost_of_expensive_ones():
    """The issue's sweep: TF-IDF runs take 10 s and finish first; the 2048-token runs still to go are guessed from
    the tokens they read (4x the 512-token runner's), and the line says it is a guess."""
    lengths = {"tfidf": None, "minilm-512": 512, "minilm-chunks-2048": 2048}
    progress = SweepProgress(["tfidf", "minilm-512", "minilm-chunks-2048", "minilm-chunks-2048"], lengths=lengths)
    progress.finished("tfidf", 10.0)
    progress.finished("minilm-512", 600.0)
    seconds, guessed = progress.left()
    # the guess: minilm-512's 600 s scaled by 4; TF-IDF (no length) does not enter a length-scaled guess
    assert guessed == 1 and seconds == pytest.approx(2 * 2400.0)
    assert progress.line().endswith("left (guess: 1 runner not yet timed)")


def test_a_runner_timed_in_this_sweep_is_not_a_guess():
    progress = SweepProgress(["a", "a", "b", "b"], lengths={"a": 512, "b": 4096})
    progress.finished("a", 100.0)
    assert progress.left() == (pytest.approx(100.0 + 2 * 800.0), 1)  # b: 8x the tokens of a
    progress.finished("b", 50.0)  # b turns out cheap: its own run counts, not the guess
    assert progress.left() == (pytest.approx(100.0 + 50.0), 0)
    assert "guess" not in progress.line() and progress.line().endswith("about 2:30 left")


def test_a_model_is_not_guessed_from_tfidf_alone():
    """Seen on eurlex57k-minilm: TF-IDF took 1:11 and the line said "about 2:22 left" for minilm-512 and the chunks
    (38 minutes): a model's run is not guessed from runners that read no tokens."""
    lengths = {"tfidf": None, "minilm-512": 512, "minilm-chunks-3072": 3072}
    progress = SweepProgress(["tfidf", "minilm-512", "minilm-chunks-3072"], lengths=lengths)
    progress.finished("tfidf", 71.0)
    assert progress.left() == (None, 2)
    assert "1/3 runs done" in progress.line() and progress.line().endswith("time left unknown until a model is timed")
    progress.finished("minilm-512", 600.0)
    assert progress.left() == (pytest.approx(3600.0), 1)  # now from minilm-512's tokens


def test_nothing_timed_says_so_instead_of_a_number():
    progress = SweepProgress(["a", "b"])
    assert progress.left_s() is None
    assert progress.line().endswith("time left unknown until a run finishes")


def test_runs_at_once_share_the_work_left():
    progress = SweepProgress(["a"] * 5, slots=2)
    progress.finished("a", 60.0)
    assert progress.left_s() == pytest.approx(4 * 60.0 / 2)


def test_earlier_finished_runs_of_the_same_configuration_time_a_runner_from_the_start(tmp_path: Path):
    """A resumed or extended sweep (`--seeds 0,1,2` after seed 0 finished) knows the runner's cost before any run
    of this sweep finishes; a finished run of another configuration (other epochs) is not taken for it."""
    text = TINY_SUITE.format(n_train=60, n_test=20, epochs=2)
    suite = load_suite(str(write_suite(tmp_path / "tiny.yaml", text))).replace(seeds=(0, 1, 2))
    options = RunOptions(results=tmp_path / "results")
    (first,) = [j for j in plan(suite, options).jobs if j.seed == 0]
    first.store.write(dataclasses.replace(first.failure_record(OK, None), wall_s=120.0))
    the_plan = plan(suite, options)
    assert [j.seed for j in the_plan.jobs] == [1, 2]
    progress = SweepProgress.of(the_plan.jobs)
    assert progress.left() == (pytest.approx(240.0), 0)
    assert progress.line().endswith("about 4:00 left")

    other = suite.replace(protocol=dataclasses.replace(suite.protocol, epochs=3))  # another configuration key
    assert SweepProgress.of(plan(other, RunOptions(results=tmp_path / "results", overwrite=True)).jobs).left_s() is None


def test_a_run_that_waited_for_cpus_is_timed_by_its_own_wall_time(tmp_path: Path, monkeypatch):
    """A run queued behind another bench job's CPUs (bench/cpus.py) waits before it trains; the wait is not its
    runner's cost. Seen on the demo beside a second job: a 32 s run after a 2 min wait made the line guess 24 min
    left for three runs of about 30 s."""
    import time

    from bench.launch import sweep

    text = TINY_SUITE.format(n_train=60, n_test=20, epochs=2)
    suite = load_suite(str(write_suite(tmp_path / "tiny.yaml", text)))
    job = plan(suite, RunOptions(results=tmp_path / "results")).jobs[0]

    def queued_then_ran(job, tag, out, placement):
        time.sleep(0.5)  # waiting for CPUs: no work of the runner's
        return dataclasses.replace(job.failure_record(OK, None), wall_s=0.05)

    monkeypatch.setattr(sweep, "_run_with_oom_retries", queued_then_ran)
    progress = SweepProgress([job.runner_name, job.runner_name])
    sweep.run_one(job, overwrite=False, tag="[run 1/2]", progress=progress)
    assert progress.cost_s(job.runner_name) == pytest.approx(0.05)
