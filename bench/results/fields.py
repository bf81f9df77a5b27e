"""What the rest of bench derives from a record's declaration (`bench/results/schema.py`): its field names, table
columns, numeric/text split, GPU-only fields and display names. Pure Python over the dataclass metadata.
"""

# No `from __future__ import annotations`: field types stay real types, so kinds (number or text) derive from them.

import dataclasses
import types
import typing
from typing import Any


def _base_type(tp: Any) -> Any:
    """`float | None` -> float; a plain type stays itself."""
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else object
    return tp


def fields_of(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.name != "facts"]


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields_of(cls))


def table_columns(cls: type) -> list[str]:
    """The columns of the derived table (results.csv, profile.csv), in declaration order."""
    return [f.name for f in fields_of(cls) if f.metadata["table"]]


def scalar_fields(cls: type) -> tuple[str, ...]:
    """Fields holding one number, string or flag (not a list or mapping): what becomes a table column."""
    return tuple(f.name for f in fields_of(cls) if _base_type(f.type) in (int, float, str, bool))


def integer_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields_of(cls) if _base_type(f.type) is int)


def numeric_fields(cls: type) -> tuple[str, ...]:
    """Measurements that may be averaged: numbers that do not identify the record."""
    return tuple(f.name for f in fields_of(cls) if _base_type(f.type) in (int, float) and not f.metadata["key"])


def text_fields(cls: type) -> tuple[str, ...]:
    """Fields read as they are (strings and flags), never converted to numbers."""
    return tuple(f.name for f in fields_of(cls) if _base_type(f.type) in (str, bool))


def gpu_fields(cls: type) -> tuple[str, ...]:
    """Fields only a GPU can measure: None on a CPU, never 0."""
    return tuple(f.name for f in fields_of(cls) if f.metadata["gpu"])


def display_names(cls: type, names: typing.Iterable[str]) -> dict[str, str]:
    """Field -> header for a printed table (its `short` name, else the field name)."""
    by_name = {f.name: f for f in fields_of(cls)}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise KeyError(f"not record fields of {cls.__name__}: {', '.join(unknown)}")
    return {n: by_name[n].metadata["short"] or n for n in names}


def describe_fields(cls: type) -> list[dict[str, Any]]:
    """Name, unit, help and kind of every field: the record documented from its declaration."""
    return [
        {
            "name": f.name,
            "unit": f.metadata["unit"],
            "help": f.metadata["help"],
            "type": getattr(_base_type(f.type), "__name__", "any"),
        }
        for f in fields_of(cls)
    ]
