"""The tables derived from records (`results.csv`, `profile.csv`, `bench.load_results`): one row per record, columns
from the record schema, integers kept integers beside missing values."""

from __future__ import annotations

from typing import Any

from bench.results.schema import (
    ProfileRecord,
    Record,
    RunRecord,
    field_names,
    integer_fields,
    scalar_fields,
    table_columns,
    text_fields,
)

TABLE_COLUMNS = table_columns(RunRecord)
PROFILE_COLUMNS = table_columns(ProfileRecord)


def _dicts(records: list[Record] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r.to_dict() if isinstance(r, Record) else r for r in records]


def _frame(records: list[dict[str, Any]], cls: type, columns: list[str]):
    """One row per record with `columns`; integers stay integers beside missing values, None stays missing."""
    import pandas as pd

    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in records], columns=columns)
    integers, texts, scalars = set(integer_fields(cls)), set(text_fields(cls)), set(scalar_fields(cls))
    for column in columns:
        if column in integers:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
        elif column in scalars and column not in texts:  # None (not measurable) becomes NaN, shown as missing
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def records_frame(records: list[RunRecord] | list[dict[str, Any]]):
    """One row per run record: every declared field in declaration order (lists and mappings such as `config` and
    `epochs` as Python objects), then the runner facts any record has."""
    rows = _dicts(records)
    declared = list(field_names(RunRecord))
    facts = sorted({key for record in rows for key in record} - set(declared))
    return _frame(rows, RunRecord, declared + facts)


def run_table(records: list[RunRecord] | list[dict[str, Any]]):
    """The results table of `records`: columns `TABLE_COLUMNS`, sorted by runner and seed."""
    table = _frame(_dicts(records), RunRecord, TABLE_COLUMNS)
    return table.sort_values(["runner", "seed"], kind="stable").reset_index(drop=True) if len(table) else table


def profile_table(records: list[ProfileRecord] | list[dict[str, Any]]):
    """One row per profile record, columns `PROFILE_COLUMNS`, sorted by runner, mode, batch size and length."""
    frame = _frame(_dicts(records), ProfileRecord, PROFILE_COLUMNS)
    return frame.sort_values(["runner", "mode", "batch_size", "seq_len"], kind="stable").reset_index(drop=True)
