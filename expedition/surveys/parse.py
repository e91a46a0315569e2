"""Text columns to typed columns, whole arrays at a time.

Each parser first tries a single Arrow cast of the whole column (fast, and exact when every value
is well formed); when that fails it falls back to DuckDB ``TRY_CAST``, which turns each bad value
into a null instead of failing, so the validator can report exactly those rows. Times without an
offset are read in the file's time zone (UTC unless a mapping says otherwise).
"""

from __future__ import annotations

import re

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from expedition.surveys.kinds import INTENSITY_DEGREE, Vocabulary, normalise_array

__all__ = [
    "private_duckdb", "blank_to_null", "codes_of", "codes_of_encoded", "fast_numbers", "fast_times", "intensity_values",
    "numbers", "sha256_of_rows", "text_key", "times", "tz_minutes",
]

UTC_US = pa.timestamp("us", tz="UTC")
_HAS_OFFSET = r"(Z|z|[+-]\d{2}:?\d{2})$"
_TZ = re.compile(r"^([+-])(\d{2}):(\d{2})$")


def _flat(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def blank_to_null(a: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Whitespace-only text is a missing value (readers already turn empty cells into nulls).

    Columns a reader typed already (a spreadsheet's dates, numbers) are turned into text first."""
    if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
        a = pc.cast(a, pa.string())
    blank = pc.utf8_is_space(a)
    if not pc.any(blank).as_py():
        return a
    return pc.if_else(blank, pa.scalar(None, pa.string()), a)


def tz_minutes(tz: str | None) -> int:
    """Minutes east of UTC of a ``+05:45``-style offset (0 for None/UTC/Z)."""
    m = _TZ.match(tz or "")
    if not m:
        return 0
    return (-1 if m.group(1) == "-" else 1) * (int(m.group(2)) * 60 + int(m.group(3)))


def private_duckdb() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for column work: UTC, no extension downloads, no progress bar."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def _duck(text: pa.Array, select: str, params: dict[str, object] | None = None) -> pa.Array:
    """Run ``select`` (over column ``s`` of relation ``t``) in a private in-memory DuckDB."""
    con = private_duckdb()
    try:
        con.register("t", pa.table({"s": text}))
        return _flat(con.execute(f"SELECT {select} AS v FROM t", params or {}).to_arrow_table()["v"])
    finally:
        con.close()


def fast_numbers(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray | None:
    """:func:`numbers` when one Arrow cast reads every value, else ``None``. The cast refuses empty
    and whitespace-only text, so a column it reads has no blank values."""
    try:
        return pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def numbers(text: pa.Array | pa.ChunkedArray, decimal_comma: bool = False) -> pa.Array | pa.ChunkedArray:
    """float64 per value (null when missing or unreadable; ``inf``/``nan`` read as such).

    ``decimal_comma``: a value that is digits, one comma and digits (``27,68``, ``-0,5``) is read with the
    comma as the decimal mark, as a spreadsheet writes numbers in a ';'-separated CSV; only that shape, so
    ``1.234,5`` or ``1,234,567`` stay unreadable (never a guess at a thousands separator)."""
    fast = fast_numbers(text)
    if fast is not None:
        return fast
    select = "TRY_CAST(trim(s) AS DOUBLE)"
    if decimal_comma:
        select = (f"coalesce({select}, CASE WHEN regexp_full_match(trim(s), '[-+]?[0-9]+,[0-9]+') "
                  "THEN TRY_CAST(replace(trim(s), ',', '.') AS DOUBLE) END)")
    return _duck(_flat(text), select).cast(pa.float64())


def fast_times(text: pa.Array | pa.ChunkedArray, tz: str | None = None) -> pa.Array | pa.ChunkedArray | None:
    """:func:`times` when Arrow casts read every value, else ``None`` (like :func:`fast_numbers`,
    they refuse blank text)."""
    try:
        return pc.cast(text, UTC_US)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        # Arrow keeps zoned timestamps as UTC values, so reading the naive ones as UTC is only a type
        # change (assume_timezone(..., "UTC") looked the zone up for every value: about 40 ms a million)
        local = pc.cast(text, pa.timestamp("us")).cast(UTC_US)
        shift = tz_minutes(tz)
        if shift:
            local = pc.subtract(local, pa.scalar(np.timedelta64(shift, "m").astype("timedelta64[us]")))
        return local
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def times(text: pa.Array | pa.ChunkedArray, tz: str | None = None) -> pa.Array | pa.ChunkedArray:
    """UTC timestamps; text without an offset is in ``tz`` (``+05:45``; default UTC)."""
    fast = fast_times(text, tz)
    if fast is not None:
        return fast
    shift = tz_minutes(tz)
    return _duck(
        _flat(text),
        "CASE WHEN regexp_matches(trim(s), $offset) THEN TRY_CAST(trim(s) AS TIMESTAMPTZ) "
        "ELSE TRY_CAST(trim(s) AS TIMESTAMPTZ) - to_minutes($shift) END",
        {"offset": _HAS_OFFSET, "shift": shift},
    ).cast(UTC_US)


def codes_of(text: pa.Array | pa.ChunkedArray, vocabulary: Vocabulary) -> pa.DictionaryArray:
    """Canonical codes for codes, labels or aliases in any case/spacing (null when unknown).

    Works on the dictionary of distinct values, so a million rows cost as much as their few spellings
    (one dictionary for the whole column: per chunk, the few lookups were repeated for every block read).
    The result stays dictionary-encoded over the vocabulary's codes: no text is copied per row, and the
    Parquet writer takes the dictionary as it is instead of hashing every value again."""
    # one hashing pass: the distinct values and an index per row
    return codes_of_encoded(pc.dictionary_encode(_flat(text)), vocabulary)


def codes_of_encoded(encoded: pa.DictionaryArray, vocabulary: Vocabulary) -> pa.DictionaryArray:
    """:func:`codes_of` for text dictionary-encoded already (``pc.dictionary_encode``)."""
    lookup = vocabulary.lookup()
    codes = list(dict.fromkeys(lookup.values()))  # each canonical code once, in vocabulary order
    keys = pa.array(list(lookup), pa.string())
    code_of_key = pa.array([codes.index(c) for c in lookup.values()], pa.int32())
    per_value = pc.take(code_of_key, pc.index_in(normalise_array(encoded.dictionary), value_set=keys))
    return pa.DictionaryArray.from_arrays(pc.take(per_value, encoded.indices), pa.array(codes, pa.string()))


def _intensity_table() -> tuple[list[str], list[float]]:
    roman = [c.label for c in INTENSITY_DEGREE.choices]
    keys: list[str] = []
    vals: list[float] = []
    for i, r in enumerate(roman, start=1):
        keys += [r.lower(), str(i)]
        vals += [float(i), float(i)]
        if i < 12:
            keys += [f"{r.lower()}_{roman[i].lower()}", f"{i}_{i + 1}"]
            vals += [i + 0.5, i + 0.5]
    return keys, vals


def intensity_values(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Intensity degrees from numbers, Roman numerals (``VII``) or ranges (``VI-VII`` = 6.5)."""
    keys, vals = _intensity_table()
    distinct = pc.unique(text)
    roman = pc.take(pa.array(vals, pa.float64()), pc.index_in(normalise_array(distinct), value_set=pa.array(keys)))
    from_words = pc.take(roman, pc.index_in(text, value_set=distinct))
    return pc.coalesce(numbers(text), from_words)


def text_key(columns: list[pa.Array | pa.ChunkedArray], sep: str = "|") -> pa.Array:
    """Values of several columns as one text per row (nulls as empty text)."""
    strs = [pc.fill_null(pc.cast(_flat(c), pa.string()), "") for c in columns]
    if len(strs) == 1:
        return _flat(strs[0])
    return _flat(pc.binary_join_element_wise(*strs, sep))


def sha256_of_rows(table: pa.Table) -> pa.Array:
    """Hex SHA-256 of each row's values (as DuckDB text; binary as hex; nulls marked). For rows
    without a natural id only, so its cost does not matter for large files."""
    if table.num_rows == 0:
        return pa.array([], pa.string())
    parts = ", ".join(
        f'coalesce(hex("{f.name}"), chr(0))' if pa.types.is_binary(f.type) else f'coalesce(CAST("{f.name}" AS VARCHAR), chr(0))'
        for f in table.schema
    )
    con = private_duckdb()
    try:
        con.register("t", table)
        return _flat(con.execute(f"SELECT sha256(concat_ws(chr(31), {parts})) AS v FROM t").to_arrow_table()["v"])
    finally:
        con.close()
