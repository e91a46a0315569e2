"""What every catalog parser shares: opening inputs, row checks, problems, table assembly.

Inputs (``SourceLike``) are a path (``str`` or ``Path``), the file's ``bytes``, or a binary stream.
Gzip-compressed inputs (magic bytes ``1f 8b``) are decompressed transparently.

Row checks (the same for every format; values that are *absent* stay null and are not errors):

* origin time: parseable, not before 1900-01-01, not more than :data:`FUTURE_TOLERANCE` ahead of now;
* latitude in [-90, 90], longitude in [-180, 180] (NaN and infinities are refused);
* depth in [-10, 800] km; magnitude in [-2, 10.5].

Strictness (decided for the whole package): catalog files are agency output, so a broken row is an
error. By default (``strict=True``) the first bad row raises :class:`catalogs.errors.ParseError`
naming the file, the row (1-based data row, or event number in QuakeML), the column and what was
expected. With ``strict=False`` a parser returns ``(good_rows, problems)`` instead, where
``problems`` is a list of :class:`ParseProblem`; structural faults (malformed XML, a missing
header, a wrong number of fields) still raise.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalogs.errors import ParseError
from catalogs.rows import SOLUTION_ROW_SCHEMA
from catalogs.rows import UTC as UTC_TYPE

SourceLike = str | Path | bytes | BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(hours=1)  # agency clocks and ours may differ a little
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)

# (solution column, lowest, highest, what is expected) for the numeric range checks.
RANGES: tuple[tuple[str, float, float, str], ...] = (
    ("origin_latitude_deg", -90.0, 90.0, "a latitude in degrees within [-90, 90]"),
    ("origin_longitude_deg", -180.0, 180.0, "a longitude in degrees within [-180, 180]"),
    ("origin_depth_km", -10.0, 800.0, "a depth in km within [-10, 800]"),
    ("magnitude_value", -2.0, 10.5, "a magnitude within [-2, 10.5]"),
)
TIME_EXPECTED = "an ISO 8601 UTC time between 1900-01-01 and now"


@dataclass(frozen=True)
class ParseProblem:
    """One bad value: where it is (source, 1-based row, column), what it was, what was expected."""

    source: str
    row: int
    column: str
    value: str
    expected: str

    def message(self) -> str:
        return f"bad value {self.value!r}: expected {self.expected}"

    def to_error(self) -> ParseError:
        return ParseError(self.message(), self.source, self.row, self.column)


def source_label(source: SourceLike, source_name: str | None) -> str:
    """The file name used in ``source_ref`` and in error messages."""
    if source_name:
        return source_name
    if isinstance(source, str | Path):
        return Path(source).name
    if isinstance(source, bytes | bytearray | memoryview):
        return "<bytes>"
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) else "<stream>"


@contextmanager
def open_binary(source: SourceLike, label: str) -> Iterator[BinaryIO]:
    """A readable binary stream over ``source`` (gzip decompressed transparently)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        yield gzip.GzipFile(fileobj=io.BytesIO(data)) if data[:2] == GZIP_MAGIC else io.BytesIO(data)  # type: ignore[misc]
        return
    if isinstance(source, str | Path):
        try:
            fh: BinaryIO = open(source, "rb")
        except OSError as exc:
            raise ParseError(f"cannot open file: {exc.strerror or exc}", label) from exc
        with fh:
            if fh.read(2) == GZIP_MAGIC:
                fh.seek(0)
                with gzip.GzipFile(fileobj=fh) as gz:
                    yield gz  # type: ignore[misc]
            else:
                fh.seek(0)
                yield fh
        return
    head = source.read(2) if not _peekable(source) else source.peek(2)[:2]  # type: ignore[attr-defined]
    if _peekable(source):
        stream: BinaryIO = source
    else:
        stream = PrefixedReader(head, source)  # type: ignore[assignment]
    if head == GZIP_MAGIC:
        with gzip.GzipFile(fileobj=stream) as gz:
            yield gz  # type: ignore[misc]
    else:
        yield stream


def _peekable(stream: object) -> bool:
    return hasattr(stream, "peek")


class PrefixedReader(io.RawIOBase):
    """A stream that first returns ``prefix`` (bytes already read) and then the rest of ``rest``."""

    def __init__(self, prefix: bytes, rest: IO[bytes]) -> None:
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._prefix:
            if size is None or size < 0:
                out = self._prefix + self._rest.read()
                self._prefix = b""
                return out
            out, self._prefix = self._prefix[:size], self._prefix[size:]
            if len(out) < size:
                out += self._rest.read(size - len(out))
            return out
        return self._rest.read(-1 if size is None else size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_all(source: SourceLike, label: str) -> bytes:
    """Every byte of ``source`` (decompressed); for formats read whole (CSV, text, GeoJSON)."""
    if isinstance(source, bytes) and source[:2] != GZIP_MAGIC:
        return source
    with open_binary(source, label) as fh:
        try:
            return fh.read()
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"cannot read input: {exc}", label) from exc


