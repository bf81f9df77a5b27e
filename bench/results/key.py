"""What a run is, stated once: its configuration key, the settings that change its result.

Two runs of one (suite, runner, seed) are the same run exactly when their keys match (`differences` is empty): a
finished record is reused, a checkpoint resumed. The key holds

    data       where the documents come from, always: `origin` (hub, files or synthetic: what they were read from,
               so a hub suite rerun with `--data-dir` is another run) with the hub id and revision, the files'
               content hashes, or the synthetic generator's parameters; the text, label and id columns, the label
               mapping and the splits' names
    limit      `--limit`, the documents kept for training and validation
    protocol   every protocol setting except those that only change how the work is done (`NOT_IN_KEY`), with
               `mixed_precision` resolved for the device the run trains on (fp32, bf16 or fp16, never `auto`)
    runner     the runner's class and parameters (a pinned checkpoint `revision` among them)

and nothing else: not the suite's description, file path or published references, not `--data-dir`'s spelling
(only what the files hold), not the trackers, not the micro-batch (the effective batch is the protocol's).

Pure Python over plain mappings (`bench.config.to_dict` of a suite), so that a record read anywhere can be compared
and an old record's key rebuilt from the config it stored (`bench.results.migrations`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# 2: data.origin always present; protocol.mixed_precision resolved (fp32 | bf16 | fp16). `upgrade` reads a 1 key
KEY_VERSION = 2
ORIGINS = ("hub", "files", "synthetic")
PRECISIONS = ("fp32", "bf16", "fp16")  # what `mixed_precision` is in a key: what the run computes in
# protocol settings that change how a run is computed, not what it computes: the micro-batch (and so the evaluation
# batch and activation checkpointing) is sized to the device while the effective batch stays the suite's, and the
# throughput warm-up only decides which steps are timed; compiling runs the same model through other kernels
NOT_IN_KEY = frozenset(
    {"per_device_batch_size", "eval_batch_size", "gradient_checkpointing", "throughput_warmup_steps", "compile"}
)
DATA_FIELDS = ("source", "path", "name", "revision", "synthetic", "text_column", "label_column", "id_column",
               "label_names", "positive_label", "train_split", "test_split", "validation_split", "reverse_paragraphs",
               "labels_file")  # fmt: skip
# a multi-label suite's settings; in the key only for such a suite, so that single-label keys (and their digests)
# stay what they were before multi-label suites existed
MULTILABEL_FIELDS = ("task", "labels", "allow_empty_labels")
# how a leaf of the key is named when it differs (everything else: its dotted path)
_NAMES = {"limit": "--limit", "data.files": "data files", "data.origin": "data origin"}


def configuration_key(
    suite: Mapping[str, Any],
    runner: Mapping[str, Any],
    limit: int | None,
    file_hashes: Mapping[str, str] | None = None,
    precision: str | None = None,
) -> dict[str, Any]:
    """The configuration key of a run, a JSON-ready mapping.

    Args:
        suite: The suite as a plain mapping (`bench.config.to_dict(SuiteConfig)`).
        runner: The runner's class and parameters: `{"class": ..., **runner.params()}`.
        limit: `--limit`, or None.
        file_hashes: split -> sha256 of the file its documents are read from, for data read from files (from the
            suite or `--data-dir`); None where the data is not read from files, or where the hashes were never
            recorded (an old record): then the key has no `files` entry and cannot differ there. The data's
            `origin` is "files" where they are given, else the suite's source.
        precision: What the run computes in (`PRECISIONS`), resolved for its device (`bench.host.resolved_precision`):
            replaces the protocol's `mixed_precision`, so that an `auto` run on a CPU (fp32) and on a GPU (bf16) are
            two runs. None keeps the protocol's setting as it is (a key rebuilt from an old record's config).
    """
    data = suite.get("data") or {}
    key_data = {name: _plain(data.get(name)) for name in DATA_FIELDS}
    if data.get("task", "single_label") != "single_label":
        key_data.update({name: _plain(data.get(name)) for name in MULTILABEL_FIELDS})
    key_data["origin"] = "files" if file_hashes is not None else data.get("source")
    if file_hashes is not None:
        key_data["files"] = dict(sorted(file_hashes.items()))
    protocol = {name: value for name, value in sorted((suite.get("protocol") or {}).items()) if name not in NOT_IN_KEY}
    if precision is not None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        protocol["mixed_precision"] = precision
    return {
        "version": KEY_VERSION,
        "data": key_data,
        "limit": limit,
        "protocol": protocol,
        "runner": {name: _plain(value) for name, value in sorted(runner.items()) if name != "name"},
    }


def upgrade(key: Mapping[str, Any], origin: str | None = None, precision: str | None = None) -> dict[str, Any]:
    """`key` in the current layout (a new dict; a current key is returned as it is). A version 1 key (records of
    schema 3, checkpoint folders of that bench) gets

    - `data.origin`: `origin` where the caller knows it (a record's `config.data_dir`), else "files" where the key
      holds file hashes (bench 1 hashed every file it read), else the suite's source;
    - `mixed_precision`: `precision` where the caller knows what the run computed in (a record's own
      `mixed_precision`), else "fp32" for `no`; an `auto`, `bf16` or `fp16` of unknown device stays as it was, so it
      matches no current key: such a run is not reused, and its checkpoints are kept aside, never resumed.
    """
    if key.get("version", 1) >= KEY_VERSION:
        return dict(key)
    data = dict(key.get("data") or {})
    data.setdefault("origin", origin or ("files" if "files" in data else data.get("source")))
    protocol = dict(key.get("protocol") or {})
    if precision is None and protocol.get("mixed_precision") == "no":
        precision = "fp32"
    if precision is not None:
        protocol["mixed_precision"] = precision
    return {**key, "version": KEY_VERSION, "data": data, "protocol": protocol}


def from_config(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The version 1 key of the `config` an old record or checkpoint folder stored (suite, runner, --limit,
    data_dir), as bench then built it: without file hashes (they were not stored). None where the config lacks
    them. `upgrade(key, config_origin(config))` completes it."""
    suite, runner = config.get("suite"), config.get("runner")
    if not (isinstance(suite, Mapping) and isinstance(suite.get("data"), Mapping) and isinstance(runner, Mapping)):
        return None
    key = configuration_key(suite, {**runner, "class": runner.get("class")}, config.get("limit"))
    del key["data"]["origin"]
    return {**key, "version": 1}


def config_origin(config: Mapping[str, Any] | None) -> str | None:
    """Where a run's documents came from, as its stored `config` says: "files" for a `--data-dir` run, else None
    (the key's own fields say)."""
    return "files" if isinstance(config, Mapping) and config.get("data_dir") else None


def digest(key: Mapping[str, Any]) -> str:
    """A short, stable name of `key` (16 hex digits of its sha256), for tables and folder notes."""
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def differences(stored: Mapping[str, Any] | None, wanted: Mapping[str, Any]) -> list[str]:
    """What differs between the key a run was made with (`stored`) and the one asked for now, one phrase per
    setting (`epochs 1 -> 5`, `--limit 600 -> none`); empty when they are the same run.

    A setting one of the two keys does not hold cannot differ: it was added by a later bench (the older run used
    what is now its default) or never recorded (the content hashes of an old record's files). The data's origin is
    always held (`upgrade` gives an older key one), so data from the hub and from files never match, either way. A
    run with no key at all differs in everything: it cannot be shown to be the same run.
    """
    if stored is None:
        return ["no configuration key recorded"]
    found: list[str] = []
    _compare(upgrade(stored), upgrade(wanted), "", found)
    return found


def _compare(old: Any, new: Any, path: str, found: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        if path == "data.files" and old.keys() != new.keys():
            found.append(f"data files {_show(sorted(old))} -> {_show(sorted(new))}")
            return
        for name in sorted(old.keys() & new.keys()):
            if path == "" and name == "version":
                continue
            _compare(old[name], new[name], f"{path}.{name}" if path else name, found)
        return
    if _plain(old) != _plain(new):
        if path.startswith("data.files."):
            found.append(f"the {path.removeprefix('data.files.')} file's content changed")
        else:
            found.append(f"{_label(path)} {_show(old)} -> {_show(new)}")


def _label(path: str) -> str:
    if path in _NAMES:
        return _NAMES[path]
    if path.startswith("protocol."):
        return path.removeprefix("protocol.")
    if path.startswith("runner."):
        return f"runner {path.removeprefix('runner.')}"
    return path


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def _plain(value: Any) -> Any:
    """Tuples as lists and mappings with sorted keys: a key read back from JSON equals the one built in memory."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    return value
