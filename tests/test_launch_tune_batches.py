"""A tuned suite's selected run trains at the batches its grid point was probed to (`auto`), so that it trains the
point's model again rather than one split into other micro-batches by a fresh probe."""

from __future__ import annotations

from pathlib import Path

from bench.data.suite import load_suite
from bench.launch import tune
from bench.launch.options import RunOptions
from bench.launch.sweep import plan
from bench.results.key import differences
from tests.conftest import TINY_SUITE, write_suite


def test_the_selected_run_uses_the_micro_batch_its_point_trained_with(tmp_path: Path):
    text = TINY_SUITE.format(n_train=60, n_test=20, epochs=1)
    text = text.replace(
        "per_device_batch_size: 8, eval_batch_size: 16", "per_device_batch_size: auto, eval_batch_size: auto"
    )
    suite = load_suite(str(write_suite(tmp_path / "t.yaml", text + "tune: {learning_rate: [1.0e-4, 5.0e-3]}\n")))
    the_plan = plan(suite, RunOptions(results=tmp_path / "results"))
    ((item, key_of),) = the_plan.deferred
    for i, job in enumerate(item.points):  # the second point wins on validation; it was probed to micro-batch 2
        fields = {"micro_batch_size": 4 - 2 * i, "gradient_checkpointing": bool(i), "eval_batch_size": 32 >> i}
        epochs = [{"epoch": 1, "val_accuracy": 0.5 + 0.1 * i}]
        job.store.write(job.failure_record("ok", None, epochs=epochs, best_epoch=1, probe=f"probe {i}", **fields))
    final = tune.resolve(item, key_of)
    protocol = final.suite.protocol
    assert final.tuning["tuned"] == {"learning_rate": 5.0e-3}
    assert (protocol.per_device_batch_size, protocol.gradient_checkpointing, protocol.eval_batch_size) == (2, True, 16)
    assert "probe 1" in final.tuning["tuning_note"]
    # not in the key: the selected run is the configuration it was before, and a rerun of the suite skips it
    assert differences(final.key, tune.grid_key(key_of(suite.replace(protocol=protocol)), suite.tune)) == []
    assert final.key["protocol"]["learning_rate"] == 5.0e-3