def local_path(source: SourceLike) -> str | None:
    """The path of an uncompressed local file (so pyarrow can read it natively), else None."""
    if isinstance(source, str | Path) and os.path.isfile(source):
        with open(source, "rb") as fh:
            if fh.read(2) != GZIP_MAGIC:
                return os.fspath(source)
    return None


# --- times ------------------------------------------------------------------------------------
def iso_to_us(text: str) -> int:
    """Microseconds since the epoch of an ISO 8601 time; a time without offset is UTC. ValueError if bad."""
    dt = datetime.fromisoformat(text.strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - EPOCH) // ONE_US


def time_bounds_us() -> tuple[int, int]:
    """Accepted origin times (inclusive), in microseconds since the epoch."""
    return (EARLIEST - EPOCH) // ONE_US, (datetime.now(UTC) + FUTURE_TOLERANCE - EPOCH) // ONE_US


# --- checks -----------------------------------------------------------------------------------
def check_rows(
    table: pa.Table,
    label: str,
    column_names: dict[str, str],
    row_numbers: Sequence[int] | pa.Array | None = None,
    earlier: Sequence[ParseProblem] = (),
    line_of: Sequence[int] | pa.Array | None = None,
) -> tuple[pa.Table, list[ParseProblem]]:
    """Range-check the solution columns of ``table``; return (good rows, problems sorted by row).

    ``column_names`` maps a solution column to the source's own column name for messages;
    ``row_numbers`` gives each row's 1-based number in the source (default: position + 1);
    ``earlier`` are problems the parser found already (unparseable values), whose rows are dropped too.
    """
    lo_t, hi_t = time_bounds_us()
    t_us = pc.cast(table.column("origin_time_utc"), pa.int64())
    checks: list[tuple[str, Any, str]] = [
        ("origin_time_utc", _outside(t_us, lo_t, hi_t), TIME_EXPECTED),
        *((col, _outside(table.column(col), lo, hi), exp) for col, lo, hi, exp in RANGES),
    ]
    bad = checks[0][1]
    for _, m, _ in checks[1:]:
        bad = pc.or_(bad, m)
    problems = list(earlier)
    if not problems and not pc.any(bad).as_py():
        return table, []
    numbers = _numbers(row_numbers, table.num_rows)
    for i in pc.indices_nonzero(bad).to_pylist():
        for col, m, exp in checks:
            if m[i].as_py():
                value = table.column(col)[i].as_py()
                shown = value.isoformat() if isinstance(value, datetime) else repr(value)
                where = f" (line {_at(line_of, i)})" if line_of is not None else ""
                problems.append(ParseProblem(label, numbers[i], column_names.get(col, col) + where, shown, exp))
    problems.sort(key=lambda p: p.row)
    drop = pa.array(sorted({p.row for p in problems}), pa.int64())
    keep = pc.invert(pc.is_in(pa.array(numbers, pa.int64()), value_set=drop))
    return table.filter(keep), problems


def _at(values: Sequence[int] | pa.Array, i: int) -> int:
    v = values[i]
    return int(v.as_py() if isinstance(v, pa.Scalar) else v)


def _outside(values: Any, lo: float, hi: float) -> Any:
    """True where a value is outside [lo, hi] or NaN; False where null."""
    return pc.fill_null(pc.invert(pc.and_(pc.greater_equal(values, lo), pc.less_equal(values, hi))), False)


def _numbers(row_numbers: Sequence[int] | pa.Array | None, n: int) -> list[int]:
    if row_numbers is None:
        return list(range(1, n + 1))
    if isinstance(row_numbers, pa.Array | pa.ChunkedArray):
        return [int(x) for x in row_numbers.to_pylist()]
    return list(row_numbers)


def finish(
    table: pa.Table, problems: list[ParseProblem], strict: bool
) -> pa.Table | tuple[pa.Table, list[ParseProblem]]:
    """Raise the first problem when strict, else return (good rows, problems)."""
    if strict:
        if problems:
            raise problems[0].to_error()
        return table
    return table, problems


def empty_lists(n: int) -> pa.Array:
    """``n`` empty ``list<string>`` values (for sources without alias ids)."""
    return pa.ListArray.from_arrays(pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], pa.string()))


def source_refs(label: str, numbers: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``'<label>#<number>'`` for each row number (vectorised)."""
    as_text = pc.cast(numbers, pa.string())
    return pc.binary_join_element_wise(pa.scalar(label + "#"), as_text, "")


def assemble(columns: dict[str, pa.Array | pa.ChunkedArray | list[object]]) -> pa.Table:
    """Build a table with exactly SOLUTION_ROW_SCHEMA from named columns (lists or arrays)."""
    arrays = []
    for f in SOLUTION_ROW_SCHEMA:
        v = columns[f.name]
        if isinstance(v, list):
            arrays.append(pa.array(v, f.type))
        else:
            arrays.append(v if v.type == f.type else pc.cast(v, f.type))
    return pa.Table.from_arrays(arrays, schema=SOLUTION_ROW_SCHEMA)


def utc_from_us(values: list[int | None]) -> pa.Array:
    return pa.array(values, pa.int64()).cast(UTC_TYPE)
