"""`bench publish` through huggingface_hub's real client against a fake Hub on 127.0.0.1 (tests/hub_server.py):
the requests it makes, the files the repos get, no new commit when nothing changed, and a kept model's card whose
`model-index` is the Hub's format."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

import bench
from bench.cli import main
from bench.data.suite import load_suite
from bench.errors import BenchError
from bench.results.store import ResultStore, RunKey
from bench.runners import build_runner
from bench.train.job import Job
from tests.conftest import TINY_SUITE, write_suite
from tests.fakes import run_here
from tests.hub_server import MODEL_INDEX_SCHEMA, FakeHub, fake_hub, validate_metadata

REPO = "tester/bench-tiny"
DATASET_FILES = {
    "README.md",
    "data/runs.jsonl",
    "run-record.schema.json",
    "report/report.md",
    "report/report.html",
    "leaderboard.md",
    "leaderboard.html",
    "leaderboard.csv",
}


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with fake_hub(monkeypatch) as server:
        yield server


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder with one finished tiny run whose best checkpoint was kept (`keep_model: true`)."""
    folder = tmp_path_factory.mktemp("publish")
    text = TINY_SUITE.format(n_train=60, n_test=20, epochs=2) + "keep_model: true\n"
    suite = load_suite(str(write_suite(folder / "tiny.yaml", text)))
    ref = suite.runners[0]
    runner = build_runner(ref.runner, ref.params)
    record = run_here(Job(suite, ref.name, runner, 0, folder / "results"))
    assert record.ok, record.error
    # and a run that did not finish: a result too (its record says so)
    failed = Job(suite, "tiny-too-big", runner, 0, folder / "results").failure_record("oom", "CUDA out of memory")
    ResultStore(folder / "results").write(failed)
    return folder / "results"


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


@pytest.mark.slow
def test_keep_model_keeps_the_best_checkpoints_model_and_not_its_training_state(results: Path):
    store = ResultStore(results)
    key = RunKey("tiny", "tiny-roberta-128", 0)
    kept = store.model_dir(key)
    names = {p.name for p in kept.iterdir()}
    assert {"model.safetensors", "config.json", "bench-run.json"} <= names
    assert not names & {"optimizer.pt", "scheduler.pt", "trainer_state.json"}
    assert not any(n.startswith("rng_state") for n in names)
    assert not store.checkpoint_dir(key).exists()  # the epoch checkpoints are gone, as always
    assert json.loads((kept / "bench-run.json").read_text())["key"] == store.read(key).config_key


@pytest.mark.slow
def test_publish_pushes_records_report_leaderboard_and_card(hub, results: Path):
    done = bench.publish("tiny", REPO, results=results)

    repo = hub.repo("dataset", REPO)
    assert set(repo.files) >= DATASET_FILES
    rows = [json.loads(line) for line in repo.files["data/runs.jsonl"].decode().splitlines()]
    schema = json.loads(repo.files["run-record.schema.json"])
    assert [(r["runner"], r["seed"], r["status"]) for r in rows] == [
        ("tiny-roberta-128", 0, "ok"),
        ("tiny-too-big", 0, "oom"),
    ]
    for row in rows:
        jsonschema.validate(row, schema)
    card = front_matter(repo.files["README.md"].decode())
    assert card["configs"] == [{"config_name": "default", "data_files": [{"split": "runs", "path": "data/runs.jsonl"}]}]
    assert "bench" in card["tags"]
    assert b"tiny-roberta-128" in repo.files["leaderboard.csv"]
    # the real client's requests, each with the token
    assert hub.calls("POST", "/api/repos/create") and hub.calls("POST", f"/api/datasets/{REPO}/preupload/main")
    assert len(hub.calls("POST", f"/api/datasets/{REPO}/commit/main")) == 1
    assert all(r.authorized for r in hub.requests if r.method == "POST")
    assert done.dataset.changed and done.dataset.commit == repo.sha and len(repo.commits) == 1
    assert done.dataset.url.endswith(f"/datasets/{REPO}")


@pytest.mark.slow
def test_publishing_unchanged_results_again_makes_no_commit(hub, results: Path):
    first = bench.publish("tiny", REPO, results=results)
    again = bench.publish("tiny", REPO, results=results)
    assert first.dataset.changed and not again.dataset.changed
    assert again.dataset.commit == first.dataset.commit
    assert len(hub.commits("dataset", REPO)) == 1
    assert len(hub.calls("POST", f"/api/datasets/{REPO}/commit/main")) == 1  # asked what changed, sent nothing
    assert len(hub.calls("POST", f"/api/datasets/{REPO}/preupload/main")) == 2


@pytest.mark.slow
def test_files_bench_wrote_before_and_no_longer_writes_are_deleted_and_others_kept(hub, results: Path):
    bench.publish("tiny", REPO, results=results)
    repo = hub.repo("dataset", REPO)
    repo.files["report/plots/gone.png"] = b"an old plot"
    repo.files["notes.md"] = b"the user's own file"
    again = bench.publish("tiny", REPO, results=results)
    assert again.dataset.changed and again.dataset.deleted == ("report/plots/gone.png",)
    assert "report/plots/gone.png" not in repo.files and repo.files["notes.md"] == b"the user's own file"
    assert hub.commits("dataset", REPO)[-1]["files"] == []  # nothing else changed: only the deletion


@pytest.mark.slow
def test_a_bare_name_goes_under_the_tokens_user_and_private_is_private(hub, results: Path):
    done = bench.publish("tiny", "bench-tiny", results=results, private=True)
    assert done.dataset.repo_id == REPO
    assert hub.calls("GET", "/api/whoami-v2")
    assert hub.repo("dataset", REPO).private


