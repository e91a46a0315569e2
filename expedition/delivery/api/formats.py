"""Answer formats of the partner service: JSON, CSV, Parquet and Arrow IPC.

The format comes from ``?format=`` when given, else from the ``Accept`` header, else JSON.
Binary columns (WKB geometry) become hex text in JSON and CSV; list columns become JSON text
in CSV. Parquet and Arrow keep every type as it is.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fastapi.responses import Response

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "arrow": "application/vnd.apache.arrow.stream",
}
_ACCEPT = [
    ("application/vnd.apache.arrow.stream", "arrow"),
    ("application/vnd.apache.arrow", "arrow"),
    ("application/vnd.apache.parquet", "parquet"),
    ("application/x-parquet", "parquet"),
    ("text/csv", "csv"),
    ("application/json", "json"),
]


class FormatError(ValueError):
    """An answer format that the service does not offer."""


def choose_format(explicit: str | None, accept: str | None, allowed: tuple[str, ...] = tuple(MEDIA_TYPES)) -> str:
    """The answer format: ``?format=`` first, then the ``Accept`` header, then JSON."""
    if explicit:
        fmt = explicit.strip().lower()
        if fmt not in allowed:
            raise FormatError(f"format must be one of {', '.join(allowed)}; got {explicit!r}")
        return fmt
    if accept:
        low = accept.lower()
        for media, fmt in _ACCEPT:
            if media in low and fmt in allowed:
                return fmt
    return "json" if "json" in allowed else allowed[0]


def jsonable(v: Any) -> Any:
    """A JSON-safe value: ISO times, hex bytes, floats without NaN/inf (null instead)."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return str(v)


def records(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: jsonable(v) for k, v in row.items()} for row in table.to_pylist()]


def _csv_ready(table: pa.Table) -> pa.Table:
    cols = []
    for f, col in zip(table.schema, table.columns):
        t = f.type
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            col = pa.array([None if b is None else b.hex() for b in col.to_pylist()], pa.string())
        elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_struct(t) or pa.types.is_map(t):
            col = pa.array([None if v is None else json.dumps(jsonable(v)) for v in col.to_pylist()], pa.string())
        elif pa.types.is_dictionary(t):
            col = pc.cast(col, t.value_type)
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names)


def encode(table: pa.Table, fmt: str, meta: Mapping[str, Any] | None = None) -> bytes:
    """``table`` as bytes in ``fmt``; JSON wraps the rows with ``meta`` (row count, snapshot...)."""
    if fmt == "json":
        body = {
            **(meta or {}),
            "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
            "rows": records(table),
        }
        return json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    buf = io.BytesIO()
    if fmt == "csv":
        pacsv.write_csv(_csv_ready(table), buf)
    elif fmt == "parquet":
        pq.write_table(table, buf)
    elif fmt == "arrow":
        with pa.ipc.new_stream(buf, table.schema) as writer:
            writer.write_table(table)
    else:
        raise FormatError(f"unknown format {fmt!r}")
    return buf.getvalue()


def table_response(
    table: pa.Table,
    fmt: str,
    meta: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    filename: str | None = None,
) -> Response:
    hdrs = dict(headers or {})
    if filename and fmt != "json":
        ext = {"csv": "csv", "parquet": "parquet", "arrow": "arrows"}[fmt]
        hdrs["Content-Disposition"] = f'attachment; filename="{filename}.{ext}"'
    return Response(encode(table, fmt, meta), media_type=MEDIA_TYPES[fmt], headers=hdrs)
