"""Delimited catalog text (FDSN text, ComCat CSV) read with ``pyarrow.csv``, errors located.

A field longer than :data:`FIELD_LIMIT` (128 KiB) is refused with its row and column: no catalog
value is that long, and pyarrow cannot read a row longer than its block size at all.

The fast path is a plain multi-threaded ``pyarrow.csv.read_csv`` with declared column types. Only
when it fails does this module spend time finding *where*: a wrong number of fields is re-read
single-threaded to get the row; a value that does not convert is re-read as text and converted
column by column, so the problem names the row, the column and the value.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from catalogs.errors import ParseError
from catalogs.parse_common import ParseProblem, iso_to_us
from catalogs.rows import UTC

__all__ = ["first_line", "header_fields", "map_unique", "read_delimited", "row_numbers", "to_float", "to_time", "trim"]

log = logging.getLogger(__name__)

NUMBER_EXPECTED = "a number"
FIELD_LIMIT = 131_072  # bytes in one field; the limit of Python's csv module
TIME_EXPECTED = "an ISO 8601 time (UTC)"
_ZONED = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")


def read_delimited(
    source: str | bytes,
    label: str,
    *,
    delimiter: str,
    quoted: bool,
    column_names: list[str] | None,
    skip_rows: int,
    types: dict[str, pa.DataType],
    include: list[str],
) -> pa.Table:
    """Read ``include`` columns of a delimited file (a local path or the file's bytes).

    When a typed column fails to convert, the table is re-read with those columns as text (the
    caller's :func:`to_float` then names the row). A row with the wrong number of fields raises
    :class:`ParseError` naming the data row.
    """
    try:
        table = _read(source, delimiter, quoted, column_names, skip_rows, types, include, True)
    except pa.ArrowInvalid as exc:
        if "conversion error" not in str(exc):
            raise _locate(source, label, delimiter, quoted, column_names, skip_rows, exc) from exc
        read = partial(_read, source, delimiter, quoted, column_names, skip_rows)
        decimal_comma = _decimal_comma(read, delimiter, types, include)
        if decimal_comma is not None:
            _check_field_sizes(decimal_comma, label)
            return decimal_comma
        as_text = {k: (pa.string() if _typed(v) else v) for k, v in types.items()}
        try:
            table = read(as_text, include, True)
        except pa.ArrowInvalid as exc2:
            raise _locate(source, label, delimiter, quoted, column_names, skip_rows, exc2) from exc2
        if delimiter != ",":
            table = _points_for_commas(table, [k for k, v in types.items() if pa.types.is_floating(v)])
    _check_field_sizes(table, label)
    return table


_COMMA_NUMBER = r"^(\s*[-+]?\d*),(\d+(?:[eE][-+]?\d+)?\s*)$"


def _points_for_commas(table: pa.Table, columns: list[str]) -> pa.Table:
    """Numbers written with a decimal comma (``27,68``) in a file whose fields are not separated by
    commas get a point, so a file with both marks reads each number; other text stays as it was
    and :func:`to_float` names its row."""
    for name in columns:
        if name in table.column_names and pa.types.is_string(table.schema.field(name).type):
            i = table.column_names.index(name)
            col = pc.replace_substring_regex(table.column(name), _COMMA_NUMBER, r"\1.\2")
            table = table.set_column(i, name, col)
    return table


def _decimal_comma(
    read: Callable[..., pa.Table], delimiter: str, types: dict[str, pa.DataType], include: list[str]
) -> pa.Table | None:
    """The table read with ``,`` as the decimal mark, when every number of the file is written so
    (a spreadsheet in a decimal-comma locale saves ``27,68`` and separates fields with ``;`` or a
    tab); None when the separator is a comma or some value still fails (the text path then reads
    both marks and names what is not a number)."""
    if delimiter == "," or not any(pa.types.is_floating(t) for t in types.values()):
        return None
    try:
        table = read(types, include, True, decimal_point=",")
    except pa.ArrowInvalid:
        return None
    log.info("numbers read with a decimal comma (fields separated by %r)", delimiter)
    return table


def _check_field_sizes(table: pa.Table, label: str) -> None:
    """Refuse text fields longer than FIELD_LIMIT bytes (a catalog never has one; a garbled file may)."""
    for name in table.column_names:
        col = table.column(name)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)) or not len(col):
            continue
        sizes = pc.binary_length(col)
        longest = pc.max(sizes).as_py()
        if longest is not None and longest > FIELD_LIMIT:
            row = pc.index(sizes, longest).as_py() + 1
            raise ParseError(_too_long(longest), label, row, name)


def _too_long(size: int) -> str:
    return f"a field of {size:,} bytes exceeds the limit of {FIELD_LIMIT:,} bytes"


def _typed(t: pa.DataType) -> bool:
    return bool(pa.types.is_floating(t) or pa.types.is_timestamp(t))


def _input(source: str | bytes) -> Any:
    return pa.BufferReader(source) if isinstance(source, bytes) else source


def _read(  # noqa: PLR0913
    source: str | bytes,
    delimiter: str,
    quoted: bool,
    column_names: list[str] | None,
    skip_rows: int,
    types: dict[str, pa.DataType],
    include: list[str],
    threads: bool = True,
    decimal_point: str = ".",
) -> pa.Table:
    return pacsv.read_csv(
        _input(source),
        read_options=pacsv.ReadOptions(use_threads=threads, column_names=column_names, skip_rows=skip_rows),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter,
            quote_char='"' if quoted else False,
            ignore_empty_lines=True,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            include_columns=include,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            decimal_point=decimal_point,
        ),
    )


def _locate(  # noqa: C901
    source: str | bytes,
    label: str,
    delimiter: str,
    quoted: bool,
    column_names: list[str] | None,
    skip_rows: int,
    exc: Exception,
) -> ParseError:
    """A ParseError naming the first data row that is not UTF-8 or has the wrong number of fields.

    Only called after pyarrow refused the input, so a plain Python scan is affordable here. Rows are
    numbered like the fast path numbers them: data rows after the header, empty lines skipped.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    lines = data.split(b"\n")
    if lines and lines[0].startswith(b"\xef\xbb\xbf"):
        lines[0] = lines[0][3:]
    header_lines = skip_rows + (0 if column_names is not None else 1)
    expected = len(column_names) if column_names is not None else None
    texts: list[str] = []
    for i, raw in enumerate(lines):
        try:
            texts.append(raw.decode("utf-8").rstrip("\r"))
        except UnicodeDecodeError as err:
            number = _data_row(lines, header_lines, i)
            return ParseError(f"not UTF-8 text at byte {err.start} of the line", label, number)
    rows = csv.reader(texts, delimiter=delimiter) if quoted else (t.split(delimiter) for t in texts)
    number = 0
    names = list(column_names or [])
    try:
        for i, fields in enumerate(rows):
            if i < header_lines:
                if expected is None:
                    expected, names = len(fields), [f.strip() for f in fields]
                continue
            if not fields or fields == [""]:
                continue
            number += 1
            for j, field in enumerate(fields):
                if len(field) > FIELD_LIMIT:
                    size = len(field.encode("utf-8"))
                    return ParseError(_too_long(size), label, number, names[j] if j < len(names) else None)
            if expected is not None and len(fields) != expected:
                shown = delimiter.join(fields)[:120]
                return ParseError(
                    f"expected {expected} fields separated by {delimiter!r}, found {len(fields)}: {shown!r}",
                    label,
                    number,
                )
    except csv.Error as err:
        if "field larger than field limit" in str(err):
            return ParseError(f"a field exceeds the limit of {FIELD_LIMIT:,} bytes", label, number + 1)
        return ParseError(f"malformed CSV: {err}", label, number + 1)
    message = re.sub(r"^CSV parse error: ", "", str(exc))
    return ParseError(f"unreadable delimited text: {message}", label)


def _data_row(lines: list[bytes], header_lines: int, index: int) -> int | None:
    if index < header_lines:
        return None  # the header itself
    return sum(1 for raw in lines[header_lines : index + 1] if raw.strip(b"\r"))


def row_numbers(n: int) -> pa.Array:
    """1-based data row numbers."""
    return pa.array(np.arange(1, n + 1, dtype=np.int64))


def trim(values: pa.ChunkedArray | pa.Array) -> Any:
    """Strings with surrounding whitespace removed; empty strings become null."""
    out = pc.utf8_trim_whitespace(values)
    return pc.if_else(pc.equal(out, ""), pa.scalar(None, pa.string()), out)


def to_float(
    values: pa.ChunkedArray, label: str, column: str, problems: list[ParseProblem]
) -> pa.ChunkedArray | pa.Array:
    """float64 values; text that is not a number becomes a problem (and null)."""
    if pa.types.is_floating(values.type) or pa.types.is_integer(values.type):
        return pc.cast(values, pa.float64())
    try:
        return pc.cast(trim(values), pa.float64())
    except pa.ArrowInvalid:
        pass
    out: list[float | None] = []
    for i, v in enumerate(values.to_pylist()):
        if v is None or not v.strip():
            out.append(None)
            continue
        try:
            out.append(float(v))
        except ValueError:
            problems.append(ParseProblem(label, i + 1, column, v, NUMBER_EXPECTED))
            out.append(None)
    return pa.array(out, pa.float64())


def to_time(
    values: pa.ChunkedArray | pa.Array, label: str, column: str, problems: list[ParseProblem]
) -> pa.ChunkedArray | pa.Array:
    """timestamp[us, UTC] from ISO 8601 text (a time without offset is UTC); bad text is a problem."""
    if pa.types.is_timestamp(values.type):
        if values.type.tz is None:
            return pc.cast(pc.cast(values, pa.timestamp("us")), UTC)  # naive values are UTC
        return pc.cast(values, UTC)
    sample = pc.drop_null(values)[:1].to_pylist()
    zoned = bool(sample) and bool(_ZONED.search(sample[0].strip()))
    for target in (UTC, pa.timestamp("us")) if zoned else (pa.timestamp("us"), UTC):
        try:
            return pc.cast(pc.cast(values, target), UTC)
        except pa.ArrowInvalid:
            continue
    out: list[int | None] = []
    for i, v in enumerate(values.to_pylist()):
        if v is None or not v.strip():
            out.append(None)
            continue
        try:
            out.append(iso_to_us(v))
        except ValueError:
            problems.append(ParseProblem(label, i + 1, column, v, TIME_EXPECTED))
            out.append(None)
    return pa.array(out, pa.int64()).cast(UTC)


def map_unique(values: pa.ChunkedArray | pa.Array, fn: Callable[[str | None], str | None]) -> pa.Array:
    """Apply ``fn`` to each distinct string once (vectorised take over the dictionary)."""
    enc = pc.dictionary_encode(values)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks() if enc.num_chunks != 1 else enc.chunk(0)
    mapped = pa.array([fn(v) for v in enc.dictionary.to_pylist()], pa.string())
    return pc.take(mapped, enc.indices)


def header_fields(line: bytes, label: str, delimiter: str) -> list[str]:
    """The stripped field names of a header line (UTF-8, BOM allowed)."""
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise ParseError("the header line is not UTF-8 text", label) from exc
    return [f.strip() for f in text.split(delimiter)]


def first_line(source: str | bytes, limit: int = 65536) -> bytes:
    """The first line of a path or of bytes (BOM kept, newline dropped)."""
    if isinstance(source, bytes):
        head = source[:limit]
    else:
        with open(source, "rb") as fh:
            head = fh.readline(limit)
    end = head.find(b"\n")
    return head if end < 0 else head[:end]
