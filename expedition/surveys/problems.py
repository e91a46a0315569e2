"""Problems found in a survey file, as one Arrow table (never one Python object per row).

Each problem names the row (as a spreadsheet shows it, or the GeoJSON feature number), the column
as written in the file, the offending value, what was expected and why the row was stopped (an
``error``: the row goes to quarantine) or only flagged (a ``warning``: the row lands).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["PROBLEM_SCHEMA", "concat_problems", "describe", "empty_problems", "problems_at"]

PROBLEM_SCHEMA = pa.schema(
    [
        pa.field("row_index", pa.int64()),  # 0-based position in the parsed table (internal)
        pa.field("raw_row_number", pa.int64()),
        pa.field("issue_column", pa.string()),
        pa.field("issue_value", pa.string()),
        pa.field("issue_expected", pa.string()),
        pa.field("issue_reason", pa.string()),
        pa.field("issue_check", pa.string()),
        pa.field("issue_severity", pa.string()),
    ]
)


def empty_problems() -> pa.Table:
    return PROBLEM_SCHEMA.empty_table()


def problems_at(  # noqa: PLR0913
    mask: pa.Array | pa.ChunkedArray,
    row_numbers: pa.Array,
    *,
    column: str,
    values: pa.Array | pa.ChunkedArray | None,
    expected: str,
    reason: str | pa.Array,
    check: str,
    severity: str = "error",
    row_index: pa.Array | None = None,
) -> pa.Table:
    """One problem per row where ``mask`` is true (nulls count as false). Vectorised.

    ``row_index`` maps the positions of ``mask`` to rows of the parsed table when the arrays given
    are already a subset (default: the positions themselves)."""
    idx = pc.indices_nonzero(pc.fill_null(mask, False))
    n = len(idx)
    if n == 0:
        return empty_problems()
    if values is None:
        vals = pa.nulls(n, pa.string())
    else:
        vals = pc.take(values, idx)
        if not pa.types.is_string(vals.type):
            vals = pc.cast(vals, pa.string())
    reasons = pa.repeat(pa.scalar(reason, pa.string()), n) if isinstance(reason, str) else pc.take(reason, idx)
    return pa.Table.from_arrays(
        [
            pc.cast(idx if row_index is None else pc.take(row_index, idx), pa.int64()),
            pc.take(row_numbers, idx),
            pa.repeat(pa.scalar(column, pa.string()), n),
            _flat(vals),
            pa.repeat(pa.scalar(expected, pa.string()), n),
            _flat(reasons),
            pa.repeat(pa.scalar(check, pa.string()), n),
            pa.repeat(pa.scalar(severity, pa.string()), n),
        ],
        schema=PROBLEM_SCHEMA,
    )


def _flat(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def concat_problems(parts: list[pa.Table]) -> pa.Table:
    """All problems, ordered by row then column."""
    parts = [p for p in parts if p.num_rows]
    if not parts:
        return empty_problems()
    out = pa.concat_tables(parts)
    return out.sort_by([("row_index", "ascending"), ("issue_column", "ascending")])


def describe(problems: pa.Table, file_name: str, limit: int = 20) -> list[str]:
    """Human lines ``file, row N, column 'c': value 'v' ... expected ...`` for the first ``limit`` problems."""
    lines = []
    for p in problems.slice(0, limit).to_pylist():
        value = "(empty)" if p["issue_value"] is None else repr(p["issue_value"])
        lines.append(
            f"{file_name}, row {p['raw_row_number']}, column {p['issue_column']!r}: {p['issue_severity']} "
            f"{p['issue_check']}: value {value}, expected {p['issue_expected']} ({p['issue_reason']})"
        )
    if problems.num_rows > limit:
        lines.append(f"... and {problems.num_rows - limit} more")
    return lines
