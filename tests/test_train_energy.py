"""Energy and carbon of a run (codecarbon's offline tracker): kWh per part and CO2 with their method on a CPU, the
suite's grid intensity applied, and every field missing (not 0) without codecarbon."""

from __future__ import annotations

import builtins
import dataclasses
from pathlib import Path

import pytest

from bench.config import WORLD_CARBON_INTENSITY, EnergyConfig
from bench.data import load_suite_data
from bench.data.suite import load_suite, suite_from_dict
from bench.errors import BenchError
from bench.results.schema import RunRecord
from bench.runners import build_runner
from bench.train.energy import EnergyMeter, combine, record_fields
from bench.train.trainer import train_and_evaluate

ENERGY_FIELDS = (
    "energy_kwh",
    "energy_kwh_cpu",
    "energy_kwh_gpu",
    "energy_kwh_ram",
    "co2eq_kg",
    "carbon_intensity",
    "energy_country",
    "energy_method",
    "energy_sources",
)


def _train(suite_file: Path, tmp_path: Path, energy: EnergyConfig | None = None) -> dict:
    suite = load_suite(str(suite_file))
    ref = suite.runners[0]
    metrics, _ = train_and_evaluate(
        build_runner(ref.runner, ref.params),
        load_suite_data(suite),
        suite.protocol,
        seed=0,
        checkpoints=tmp_path / "run",
        energy=energy,
    )
    return metrics


@pytest.mark.slow
def test_a_cpu_run_records_kwh_and_co2_with_their_method(tiny_suite_file: Path, tmp_path: Path):
    pytest.importorskip("codecarbon")
    metrics = _train(tiny_suite_file, tmp_path, EnergyConfig(country="FRA"))
    assert metrics["energy_kwh_cpu"] > 0 and metrics["energy_kwh_ram"] > 0
    assert metrics["energy_kwh_gpu"] is None  # no GPU here: not measured, not 0
    assert metrics["energy_kwh"] == pytest.approx(metrics["energy_kwh_cpu"] + metrics["energy_kwh_ram"])
    assert metrics["co2eq_kg"] > 0
    assert metrics["energy_country"] == "FRA"
    # France's grid mix in codecarbon's data is far below the world average
    assert 10 < metrics["carbon_intensity"] < 200
    assert metrics["co2eq_kg"] == pytest.approx(metrics["energy_kwh"] * metrics["carbon_intensity"] / 1000)
    assert metrics["energy_method"] in ("measured", "estimated")
    assert "cpu: " in metrics["energy_sources"] and "ram: " in metrics["energy_sources"]
    # the record takes them as they are
    record = RunRecord(suite="s", runner="r", seed=0, status="ok", **{k: metrics[k] for k in ENERGY_FIELDS})
    assert record.to_dict()["co2eq_kg"] == metrics["co2eq_kg"]


