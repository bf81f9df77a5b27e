"""Documents stored as lists of paragraphs (LexGLUE's ECtHR facts) joined into one text per document."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datasets import Dataset

PARAGRAPH_SEPARATOR = "\n"  # what LexGLUE's own experiments join ECtHR paragraphs with


def join_paragraphs(ds: Dataset, column: str) -> Dataset:
    """`ds` with a `column` of lists of strings joined into one string per row (in order, by newlines); any other
    column is returned as it is, for `_check_texts` to judge."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from datasets import Value

    kind = ds.features[column]
    inner = getattr(kind, "feature", None)  # List / Sequence of Value("string")
    if getattr(inner, "dtype", None) not in ("string", "large_string"):
        return ds
    lists = ds.with_format("arrow")[column]
    joined = pc.binary_join(pc.fill_null(lists, pa.scalar([], lists.type)), PARAGRAPH_SEPARATOR)
    return ds.remove_columns(column).add_column(column, joined.to_pylist(), feature=Value("string"))
