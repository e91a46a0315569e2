"""Answer formats of the partner service: JSON, CSV, Parquet and Arrow IPC.

The format comes from ``?format=`` when given, else from the ``Accept`` header, else JSON.

Every DuckDB type that reaches Arrow is encoded in every format:

* Arrow IPC keeps every type as it is;
* Parquet keeps every type except those Parquet cannot hold, sent as JSON text (the JSON form
  below): ``INTERVAL``, ``UNION`` and ``BIGNUM``/``VARINT``, and columns nesting them;
* JSON: times and dates in ISO 8601 (years before 1 or after 9999 in ISO's expanded form,
  ``-0043-03-15T12:00:00.000000``; DuckDB's infinite values as ``"infinity"``/``"-infinity"``),
  intervals as ISO 8601 durations with possibly negative parts (``P3M2DT5S``), ``BIGNUM`` as
  decimal text, binary (WKB geometry, ``BIT``) as hex, unions as the value of their member, maps as
  ``[key, value]`` pairs, floats NaN/inf as null;
* CSV: flat columns as pyarrow writes them (times out of Python's range, infinite ones, intervals
  and ``BIGNUM`` as in JSON), binary as hex, nested columns (lists, structs, maps, unions) as JSON
  text.

A column that still cannot be encoded is refused with :class:`FormatError` (400) naming it. DuckDB
types with no Arrow form (``VARIANT``) fail in the query itself (400 naming the type). An
answer larger than ``max_bytes`` is refused with :class:`FormatError` status 413.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

if TYPE_CHECKING:
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
_INF64 = (1 << 63) - 1  # DuckDB's infinite TIMESTAMP (and -_INF64 for -infinity)
_INF32 = (1 << 31) - 1  # DuckDB's infinite DATE
_NS_PER = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_PY_MIN_S = -62135596800  # 0001-01-01T00:00:00
_PY_MAX_S = 253402300799  # 9999-12-31T23:59:59


class FormatError(ValueError):
    """An answer format that the service does not offer, a column it cannot encode (400), or an
    answer over the size cap (413)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


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
        if not v.is_finite():
            return None
        exponent = v.as_tuple().exponent
        return int(v) if isinstance(exponent, int) and exponent >= 0 else float(v)  # HUGEINT stays exact
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return str(v)


# -- the JSON form of any Arrow array ----------------------------------------------------------------
def bignum_int(raw: bytes) -> int:
    """DuckDB's ``BIGNUM`` blob as an int: a 3-byte header (sign bit, byte count) and big-endian
    magnitude bytes, all inverted for a negative number."""
    negative = not raw[0] & 0x80
    data = bytes(b ^ 0xFF for b in raw[3:]) if negative else raw[3:]
    value = int.from_bytes(data, "big")
    return -value if negative else value


def _interval_text(v: Any) -> str | None:
    if v is None:
        return None
    seconds = decimal.Decimal(v.nanoseconds) / 10**9
    return f"P{v.months}M{v.days}DT{seconds.normalize():f}S"


def _temporal_text(arr: pa.Array) -> list[str | None]:
    """ISO 8601 text of a timestamp or date array, for every value DuckDB can hold."""
    t = arr.type
    if pa.types.is_timestamp(t):
        ints = pc.cast(arr, pa.int64()).to_numpy(zero_copy_only=False)
        unit, inf = t.unit, _INF64
        suffix = "Z" if t.tz else ""
    elif pa.types.is_date32(t):
        ints, unit, inf, suffix = pc.cast(arr, pa.int32()).to_numpy(zero_copy_only=False), "D", _INF32, ""
    else:  # date64: milliseconds
        ints, unit, inf, suffix = pc.cast(arr, pa.int64()).to_numpy(zero_copy_only=False), "ms", _INF64, ""
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    safe = np.where(valid & (np.abs(ints.astype(np.float64)) < inf), ints, 0).astype(np.int64)
    text = np.datetime_as_string(safe.astype(f"datetime64[{unit}]"), unit=unit)
    out: list[str | None] = []
    for ok, raw, s in zip(valid, ints, text):
        if not ok:
            out.append(None)
        elif raw == inf:
            out.append("infinity")
        elif raw == -inf:
            out.append("-infinity")
        else:
            out.append(_expanded_year(str(s)) + suffix)
    return out


def _expanded_year(text: str) -> str:
    """numpy writes year -43 as ``-043``: ISO 8601's expanded form has at least four digits."""
    if not text.startswith("-"):
        return text
    end = text.index("-", 1)
    return "-" + text[1:end].zfill(4) + text[end:]