@pytest.mark.slow
def test_models_go_to_model_repos_with_a_model_index_card(hub, results: Path):
    done = bench.publish("tiny", REPO, results=results, models=True)
    (model,) = done.models
    assert model.repo_id == "tester/bench-tiny-tiny-roberta-128-seed0" and model.repo_type == "model"
    repo = hub.repo("model", model.repo_id)
    assert {"README.md", "model.safetensors", "config.json"} <= set(repo.files)
    assert "optimizer.pt" not in repo.files
    text = repo.files["README.md"].decode()
    meta = front_matter(text)
    assert meta["pipeline_tag"] == "text-classification" and meta["library_name"] == "transformers"
    index = meta["model-index"]
    # the Hub's format: jsonschema against the documented model-index, and huggingface_hub's own round trip
    jsonschema.validate(index, json.loads(MODEL_INDEX_SCHEMA.read_text()))
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results

    name, results_read = model_index_to_eval_results(index)
    assert eval_results_to_model_index(name, results_read) == index
    record = ResultStore(results).read(RunKey("tiny", "tiny-roberta-128", 0))
    accuracy = next(r for r in results_read if r.metric_type == "accuracy")
    assert accuracy.metric_value == pytest.approx(record.accuracy)
    assert accuracy.dataset_split == "test" and accuracy.task_type == "text-classification"
    assert {r.metric_type for r in results_read} == {"accuracy", "f1", "precision", "recall"}
    assert ModelCard(text).data.eval_results[0].metric_value == accuracy.metric_value
    # the fake Hub validated the card as the Hub does before taking the commit
    assert hub.calls("POST", "/api/validate-yaml")
    again = bench.publish("tiny", REPO, results=results, models=True)
    assert not again.models[0].changed and len(repo.commits) == 1


def test_the_model_index_schema_refuses_what_the_hub_would():
    good = [
        {
            "name": "m",
            "results": [
                {
                    "task": {"type": "text-classification"},
                    "dataset": {"type": "d", "name": "D"},
                    "metrics": [{"type": "accuracy", "value": 0.9}],
                }
            ],
        }
    ]
    assert validate_metadata("---\n" + yaml.safe_dump({"model-index": good}) + "---\n", "model") == []
    bad = json.loads(json.dumps(good))
    del bad[0]["results"][0]["metrics"][0]["value"]
    bad[0]["results"][0]["dataset"].pop("name")
    errors = validate_metadata("---\n" + yaml.safe_dump({"model-index": bad}) + "---\n", "model")
    assert any("'value'" in e for e in errors) and any("'name'" in e for e in errors)


@pytest.mark.slow
def test_without_a_kept_model_models_says_how_to_keep_one(hub, tmp_path: Path, results: Path):
    import shutil

    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    shutil.rmtree(ResultStore(copy).model_dir(RunKey("tiny", "tiny-roberta-128", 0)))
    with pytest.raises(BenchError, match="--keep-model"):
        bench.publish("tiny", REPO, results=copy, models=True)
    assert not hub.requests  # refused before asking the Hub anything


def test_an_unknown_suite_is_refused_before_any_request(hub, tmp_path: Path):
    with pytest.raises(BenchError, match="no finished runs of suite 'nope'"):
        bench.publish("nope", REPO, results=tmp_path)
    assert not hub.requests


@pytest.mark.slow
def test_a_refused_token_is_one_line_saying_where_the_token_comes_from(hub, results: Path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(BenchError, match="HF_TOKEN"):
        bench.publish("tiny", "bench-tiny", results=results)
    with pytest.raises(BenchError, match="refused the push"):
        bench.publish("tiny", REPO, results=results)
    assert not hub.repos


def test_offline_mode_is_refused_in_one_line(hub, results: Path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(BenchError, match="HF_HUB_OFFLINE"):
        bench.publish("tiny", REPO, results=results)


@pytest.mark.slow
def test_the_command_prints_each_repo_and_whether_it_changed(hub, results: Path, capsys):
    argv = ["publish", "--suite", "tiny", "--repo", REPO, "--results", str(results), "--models"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"dataset {REPO}: {hub.url}/datasets/{REPO} (commit " in out
    assert "model tester/bench-tiny-tiny-roberta-128-seed0" in out
    assert main(argv) == 0
    assert capsys.readouterr().out.count("unchanged, no new commit") == 2
    assert main(["publish", "--suite", "nope", "--repo", REPO, "--results", str(results)]) == 2
    assert "bench: error: no finished runs" in capsys.readouterr().err


def test_keep_model_is_a_suite_key_and_a_run_flag_and_not_part_of_the_key():
    from bench.cli import build_parser
    from bench.cli.run import options
    from bench.data.suite import suite_from_dict
    from bench.results.key import configuration_key

    args = build_parser().parse_args(["run", "--suite", "demo", "--keep-model"])
    assert options(args).overrides == {"keep_model": True}
    assert options(build_parser().parse_args(["run", "--suite", "demo"])).overrides == {}
    base = {"data": {"source": "synthetic"}, "runners": ["tiny"]}
    kept = suite_from_dict({**base, "keep_model": True})
    assert kept.keep_model and not suite_from_dict(base).keep_model
    with pytest.raises(BenchError, match="keep_model must be true or false"):
        suite_from_dict({**base, "keep_model": "yes"})
    plain = {"class": "Tiny"}
    assert configuration_key(dataclasses.asdict(kept), plain, None) == configuration_key(
        dataclasses.asdict(suite_from_dict(base)), plain, None
    )
