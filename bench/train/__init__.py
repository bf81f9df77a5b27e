"""Training: the protocol, written once per kind of runner, and what it measures.

`train_and_evaluate` is the one dispatch: a `TransformerRunner` is trained by the Trainer protocol
(`bench.train.trainer`), an `EstimatorRunner` by the scikit-learn protocol (`bench.train.estimator`). Both return the
same record fields and predictions. Imported lazily, so a scikit-learn run never loads torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.config import EnergyConfig, ProtocolConfig
from bench.data import SuiteData
from bench.runners import EstimatorRunner, Runner
from bench.train.tracking import Tracking


def train_and_evaluate(
    runner: Runner,
    data: SuiteData,
    protocol: ProtocolConfig,
    seed: int,
    checkpoints: Path | None = None,
    resume_from: Path | None = None,
    tracking: Tracking | None = None,
    world_size: int = 1,
    test: bool = True,
    energy: EnergyConfig | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Fit `runner` under the protocol; return the run's record fields and its per-example test predictions.
    `tracking` reports a Trainer run to experiment trackers; `test` False trains a tuning grid's point, evaluated on
    validation only (scikit-learn runners are never tuned on a grid: they choose their own settings). `energy`: the
    grid intensity of a Trainer run's kWh and CO2 (scikit-learn runs record none)."""
    if isinstance(runner, EstimatorRunner):
        from bench.train import estimator

        if tracking:
            print(f"note: {runner.family} is not trained by the Trainer; it reports to no tracker", flush=True)
        return estimator.train_and_evaluate(runner, data, protocol, seed)  # nothing to checkpoint
    import transformers

    from bench.train import trainer

    transformers.logging.set_verbosity_warning()
    return trainer.train_and_evaluate(
        runner, data, protocol, seed, checkpoints, resume_from, tracking, world_size, test, energy
    )