@pytest.mark.slow
def test_without_codecarbon_the_energy_fields_are_missing(tiny_suite_file: Path, tmp_path: Path, monkeypatch):
    real_import = builtins.__import__

    def no_codecarbon(name, *args, **kwargs):
        if name == "codecarbon" or name.startswith("codecarbon."):
            raise ImportError("No module named 'codecarbon'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_codecarbon)
    assert EnergyMeter.start() is None
    metrics = _train(tiny_suite_file, tmp_path)
    assert metrics["train_s"] > 0  # the run itself was measured
    record = RunRecord(suite="s", runner="r", seed=0, status="ok", **{k: metrics.get(k) for k in ENERGY_FIELDS})
    assert all(getattr(record, name) is None for name in ENERGY_FIELDS)
    assert not any(name in metrics for name in ENERGY_FIELDS)


def test_a_given_intensity_is_the_one_co2_is_computed_at():
    saved = {"energy": {"cpu": 0.002, "gpu": None, "ram": 0.001, "co2_kg": 0.003 * 0.1}, "sources": {}}
    fields = record_fields(saved, EnergyConfig(intensity=100.0))
    assert fields["energy_kwh"] == pytest.approx(0.003)
    assert fields["carbon_intensity"] == pytest.approx(100.0)
    assert fields["energy_country"] is None
    assert fields["energy_method"] == "estimated"  # no part says how it was read: not a measurement


def test_measured_only_when_every_part_read_a_meter():
    saved = {"energy": {"cpu": 1.0, "gpu": 2.0, "ram": None, "co2_kg": 1.0}, "sources": {"cpu": "RAPL", "gpu": "NVML"}}
    assert record_fields(saved)["energy_method"] == "measured"
    saved["energy"]["ram"] = 0.5
    saved["sources"]["ram"] = "estimated (size)"
    assert record_fields(saved)["energy_method"] == "estimated"
    assert record_fields(saved)["energy_sources"] == "cpu: RAPL; gpu: NVML; ram: estimated (size)"


def test_a_resumed_run_adds_its_energy_and_an_unmeasured_part_makes_it_missing():
    first = {"energy": {"cpu": 1.0, "gpu": None, "ram": 0.5, "co2_kg": 0.7}, "sources": {"cpu": "RAPL"}}
    second = {"energy": {"cpu": 2.0, "gpu": None, "ram": 0.5, "co2_kg": 1.2}, "sources": {"cpu": "RAPL"}}
    both = combine(first, second)
    assert both["energy"] == {"cpu": 3.0, "gpu": None, "ram": 1.0, "co2_kg": pytest.approx(1.9)}
    assert combine(None, second) is None  # the first process measured nothing: the run's total is unknown


def test_the_default_intensity_is_the_world_average():
    saved = {"energy": {"cpu": 1.0, "gpu": None, "ram": 0.0, "co2_kg": WORLD_CARBON_INTENSITY / 1000}}
    assert record_fields(saved)["carbon_intensity"] == pytest.approx(WORLD_CARBON_INTENSITY)


def test_a_suite_sets_the_grid_and_refuses_nonsense():
    base = {"data": {"source": "synthetic"}, "runners": ["tiny"]}
    assert suite_from_dict({**base, "energy": {"country": "fra"}}).energy == EnergyConfig(country="FRA")
    assert suite_from_dict({**base, "energy": {"intensity": 56}}).energy.intensity == 56
    assert suite_from_dict(base).energy == EnergyConfig()
    for bad in ({"country": "France"}, {"intensity": -1}, {"country": "FRA", "intensity": 5}, {"grid": 1}, "FRA"):
        with pytest.raises(BenchError, match="energy"):
            suite_from_dict({**base, "energy": bad})
    # not what the run computes: two grids are one configuration key
    from bench.results.key import configuration_key

    a, b = (suite_from_dict({**base, "energy": {"country": c}}) for c in ("FRA", "USA"))
    runner = {"class": "Tiny"}
    assert configuration_key(dataclasses.asdict(a), runner, None) == configuration_key(
        dataclasses.asdict(b), runner, None
    )


def test_trackers_get_the_runs_kwh_and_co2_in_each_epochs_log(tmp_path: Path):
    pytest.importorskip("codecarbon")
    from types import SimpleNamespace

    from transformers.trainer_callback import CallbackHandler, PrinterCallback

    from bench.train.measure import ThroughputCallback, TokenCounter
    from bench.train.tracking import Tracking, attach

    meter = EnergyMeter.start(EnergyConfig(intensity=100.0))
    callback = ThroughputCallback(TokenCounter(), 0, energy=meter)
    state = SimpleNamespace(global_step=0, max_steps=4)
    callback.on_train_begin(None, state, None)
    callback.on_epoch_begin(None, state, None)
    sum(i * i for i in range(2_000_000))  # some work to meter
    callback.on_epoch_end(None, state, None)
    callback.on_train_end(None, state, None)
    logs = {"loss": 0.5}
    callback.on_log(None, state, None, logs=logs)
    assert logs["energy_kwh"] > 0 and logs["co2eq_kg"] == pytest.approx(logs["energy_kwh"] * 0.1)
    evaluation = {"eval_accuracy": 1.0}
    callback.on_log(None, state, None, logs=evaluation)
    assert evaluation == {"eval_accuracy": 1.0}  # the training log only

    # put first, so that the trackers' callbacks (after it) see the dict it filled in
    handler = CallbackHandler([PrinterCallback(), callback], None, None, None, None)
    attach(SimpleNamespace(callback_handler=handler, measures=callback), Tracking((), "r", tmp_path, {}))
    assert handler.callbacks[0] is callback and len(handler.callbacks) == 2
