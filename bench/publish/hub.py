"""Pushing a staged folder to a Hub repo with huggingface_hub's client: create the repo where it is missing, then
one commit that adds every file and deletes the files bench wrote before that are gone now. huggingface_hub leaves
out every file whose content the Hub already has, and makes no commit when none is left: a re-publish of unchanged
results adds no commit. The endpoint is `HF_ENDPOINT` and the token `HF_TOKEN` or the one `hf auth login` stored,
read when the push starts."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError


@dataclass(frozen=True)
class Pushed:
    """One repo pushed: its id and type, its URL, the commit it is at, whether this push made that commit, the
    files it holds from bench and those this push deleted."""

    repo_id: str
    repo_type: str
    url: str
    commit: str | None
    changed: bool
    files: tuple[str, ...] = ()
    deleted: tuple[str, ...] = field(default_factory=tuple)


def client(token: str | None = None) -> Any:
    """huggingface_hub's `HfApi` at `HF_ENDPOINT` (read now, not when huggingface_hub was imported)."""
    import huggingface_hub.constants
    from huggingface_hub import HfApi

    if huggingface_hub.constants.is_offline_mode():
        raise BenchError("HF_HUB_OFFLINE is set: publishing needs the Hub; unset HF_HUB_OFFLINE to publish")
    return HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=token)


def namespace(api: Any) -> str:
    """The user the token belongs to (a repo given without a namespace goes there)."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        return api.whoami()["name"]
    except HfHubHTTPError as err:
        raise BenchError(
            f"the Hub refused the token ({_first_line(err)}); set HF_TOKEN or run `hf auth login`"
        ) from None
    except OSError as err:  # no connection
        raise BenchError(f"cannot reach the Hub at {api.endpoint} ({err})") from None


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def push(
    api: Any,
    repo_id: str,
    repo_type: str,
    folder: Path,
    owned: Sequence[str],
    private: bool = False,
    message: str = "bench publish",
) -> Pushed:
    """Push `folder` to the repo in one commit; remote files matching `owned` (paths, folders ending in '/', or ''
    for the whole repo) that the folder no longer has are deleted, the others left alone."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.errors import HfHubHTTPError

    local = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    try:
        url = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        before = api.repo_info(repo_id, repo_type=repo_type).sha
        remote = api.list_repo_files(repo_id, repo_type=repo_type)
        stale = sorted(p for p in remote if p not in local and any(_owned(p, o) for o in owned))
        operations = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=folder / p) for p in local]
        operations += [CommitOperationDelete(path_in_repo=p) for p in stale]
        info = api.create_commit(repo_id, operations, commit_message=message, repo_type=repo_type)
    except HfHubHTTPError as err:
        raise BenchError(f"the Hub refused the push to {repo_type} repo {repo_id}: {_first_line(err)}") from None
    except ValueError as err:  # the card's metadata refused by the Hub's validation
        raise BenchError(f"{repo_type} repo {repo_id}: {' '.join(str(err).split())}") from None
    changed = info.oid != before
    return Pushed(repo_id, repo_type, str(url), info.oid, changed, tuple(local), tuple(stale))


def _owned(path: str, owned: str) -> bool:
    return path.startswith(owned) if owned == "" or owned.endswith("/") else path == owned
