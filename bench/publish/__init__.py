"""`bench publish`: a suite's results on the Hugging Face Hub. The records become a dataset repo (one row per run,
with their JSON Schema, the report and leaderboard rebuilt from them, a dataset card); with `models`, each model a
run kept (`keep_model`) becomes a model repo whose card's `model-index` holds its test results.

Reads results through the store and renders through the report; like the report, it never imports torch,
transformers or the training code, so a results folder copied off a cluster publishes from a laptop.
"""

from __future__ import annotations

import sys
import tempfile
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError
from bench.publish.hub import Pushed

__all__ = ["Published", "Pushed", "publish"]


@dataclass(frozen=True)
class Published:
    """What `publish` pushed: the dataset repo, the model repos, and what was left out (one line each)."""

    dataset: Pushed
    models: tuple[Pushed, ...] = ()
    problems: tuple[str, ...] = ()


def publish(
    suite: str,
    repo: str,
    *,
    results: str | Path | Sequence[str | Path] = "results",
    private: bool = False,
    models: bool = False,
    token: str | None = None,
    gpu_price: float | None = None,
    currency: str = "USD",
    warn: Callable[[str], None] | None = None,
) -> Published:
    """Push a suite's records, report and leaderboard to the dataset repo `repo`, and with `models` its kept models.

    Args:
        suite: The suite (its folder under `results`).
        repo: The dataset repo, `user/name` (a name alone goes under the token's user).
        results: The results folder, or several (the first holds the records and kept models published).
        private: Create missing repos private (an existing repo keeps its visibility).
        models: Also push each model a run kept (`bench run --keep-model`), to `<repo>-<runner>-seed<k>`.
        token: A Hub token; default `HF_TOKEN`, else the one `hf auth login` stored.
        gpu_price, currency: The report's budget prices, as for `bench.report`.
        warn: Called with each line the console should show too.

    Returns:
        `Published`: the repos, the commit each is at and whether this call made it (False: nothing had changed).

    Raises:
        BenchError: No finished runs, no kept model with `models`, no token, offline mode, or the Hub refused.
    """
    from bench.publish import hub, stage
    from bench.results.store import ResultStore

    dirs = [Path(results)] if isinstance(results, str | Path) else [Path(r) for r in results]
    stores = [ResultStore(d) for d in dirs]
    records = stage.suite_records(stores[0], suite)  # before any request: a typo costs no round trip
    kept, problems = stage.kept_models(stores[0], records) if models else ([], [])
    if models and not kept:
        raise BenchError(
            f"no kept models of suite '{suite}' under {dirs[0]}"
            + (f" ({problems[0]})" if problems else "; run it with `bench run --keep-model` first")
        )
    api = hub.client(token)
    repo_id = repo if "/" in repo else f"{hub.namespace(api)}/{repo}"
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        folder = Path(tmp) / "dataset"
        stage.stage_dataset(stores, suite, folder, repo_id, gpu_price, currency, warn)
        dataset = hub.push(api, repo_id, "dataset", folder, stage.OWNED, private, f"bench publish: suite {suite}")
        pushed = []
        for record, model_dir in kept:
            model_repo = stage.model_repo_id(repo_id, record)
            target = Path(tmp) / "models" / model_repo.replace("/", "--")
            stage.stage_model(record, model_dir, target, model_repo, repo_id)
            message = f"bench publish: {suite} {record.runner} seed {record.seed}"
            pushed.append(hub.push(api, model_repo, "model", target, ("",), private, message))
    return Published(dataset, tuple(pushed), tuple(problems))


class _CallablePackage(types.ModuleType):
    """As `bench.report`: Python sets `bench.publish` to this package once anything imports it, so the package
    itself is the API's `bench.publish(...)`."""

    __call__ = staticmethod(publish)


sys.modules[__name__].__class__ = _CallablePackage
