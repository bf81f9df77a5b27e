"""The cards of what `bench publish` pushes, built with huggingface_hub's own card classes: the dataset card of a
suite's records, and the model card of a kept model, whose `model-index` carries its test results in the Hub's
format (`EvalResult`: task, dataset, split, metrics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.results.schema import RunRecord
from bench.tasks import task_for

RECORDS = "data/runs.jsonl"  # the dataset's one file of records, one JSON object per run
TASK_TYPE = "text-classification"  # the Hub's task id, for single-label and multi-label suites alike


def suite_facts(record: RunRecord) -> dict[str, Any]:
    """The suite's data as its record stored it: source, hub id (`path`), config (`name`), revision, task."""
    suite = (record.config or {}).get("suite") or {}
    data = suite.get("data") or {}
    return {"description": suite.get("description") or "", **data, "task": record.task or data.get("task")}


def dataset_identity(record: RunRecord) -> dict[str, str | None]:
    """The `dataset` of an eval result: a hub dataset by its id (with config and revision), else the suite's name
    (local files or synthetic data have no Hub id)."""
    data = suite_facts(record)
    if data.get("source") == "hub" and data.get("path"):
        return {
            "type": data["path"],
            "name": data["path"],
            "config": data.get("name"),
            "revision": data.get("revision"),
        }
    name = f"{record.suite} (bench suite, {data.get('source') or 'local'} data)"
    return {"type": record.suite, "name": name, "config": None, "revision": None}


def eval_results(record: RunRecord) -> list[Any]:
    """The record's test metrics as huggingface_hub `EvalResult`s (one per metric the record has)."""
    from huggingface_hub import EvalResult

    dataset = dataset_identity(record)
    task = task_for(record.task)  # its metrics as the Hub names them
    average = f" ({record.f1_average}{', positive: ' + record.positive_label if record.positive_label else ''})"
    results = []
    for name, metric_type, pretty in task.hub_metrics:
        value = getattr(record, name)
        if value is None:
            continue
        suffix = average if name in ("f1", "precision", "recall") and record.f1_average else ""
        results.append(
            EvalResult(
                task_type=TASK_TYPE,
                task_name=task.hub_task_name,
                dataset_type=dataset["type"],
                dataset_name=dataset["name"],
                dataset_config=dataset["config"],
                dataset_revision=dataset["revision"],
                dataset_split="test",
                metric_type=metric_type,
                metric_name=f"Test {pretty}{suffix}",
                metric_value=round(float(value), 6),
            )
        )
    return results


def model_card(
    record: RunRecord, repo_id: str, dataset_repo: str | None = None, library: str | None = "transformers"
) -> Any:
    """The model card of a kept model: metadata (base model, `library` where one loads it, task, the suite's
    dataset) and a `model-index` with the run's test results; the body says how it was trained and where its
    record is."""
    from huggingface_hub import ModelCard, ModelCardData

    data = suite_facts(record)
    results = eval_results(record)
    card_data = ModelCardData(
        model_name=repo_id.split("/")[-1],
        base_model=record.model_id if record.init == "pretrained" and record.model_id else None,
        library_name=library,
        pipeline_tag=TASK_TYPE,
        tags=["bench", "text-classification", record.suite],
        datasets=[data["path"]] if data.get("source") == "hub" and data.get("path") else None,
        metrics=sorted({r.metric_type for r in results}) or None,
        eval_results=results or None,
    )
    lines = [f"# {repo_id.split('/')[-1]}", ""]
    lines += [
        f"The best checkpoint (chosen on validation, epoch {record.best_epoch}) of bench's `{record.runner}` runner, "
        f"seed {record.seed}, fine-tuned on suite `{record.suite}`"
        + (f" ({data['description']})" if data.get("description") else "")
        + ". Its test results are in the metadata above (`model-index`).",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in _facts(record).items() if v is not None),
        "",
        "Trained and evaluated by bench under the suite's protocol"
        + (f"; configuration digest `{record.config_digest}`." if record.config_digest else "."),
    ]
    if dataset_repo:
        lines += ["", f"The run's full record is a row of the dataset [{dataset_repo}](../../datasets/{dataset_repo})."]
    return ModelCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n")


def _facts(record: RunRecord) -> dict[str, Any]:
    return {
        "checkpoint": record.model_id,
        "max length (tokens)": record.max_length,
        "truncation": record.truncation,
        "epochs trained": record.n_epochs,
        "training documents": record.n_train,
        "test documents": record.n_test,
        "labels": ", ".join(record.label_names or []) or None,
        "training time (s)": None if record.train_s is None else round(record.train_s, 1),
        "device": record.gpu_name or record.device,
        "training energy (kWh)": None if record.energy_kwh is None else f"{record.energy_kwh:.4g}",
        "training CO2eq (kg)": None if record.co2eq_kg is None else f"{record.co2eq_kg:.4g} ({record.energy_method})",
    }


def dataset_card(suite: str, records: Sequence[RunRecord], repo_id: str, verdict: str | None) -> Any:
    """The dataset card of a suite's records: metadata (the records file as the `runs` split, tags) and a body
    saying what is in the repo and how to read it."""
    from huggingface_hub import DatasetCard, DatasetCardData

    data = suite_facts(next(r for r in records if r.ok))
    runners = sorted({r.runner for r in records})
    unfinished = sum(not r.ok for r in records)
    card_data = DatasetCardData(
        pretty_name=f"bench results: {suite}",
        tags=["bench", "benchmark", "text-classification", "evaluation"],
        configs=[{"config_name": "default", "data_files": [{"split": "runs", "path": RECORDS}]}],
        source_datasets=[data["path"]] if data.get("source") == "hub" and data.get("path") else None,
        size_categories=["n<1K"] if len(records) < 1000 else None,
    )
    lines = [
        f"# bench results: {suite}",
        "",
        (data.get("description", "").strip().rstrip(".") or f"The runs of bench suite `{suite}`")
        + "."
        + f" {len(records)} run(s) of {len(runners)} runner(s): {', '.join(f'`{r}`' for r in runners)}"
        + (f"; {unfinished} did not finish (their `status` and `error` say why)." if unfinished else "."),
        "",
    ]
    if verdict:
        lines += ["## Verdict", "", verdict.strip(), ""]
    lines += [
        "## Files",
        "",
        f"- `{RECORDS}`: one row per run (suite, runner, seed), finished or not (`status`): quality on test, cost, "
        "configuration and environment; the columns are described by `run-record.schema.json` (JSON Schema, "
        "draft 2020-12).",
        "- `report/report.md` and `report/report.html`: the suite's report (tables, plots, verdict), rebuilt from "
        "these records.",
        "- `leaderboard.md`, `leaderboard.html`, `leaderboard.csv`: the runners ranked by the suite's main metric.",
        "",
        "## Use",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'runs = load_dataset("{repo_id}", split="runs")',
        "```",
        "",
        "Published by bench (`bench publish`).",
    ]
    return DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n")