def _in_python_range(arr: pa.Array) -> bool:
    t = arr.type
    if len(arr) == arr.null_count:
        return True
    if pa.types.is_timestamp(t):
        per_s = 10**9 // _NS_PER[t.unit]
        lo, hi = pc.min_max(pc.cast(arr, pa.int64())).values()
        return bool(_PY_MIN_S * per_s <= lo.as_py() and hi.as_py() <= _PY_MAX_S * per_s)
    if pa.types.is_date(t):
        lo, hi = pc.min_max(arr).values()
        try:
            return lo.as_py() is not None and hi.as_py() is not None
        except (OverflowError, ValueError):
            return False
    return True


def json_values(arr: pa.Array | pa.ChunkedArray) -> list[Any]:
    """The JSON form of every value of ``arr`` (any Arrow type DuckDB produces, nested or not)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    if isinstance(t, pa.BaseExtensionType):
        if getattr(t, "type_name", "") in ("bignum", "varint"):
            return [None if b is None else str(bignum_int(b)) for b in arr.storage.to_pylist()]
        return json_values(arr.storage)
    if pa.types.is_dictionary(t):
        return json_values(arr.dictionary_decode())
    if pa.types.is_interval(t):
        return [_interval_text(v) for v in arr.to_pylist()]
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        if not _in_python_range(arr):
            return _temporal_text(arr)
        return [jsonable(v) for v in arr.to_pylist()]
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        values = json_values(arr.flatten())
        out: list[Any] = []
        pos = 0
        sizes = pc.list_value_length(arr).to_pylist()
        for n in sizes:
            out.append(None if n is None else values[pos:pos + n])
            pos += n or 0
        return out
    if pa.types.is_map(t):
        offs = arr.offsets.to_pylist()
        nulls = arr.is_null().to_pylist()
        keys = json_values(arr.keys.slice(offs[0], offs[-1] - offs[0]))
        items = json_values(arr.items.slice(offs[0], offs[-1] - offs[0]))
        out = []
        for i, is_null in enumerate(nulls):
            a, b = offs[i] - offs[0], offs[i + 1] - offs[0]
            out.append(None if is_null else [[k, v] for k, v in zip(keys[a:b], items[a:b])])
        return out
    if pa.types.is_struct(t):
        cols = [json_values(child) for child in arr.flatten()]
        names = [t.field(i).name for i in range(t.num_fields)]
        nulls = arr.is_null().to_pylist()
        return [None if nulls[i] else {n: c[i] for n, c in zip(names, cols)} for i in range(len(arr))]
    if pa.types.is_union(t):
        return _union_values(arr)
    return [jsonable(v) for v in arr.to_pylist()]


def _union_values(arr: Any) -> list[Any]:
    t = arr.type
    codes = arr.type_codes.to_pylist()
    child_of = {code: i for i, code in enumerate(t.type_codes)}
    children = [json_values(arr.field(i)) for i in range(t.num_fields)]
    if t.mode == "dense":
        offsets = arr.offsets.to_pylist()
        return [children[child_of[c]][o] for c, o in zip(codes, offsets)]
    base = arr.offset
    return [children[child_of[c]][base + i] for i, c in enumerate(codes)]


def records(table: pa.Table) -> list[dict[str, Any]]:
    """Rows of ``table`` as JSON-safe dicts (:func:`json_values` per column)."""
    cols = [_column(table, name, json_values) for name in table.column_names]
    names = table.column_names
    return [dict(zip(names, row)) for row in zip(*cols)] if cols else [{} for _ in range(table.num_rows)]


def _column(table: pa.Table, name: str, fn: Any) -> Any:
    try:
        return fn(table.column(name))
    except (pa.ArrowException, ValueError, OverflowError, TypeError, KeyError) as exc:
        raise FormatError(f"column {name!r} of type {table.schema.field(name).type} cannot be encoded: {exc}; "
                          "cast it in the query (e.g. to VARCHAR)") from exc


# -- CSV and Parquet -----------------------------------------------------------------------------
def _needs_json_text(t: pa.DataType, parquet: bool) -> bool:
    """Whether a column of type ``t`` is sent as JSON text (CSV: any nesting; Parquet: what it lacks)."""
    if isinstance(t, pa.BaseExtensionType):
        return getattr(t, "type_name", "") in ("bignum", "varint") or _needs_json_text(t.storage_type, parquet)
    if pa.types.is_interval(t) or pa.types.is_union(t):
        return True
    nested = (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
              or pa.types.is_struct(t) or pa.types.is_map(t))
    if not nested:
        return False
    if not parquet:
        return True
    if pa.types.is_map(t):
        return _needs_json_text(t.key_type, True) or _needs_json_text(t.item_type, True)
    if pa.types.is_struct(t):
        return any(_needs_json_text(t.field(i).type, True) for i in range(t.num_fields))
    return _needs_json_text(t.value_type, True)


def _as_json_text(col: pa.ChunkedArray) -> pa.Array:
    return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in json_values(col)],
                    pa.string())


def _csv_column(col: pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    t = col.type
    if _needs_json_text(t, parquet=False):
        values = json_values(col)
        if pa.types.is_interval(t) or isinstance(t, pa.BaseExtensionType):
            return pa.array(values, pa.string())  # already text (ISO duration, decimal digits)
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values], pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return pa.array([None if b is None else b.hex() for b in col.to_pylist()], pa.string())
    if pa.types.is_dictionary(t):
        return _csv_column(pa.chunked_array([c.dictionary_decode() for c in col.chunks], t.value_type))
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        if not _in_python_range(arr):
            return pa.array(_temporal_text(arr), pa.string())
    return col


def csv_ready(table: pa.Table) -> pa.Table:
    """``table`` with every column in a type pyarrow's CSV writer takes (see the module docstring)."""
    cols = [_column(table, name, _csv_column) for name in table.column_names]
    return pa.Table.from_arrays(cols, names=table.column_names)


