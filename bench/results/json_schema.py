"""The run and profile records as JSON Schema (draft 2020-12), generated from `bench.results.schema` and shipped in
the package (`run-record.schema.json`, `profile-record.schema.json` beside this file), so tools outside bench can
read and validate `results/`. Types, help text and units come from the field declarations.

After changing a field, regenerate the shipped files with `python -m bench.results.json_schema`; a test fails while
they differ from what this module generates.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

from bench.results.schema import SCHEMA_VERSION, ProfileRecord, RunRecord, _base_type, fields_of

FILES = {RunRecord: "run-record.schema.json", ProfileRecord: "profile-record.schema.json"}
JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array", dict: "object"}


def _nullable(tp: Any) -> bool:
    union = isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union
    return union and type(None) in typing.get_args(tp)


def json_schema(cls: type) -> dict[str, Any]:
    """The JSON Schema of a record class (`RunRecord` or `ProfileRecord`) at the current `SCHEMA_VERSION`.

    Every declared field is required (a record always has all of them; None where not measured). Annotations beyond
    JSON Schema's own: `x-unit`, `x-table-column` (a column of results.csv / profile.csv), `x-gpu-only` (None on a
    CPU, never 0). Runner facts are flattened into run records, so a run record may hold further properties.
    """
    properties: dict[str, Any] = {}
    for f in fields_of(cls):
        kind = JSON_TYPES[_base_type(f.type)]
        prop: dict[str, Any] = {
            "type": [kind, "null"] if _nullable(f.type) else kind,
            "description": f.metadata["help"],
        }
        if f.metadata["unit"]:
            prop["x-unit"] = f.metadata["unit"]
        if f.metadata["table"]:
            prop["x-table-column"] = True
        if f.metadata["gpu"]:
            prop["x-gpu-only"] = True
        properties[f.name] = prop
    properties["schema_version"]["const"] = SCHEMA_VERSION
    if "kind" in properties:
        properties["kind"]["const"] = "profile"
    facts = "facts" in {f.name for f in dataclasses.fields(cls)}
    doc = " ".join((cls.__doc__ or "").split())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:bench:{FILES[cls].removesuffix('.schema.json')}:v{SCHEMA_VERSION}",
        "title": f"bench {cls.__name__}, schema_version {SCHEMA_VERSION}",
        "description": doc + (" Further properties are runner facts (e.g. BigBird's attention type)." if facts else ""),
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": facts,
    }


def render(cls: type) -> str:
    """The shipped file's text."""
    return json.dumps(json_schema(cls), indent=2, ensure_ascii=False) + "\n"


def shipped_path(cls: type) -> Path:
    """Where the package keeps the schema of `cls`."""
    return Path(str(resources.files("bench.results") / FILES[cls]))


def write_all() -> list[Path]:
    """(Re)write every shipped schema file; their paths."""
    paths = []
    for cls in FILES:
        path = shipped_path(cls)
        path.write_text(render(cls), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_all():
        print(f"wrote {written}")
