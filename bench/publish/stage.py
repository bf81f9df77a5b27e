"""What `bench publish` pushes, laid out in a folder first, from the results store alone: a suite's records as a
dataset (one JSON line per run, sorted, with the record's JSON Schema), its report and leaderboard rebuilt from them,
and its dataset card; a kept model's files with its model card. The same records give the same bytes, so a
re-publish of unchanged results changes no file."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from bench.errors import BenchError
from bench.publish import cards
from bench.results.key import differences
from bench.results.schema import RunRecord
from bench.results.store import ResultStore, read_json, record_key

SCHEMA = "run-record.schema.json"
REPORT = "report"
LEADERBOARD = ("leaderboard.md", "leaderboard.html", "leaderboard.csv")
# the files and folders of a dataset repo bench writes; on re-publish, others (a user's own) are left alone
OWNED = (cards.RECORDS, SCHEMA, f"{REPORT}/", *LEADERBOARD, "README.md")
_MODEL_CARD_FILE = "README.md"
_FINGERPRINT = "bench-run.json"  # bench.train.checkpoints.FINGERPRINT: the configuration key the weights belong to


def suite_records(store: ResultStore, suite: str) -> list[RunRecord]:
    """The suite's run records, finished or not (a run that ran out of memory is a result too; tuning grid points
    are not the suite's runs), by runner and seed; a BenchError where none finished."""
    records = [r for r in store.records(suite) if not r.tune_point]
    if not any(r.ok for r in records):
        known = ", ".join(store.suites()) or "none"
        raise BenchError(
            f"no finished runs of suite '{suite}' under {store.root} (suites there: {known}); run it first"
        )
    return sorted(records, key=lambda r: (r.runner, r.seed))


def stage_dataset(
    stores: Sequence[ResultStore],
    suite: str,
    folder: Path,
    repo_id: str,
    gpu_price: float | None = None,
    currency: str = "USD",
    warn: Callable[[str], None] | None = None,
) -> list[RunRecord]:
    """Write the dataset repo's files into `folder`; the records published."""
    from bench.report import build_report
    from bench.report.budget import Pricing
    from bench.report.leaderboard import write as write_leaderboard

    records = suite_records(stores[0], suite)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r.to_dict(), sort_keys=True, default=str) for r in records]
    (folder / cards.RECORDS).write_text("\n".join(lines) + "\n", encoding="utf-8")
    schema = resources.files("bench.results") / SCHEMA
    (folder / SCHEMA).write_text(schema.read_text(encoding="utf-8"), encoding="utf-8")
    roots = [s.root for s in stores]
    report_md = build_report(roots, suite, folder / REPORT, warn=warn, gpu_price=gpu_price, currency=currency)
    write_leaderboard(roots, folder, [suite], Pricing(gpu_price, currency), warn)
    verdict = report_md.with_name("verdict.md")
    text = verdict.read_text(encoding="utf-8") if verdict.exists() else None
    cards.dataset_card(suite, records, repo_id, text).save(folder / "README.md")
    return records


def model_repo_id(dataset_repo: str, record: RunRecord) -> str:
    """The model repo of a kept run: `<namespace>/<name>-<runner>-seed<k>` (the store's run label; characters the Hub refuses as '-')."""
    namespace, _, name = dataset_repo.rpartition("/")
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{name}-{record_key(record).label}").strip("-.")[:96]
    return f"{namespace}/{tail}" if namespace else tail


def kept_models(store: ResultStore, records: Sequence[RunRecord]) -> tuple[list[tuple[RunRecord, Path]], list[str]]:
    """The kept model of each record that has one of its own configuration (a model kept by an earlier run of
    another configuration is stale: left out, and said so), and the lines saying what was left out."""
    found, problems = [], []
    for record in (r for r in records if r.ok):
        folder = store.model_dir(record_key(record))
        if not folder.is_dir():
            continue
        if record.init == "random":
            problems.append(f"{folder}: a random-init run (cost only: its accuracy says nothing) is not published")
            continue
        stored = read_json(folder / _FINGERPRINT)
        key = stored.get("key") if isinstance(stored, dict) else None
        if record.config_key is not None and (key is None or differences(key, record.config_key)):
            problems.append(
                f"{folder} is the model of another configuration than the record's; re-run with --keep-model"
            )
            continue
        found.append((record, folder))
    return found, problems


def stage_model(record: RunRecord, model_dir: Path, folder: Path, repo_id: str, dataset_repo: str | None) -> None:
    """Write a kept model's repo into `folder`: its files as kept, and its model card (README.md)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(model_dir.iterdir()):
        if path.is_file() and path.name != _MODEL_CARD_FILE:
            shutil.copy2(path, folder / path.name)
    # a transformers model saves its config.json; a model of bench's own (the chunk runners') only its weights
    library = "transformers" if (model_dir / "config.json").is_file() else None
    cards.model_card(record, repo_id, dataset_repo, library).save(folder / _MODEL_CARD_FILE)
