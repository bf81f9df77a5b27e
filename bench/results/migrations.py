"""Older records read as the current layout: one function per `schema_version` step (N -> N+1), applied in order
whenever a record is read, so a record written by an older bench is upgraded instead of refused or re-run.

A step fills what can be derived from the older record and leaves the rest None; after the last step every field
the current schema declares and the record still lacks gets its declared default (None, or 0 retries), so readers
see one layout. Pure Python, like the schema: the report reads records through it without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.errors import BenchError
from bench.results.key import PRECISIONS, config_origin, digest, from_config, upgrade
from bench.results.schema import SCHEMA_VERSION, ProfileRecord, RunRecord, fields_of

Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}  # version N -> the function that turns an N record into an N+1 record


def migration(version: int) -> Callable[[Migration], Migration]:
    """Register the step from `version` to `version + 1`."""

    def register(step: Migration) -> Migration:
        if version in MIGRATIONS:
            raise ValueError(f"two migrations from schema_version {version}")
        MIGRATIONS[version] = step
        return step

    return register


@migration(1)
def _positive_label(record: dict[str, Any]) -> dict[str, Any]:
    """Version 2 declares what version 1 records gained over time or never had: `positive_label`, training and
    test GPU memory, energy and power, the GPU's UUID, `nvml_scope`, `gpu_shared` and `segments`. Of these only the
    positive class can be derived: version 1 computed binary F1, precision and recall on label 1, so for two
    classes it is `label_names[1]`. The measurements stay None: a version 1 record never measured them."""
    names = record.get("label_names") or []
    if record.get("kind") != "profile" and record.get("positive_label") is None and len(names) == 2:
        record["positive_label"] = str(names[1])
    return record


@migration(2)
def _configuration_key(record: dict[str, Any]) -> dict[str, Any]:
    """Version 3 writes the run's configuration key into its record. A version 2 record stored everything the key
    is made of in its `config` (the resolved suite, the runner's class and parameters, --limit), except the content
    hashes of data files: its key has no `files` entry, so a rerun compares it on everything else."""
    config = record.get("config")
    if record.get("kind") == "profile" or not isinstance(config, dict):
        return record
    key = from_config(config)  # the key bench wrote then (version 1); the next step brings it up to date
    if key is not None:
        record["config_key"], record["config_digest"] = key, digest(key)
    return record


@migration(3)
def _key_origin_and_precision(record: dict[str, Any]) -> dict[str, Any]:
    """Version 4 keys what version 3 left out (key version 2): the data's origin, and the precision the run
    computed in instead of the protocol's `auto`. Both are derived, and this is what is assumed:

    - origin: "files" where the record's config names a `--data-dir` or its key holds file hashes, else the
      suite's source (hub or synthetic);
    - precision: the record's own `mixed_precision` (what the trainer used: `no` is fp32); a record without it
      (a failed try) is fp32 where it says it ran on a CPU, and keeps the protocol's setting otherwise, so that it
      matches no current key: it is run again rather than reused, its checkpoints kept aside.
    """
    key = record.get("config_key")
    if record.get("kind") == "profile" or not isinstance(key, dict):
        return record
    used = record.get("mixed_precision")
    precision = "fp32" if used == "no" else used if used in PRECISIONS else None
    if precision is None and record.get("device") == "cpu":
        precision = "fp32"
    key = upgrade(key, config_origin(record.get("config")), precision)
    record["config_key"], record["config_digest"] = key, digest(key)
    return record


def migrate(record: dict[str, Any], where: str = "record") -> dict[str, Any]:
    """`record` (a run or profile record as read from JSON) in the current layout; a new dict.

    Raises:
        BenchError: The record comes from a newer bench, or names a version no bench wrote.
    """
    version = record.get("schema_version", SCHEMA_VERSION)  # records before versioning did not exist; hand-made
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        newer = isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION
        fix = "upgrade bench to read it" if newer else "delete it or re-run that run"
        raise BenchError(f"{where} has schema_version {version!r}; this bench reads 1 to {SCHEMA_VERSION}: {fix}")
    out = dict(record)
    for step in range(version, SCHEMA_VERSION):
        out = MIGRATIONS[step](out)
        out["schema_version"] = step + 1
    cls = ProfileRecord if out.get("kind") == "profile" else RunRecord
    for f in fields_of(cls):
        out.setdefault(f.name, f.default)
    return out
