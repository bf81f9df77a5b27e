"""Planning a sweep: which runs are skipped as finished, which run again, and which finished runs are stale (made with
another configuration key) and refused. Nothing trains here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.data.suite import load_suite
from bench.errors import BenchError
from bench.launch.options import RunOptions
from bench.launch.sweep import plan
from bench.results.schema import FAILED, OK, OOM
from bench.results.store import ResultStore, RunKey
from tests.conftest import TINY_SUITE, write_suite


def tiny(tmp_path: Path, epochs: int = 2):
    return load_suite(str(write_suite(tmp_path / "tiny.yaml", TINY_SUITE.format(n_train=60, n_test=20, epochs=epochs))))


def finish(tmp_path: Path, suite, seed: int, status: str = OK, **options) -> None:
    """Write the record a run of `suite` would leave, with the job's own identity (and so its configuration key)."""
    (job,) = [j for j in plan(suite, RunOptions(results=tmp_path / "results", **options)).jobs if j.seed == seed]
    job.store.write(job.failure_record(status, "boom" if status != OK else None))


def test_only_an_ok_record_of_the_same_configuration_counts_as_finished(tmp_path: Path):
    """A failed or oom record is retried by the next `bench run` (planting "any record counts as finished" in
    `plan` must fail here)."""
    suite = tiny(tmp_path).replace(seeds=(0, 1, 2, 3))
    for seed, status in ((0, OK), (1, FAILED), (2, OOM)):
        finish(tmp_path, suite, seed, status)
    the_plan = plan(suite, RunOptions(results=tmp_path / "results"))
    assert [j.seed for j in the_plan.skipped] == [0]
    assert [j.seed for j in the_plan.jobs] == [1, 2, 3] and the_plan.stale == ()
    the_plan.check()  # nothing stale: nothing refused


def test_a_finished_run_of_another_configuration_is_stale_and_refused(tmp_path: Path):
    finish(tmp_path, tiny(tmp_path, epochs=1), 0, limit=40)
    the_plan = plan(tiny(tmp_path, epochs=2), RunOptions(results=tmp_path / "results"))
    assert the_plan.jobs == () and the_plan.skipped == ()
    ((_job, changed),) = the_plan.stale
    assert changed == ("--limit 40 -> none", "epochs 1 -> 2")
    with pytest.raises(BenchError) as err:
        the_plan.check()
    lines = str(err.value).splitlines()
    assert lines[1] == "  tiny-roberta-128 seed 0: --limit 40 -> none; epochs 1 -> 2"
    assert "--overwrite" in lines[-1] and "--results DIR" in lines[-1]
    overwrite = plan(tiny(tmp_path), RunOptions(results=tmp_path / "results", overwrite=True))
    assert [j.seed for j in overwrite.jobs] == [0] and overwrite.stale == ()


def test_cosmetic_settings_do_not_make_a_run_stale(tmp_path: Path):
    finish(tmp_path, tiny(tmp_path), 0)
    suite = tiny(tmp_path)
    cosmetic = suite.replace(
        description="edited", source_file="/elsewhere/tiny.yaml",
        protocol=suite.protocol.__class__(**{**vars(suite.protocol), "eval_batch_size": 4, "per_device_batch_size": 2}),
    )  # fmt: skip
    the_plan = plan(cosmetic, RunOptions(results=tmp_path / "results"))
    assert [j.seed for j in the_plan.skipped] == [0] and the_plan.stale == ()


def test_a_record_of_schema_2_is_compared_by_the_key_rebuilt_from_its_config(tmp_path: Path):
    suite = tiny(tmp_path)
    finish(tmp_path, suite, 0)
    store = ResultStore(tmp_path / "results")
    path = store.record_path(RunKey("tiny", "tiny-roberta-128", 0))
    old = json.loads(path.read_text())
    for name in ("config_key", "config_digest", "oom_phase"):
        del old[name]
    # a finished run records the precision it trained in (here a CPU's), which its rebuilt key is given
    path.write_text(json.dumps({**old, "schema_version": 2, "mixed_precision": "no"}))
    assert store.read(RunKey("tiny", "tiny-roberta-128", 0)).config_key is not None
    assert [j.seed for j in plan(suite, RunOptions(results=store.root)).skipped] == [0]
    assert plan(tiny(tmp_path, epochs=3), RunOptions(results=store.root)).stale[0][1] == ("epochs 2 -> 3",)


def test_trust_remote_code_warns_before_anything_reads_the_checkpoint(tmp_path, monkeypatch, capsys):
    from bench.runners.hf import PretrainedRunner

    def check(self):
        import sys

        print("READING THE CHECKPOINT", file=sys.stderr)

    monkeypatch.setattr(PretrainedRunner, "check_supported", check)
    text = TINY_SUITE.format(n_train=60, n_test=20, epochs=1).replace(
        "- {runner: tiny-roberta-128, hidden_size: 16, num_layers: 1, vocab_size: 200}",
        "- {runner: roberta-512, trust_remote_code: true}",
    )
    plan(load_suite(str(write_suite(tmp_path / "t.yaml", text))), RunOptions(results=tmp_path / "results"))
    err = capsys.readouterr().err
    assert err.index("sets trust_remote_code") < err.index("READING THE CHECKPOINT")


@pytest.mark.parametrize("value", ["no", "yes", 1])
def test_trust_remote_code_must_be_a_boolean(value):
    from bench.runners import build_runner

    with pytest.raises(BenchError, match="trust_remote_code must be true or false"):
        build_runner("roberta-512", {"trust_remote_code": value})
