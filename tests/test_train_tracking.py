"""Experiment trackers (`--report-to`, a suite's `report_to`): checked before anything runs, left out of the resume
configuration key, and with TensorBoard: one event folder per run beside its record, named and configured as the run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bench.config import TRACKERS
from bench.data.suite import load_suite
from bench.runners import build_runner
from bench.train import tracking
from bench.train.checkpoints import prepare
from bench.train.job import Job
from tests.fakes import run_here
from tests.test_cli import run_error
from tests.test_train_checkpoints import fake_checkpoint


def tiny_job(suite_file: Path, results: Path, report_to: tuple[str, ...] = ()) -> Job:
    suite = load_suite(str(suite_file)).replace(report_to=report_to)
    ref = suite.runners[0]
    return Job(suite, ref.name, build_runner(ref.runner, ref.params), 0, results)


def test_every_tracker_names_the_packages_it_needs():
    assert tuple(tracking.PACKAGES) == TRACKERS


def test_changing_the_trackers_keeps_the_checkpoints(tiny_suite_file: Path, tmp_path: Path):
    quiet = tiny_job(tiny_suite_file, tmp_path, ())
    tracked = tiny_job(tiny_suite_file, tmp_path, ("tensorboard", "wandb"))
    folder = tmp_path / "seed0.checkpoints"
    stale = lambda: tmp_path / "aside"  # noqa: E731
    prepare(folder, quiet.key, stale)
    checkpoint = fake_checkpoint(folder, 10, 1.0)
    assert prepare(folder, tracked.key, stale) == (checkpoint, None)
    # ... while the record still says what the run reported to, and anything else that changes training does count
    assert tracked.identity()["config"]["suite"]["report_to"] == ("tensorboard", "wandb")
    suite = tracked.suite.replace(protocol=dataclasses.replace(tracked.suite.protocol, learning_rate=1e-4))
    other = Job(suite, tracked.runner_name, tracked.runner, 0, tmp_path)
    resume, note = prepare(folder, other.key, stale)
    assert resume is None and "configuration changed" in note and "learning_rate" in note


@pytest.mark.parametrize(
    ("report_to", "message"),
    [
        ("tensorbord", "report_to: unknown tracker 'tensorbord'. Did you mean 'tensorboard'? Available: tensorboard"),
        ("wandb", "report_to wandb: the no_such_wandb_package package is not installed; `pip install "),
    ],
)
def test_an_unknown_or_missing_tracker_is_one_line_before_anything_runs(
    capsys, tmp_path: Path, tiny_suite_file: Path, monkeypatch: pytest.MonkeyPatch, report_to: str, message: str
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(tracking.PACKAGES, "wandb", ("no_such_wandb_package",))  # whatever this machine has
    assert run_error(
        capsys, tmp_path / "results", "--suite", str(tiny_suite_file), "--report-to", report_to
    ).startswith(message)


def test_none_means_no_tracker_even_where_the_suite_names_one(tiny_suite_file: Path):
    from bench import api

    sweep = api.prepare(str(tiny_suite_file), overrides={"report_to": ["tensorboard"]}, report_to="none")
    assert sweep.suite.report_to == () and sweep.plan.jobs[0].tracking() is None


@pytest.mark.slow
def test_tensorboard_gets_one_event_folder_per_run_named_and_configured_as_the_run(
    tiny_suite_file: Path, tmp_path: Path
):
    pytest.importorskip("tensorboard", reason="`pip install tensorboard` (not in the test extra: it pulls grpcio)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util.tensor_util import make_ndarray

    job = tiny_job(tiny_suite_file, tmp_path / "results", ("tensorboard",))
    folder = tmp_path / "results" / "tiny" / "runs" / "tiny-roberta-128" / "seed0.tensorboard"
    (folder / "stale").mkdir(parents=True)  # a run started afresh starts a fresh history
    run_here(job)
    record = json.loads(job.record_path.read_text())
    (events_file,) = folder.iterdir()
    assert events_file.name.startswith("events.out.tfevents.")

    events = EventAccumulator(str(folder), size_guidance={"tensors": 0, "scalars": 0})
    events.Reload()
    validation = events.Scalars("eval/accuracy")
    assert [e.value for e in validation] == [epoch["val_accuracy"] for epoch in record["epochs"]]
    assert len(events.Scalars("train/loss")) == 2  # one per epoch, as logged
    args = json.loads(make_ndarray(events.Tensors("args/text_summary")[0].tensor_proto).item().decode())
    assert args["run_name"] == "tiny/tiny-roberta-128/seed0" and args["report_to"] == ["tensorboard"]
    assert args["bench"] == record["config"]  # the record's config is the run's config