def _parquet_ready(table: pa.Table) -> pa.Table:
    cols = []
    for name in table.column_names:
        col = table.column(name)
        cols.append(_column(table, name, _as_json_text) if _needs_json_text(col.type, parquet=True) else col)
    return pa.Table.from_arrays(cols, names=table.column_names)


class _CappedBuffer(io.RawIOBase):
    """A write buffer that refuses to grow past ``cap`` bytes."""

    def __init__(self, cap: int | None) -> None:
        self.cap = cap
        self.buf = io.BytesIO()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        n = len(memoryview(b))
        if self.cap is not None and self.buf.tell() + n > self.cap:
            raise _TooLarge()
        return self.buf.write(b)


class _TooLarge(Exception):
    pass


def encode(table: pa.Table, fmt: str, meta: Mapping[str, Any] | None = None, max_bytes: int | None = None) -> bytes:
    """``table`` as bytes in ``fmt``; JSON wraps the rows with ``meta`` (row count, snapshot...).

    More than ``max_bytes`` bytes: :class:`FormatError` with status 413."""
    too_large = FormatError(f"the answer is larger than {max_bytes} bytes; ask for fewer rows or columns "
                            "(limit, WHERE) or a compact format (parquet)", status=413)
    if fmt in ("json", "csv") and max_bytes is not None and table.nbytes > 8 * max_bytes:
        raise too_large  # text is never 8x smaller than the data itself: do not even try
    if fmt == "json":
        body = {
            **(meta or {}),
            "columns": [{"name": f.name, "type": str(f.type)} for f in table.schema],
            "rows": records(table),
        }
        data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8", "backslashreplace")
        if max_bytes is not None and len(data) > max_bytes:
            raise too_large
        return data
    out = _CappedBuffer(max_bytes)
    try:
        if fmt == "csv":
            pacsv.write_csv(csv_ready(table), out)
        elif fmt == "parquet":
            pq.write_table(_parquet_ready(table), out)
        elif fmt == "arrow":
            with pa.ipc.new_stream(out, table.schema) as writer:
                writer.write_table(table)
        else:
            raise FormatError(f"unknown format {fmt!r}")
    except _TooLarge:
        raise too_large from None
    except pa.ArrowException as exc:
        raise FormatError(f"the answer cannot be encoded as {fmt}: {exc}") from exc
    return out.buf.getvalue()


def table_response(
    table: pa.Table,
    fmt: str,
    meta: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    filename: str | None = None,
) -> Response:
    """``table`` encoded in ``fmt`` as a response (with a download name for files)."""
    from fastapi.responses import Response  # here: the CLI imports this module and must start fast

    hdrs = dict(headers or {})
    if filename and fmt != "json":
        ext = {"csv": "csv", "parquet": "parquet", "arrow": "arrows"}[fmt]
        hdrs["Content-Disposition"] = f'attachment; filename="{filename}.{ext}"'
    return Response(encode(table, fmt, meta), media_type=MEDIA_TYPES[fmt], headers=hdrs)
