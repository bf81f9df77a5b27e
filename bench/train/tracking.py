"""Experiment trackers (`--report-to`, a suite's `report_to`): the Trainer's own integrations do the reporting.

bench names each run `<suite>/<runner>/seed<k>`, gives every tracker the record's config (as the `bench` entry of
the training arguments, which each integration logs with the run's settings), and puts TensorBoard's event files
beside the record. Which trackers a run reports to is not part of what it is: it is left out of the run's
configuration key (`bench.results.key`), so adding one keeps a run's checkpoints. Torch-free until `attach`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError

# tracker -> the packages its transformers integration can use (any one will do), the first is the one to install
PACKAGES = {
    "tensorboard": ("tensorboard", "tensorboardX"),
    "wandb": ("wandb",),
    "mlflow": ("mlflow",),
    "trackio": ("trackio",),
}


def check_installed(names: tuple[str, ...]) -> None:
    """Fail in one line, before anything runs, when a tracker's package is missing."""
    for name in names:
        if not any(importlib.util.find_spec(package) for package in PACKAGES[name]):
            raise BenchError(
                f"report_to {name}: the {PACKAGES[name][0]} package is not installed; "
                f"`pip install {PACKAGES[name][0]}`, or leave {name} out of --report-to"
            )


@dataclass(frozen=True)
class Tracking:
    """What one run tells its trackers."""

    report_to: tuple[str, ...]  # transformers integration names
    run_name: str  # <suite>/<runner>/seed<k>
    tensorboard_dir: Path  # where TensorBoard's event files go
    config: dict[str, Any]  # the record's `config`: resolved suite, runner parameters, --limit, --data-dir


def attach(trainer: Any, tracking: Tracking) -> None:
    """Point the Trainer's TensorBoard callback at the run's folder (transformers 5 has no `logging_dir` argument
    any more: without this the events would land under the checkpoints folder, which a finished run deletes), and
    let the trackers log the run's energy (`bench.train.measure.ThroughputCallback.on_log`)."""
    from transformers.integrations import TensorBoardCallback

    measures = getattr(trainer, "measures", None)
    if measures is not None:  # first, so that the kWh and CO2 it adds to the epoch's log reach every tracker
        trainer.callback_handler.remove_callback(measures)
        trainer.callback_handler.callbacks.insert(0, measures)
    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback):
            callback.logging_dir = str(tracking.tensorboard_dir)
