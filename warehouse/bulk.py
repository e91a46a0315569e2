"""Bulk append: write a large batch as a Parquet file with pyarrow and register it in the lake.

``INSERT INTO lake.t SELECT ... FROM arrow`` converts every value into DuckDB's own vectors and
back out to Parquet; for a million survey rows that was about 0.7 s of a 2-3 s ingest. A bulk
append instead writes the Parquet file directly from the Arrow columns (per-file constants as
one-entry dictionaries, geometry as native Parquet ``GEOMETRY`` through the ``geoarrow.wkb``
extension type) and registers it with DuckLake's ``ducklake_add_data_files`` inside the writer's
transaction. The result is the same as an INSERT: the file belongs to the lake, the commit makes
it visible atomically, a rollback deletes it and a crash leaves an unreferenced file that
``expedition maintain`` removes.

The fast path needs a local data path, an unencrypted lake and partition columns given as
constants with path-safe values; anything else falls back to the ordinary INSERT
(:meth:`~warehouse.lake.LakeWriter.write`), with the same result.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import threading
import uuid
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse import sqlfiles
from warehouse.schema import TableSpec, check_constants, conform, is_geometry

if TYPE_CHECKING:
    import duckdb

__all__ = ["ROW_GROUP_ROWS", "BulkFiles", "KeptRows", "bulk_file_table", "partition_directory", "stage",
           "table_directory", "target_directory", "write_bulk_files"]

log = logging.getLogger(__name__)

#: DuckDB's own row-group size: readers scan row groups in parallel.
ROW_GROUP_ROWS = 122_880
#: How every bulk file is written: snappy (about 0.1 s of CPU a million rows, for files half the size)
#: and statistics (DuckLake prunes files by them).
_PARQUET_OPTIONS: dict[str, Any] = {"compression": "snappy", "store_schema": False, "write_statistics": True}
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


class _WkbType(pa.ExtensionType):  # type: ignore[misc]  # pyarrow ships no stubs
    """``geoarrow.wkb``: pyarrow writes columns of this type as Parquet ``GEOMETRY`` (not registered
    globally, so it never clashes with geoarrow-pyarrow)."""

    def __init__(self) -> None:
        super().__init__(pa.binary(), "geoarrow.wkb")

    def __arrow_ext_serialize__(self) -> bytes:
        return b'{"crs": "OGC:CRS84"}'

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> _WkbType:
        return cls()


def _lake_type(f: pa.Field) -> pa.DataType:
    """The Arrow type whose Parquet form DuckDB reads back as the lake column's type."""
    if pa.types.is_int8(f.type):
        return pa.int16()  # the lake stores int8 columns as SMALLINT (see schema.duckdb_type)
    return f.type


def _constant(value: Any, typ: pa.DataType, n: int) -> pa.Array:
    if value is None:
        return pa.nulls(n, typ)
    if pa.types.is_string(typ):  # one dictionary entry, n zero indices: no per-row copies
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int8)), pa.array([value], typ))
    return pa.repeat(pa.scalar(value, typ), n)


def bulk_file_table(spec: TableSpec, table: pa.Table, constants: Mapping[str, Any]) -> pa.Table:
    """The table as it goes into the Parquet file: the spec's columns in order, constants filled in
    and geometry marked as ``geoarrow.wkb``. ``table`` is already conformed (without the constants)."""
    n = table.num_rows
    cols: list[pa.Array | pa.ChunkedArray] = []
    for f in spec.schema:
        typ = _lake_type(f)
        if f.name in constants:
            cols.append(_constant(constants[f.name], typ, n))
            continue
        col = table[f.name]
        if is_geometry(f):
            col = pa.chunked_array([pa.ExtensionArray.from_storage(_WkbType(), c) for c in col.chunks], _WkbType())
        elif typ != f.type:
            col = col.cast(typ)
        cols.append(col)
    return pa.Table.from_arrays(cols, names=spec.columns)


def table_directory(con: duckdb.DuckDBPyConnection, table: str) -> Path | None:
    """The local directory DuckLake keeps ``table``'s files in, or ``None`` when the fast path is
    not available (remote or encrypted storage, unknown table)."""
    row = con.execute(sqlfiles.query("lake_table_storage").sql, {"table_name": table}).fetchone()
    if row is None:
        return None
    schema_path, schema_rel, table_path, table_rel, encrypted, data_path = row
    if encrypted != "false" or not data_path or "://" in str(data_path):
        return None
    schema_dir = Path(data_path) / schema_path if schema_rel else Path(schema_path)
    directory = schema_dir / table_path if table_rel else Path(table_path)
    return directory if "://" not in str(directory) else None


def partition_directory(spec: TableSpec, constants: Mapping[str, Any]) -> str | None:
    """``col=value/...`` for the spec's identity partitions, or ``None`` when a partition column is not
    a path-safe constant (then the caller uses the ordinary INSERT)."""
    parts = []
    for col in spec.partition_by:
        value = constants.get(col)
        if not isinstance(value, str) or not _SAFE_VALUE.match(value) or value in (".", ".."):
            return None
        parts.append(f"{col}={value}")
    return "/".join(parts)


def dictionary_columns(table: pa.Table, sample_rows: int = 8192) -> list[str]:
    """Columns worth dictionary encoding: one-entry constants and text columns with few distinct
    values in a sample (trying a dictionary on unique ids costs time and then falls back)."""
    out = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_dictionary(col.type):
            out.append(name)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            head = col.slice(0, sample_rows)
            if len(head) == 0 or pc.count_distinct(head).as_py() <= max(16, len(head) // 8):
                out.append(name)
    return out


class KeptRows:
    """The rows of ``table`` where ``keep`` is true, taken a range at a time as zero-copy slices of the
    runs of kept rows (a filter would copy every column to drop a few quarantined rows), so threads
    can each take their own part; a plain filter of the range when its rows are too fragmented for
    slices to pay (more than ``max_runs`` runs in all)."""

    def __init__(self, table: pa.Table, keep: pa.Array | pa.ChunkedArray | None, max_runs: int = 4096) -> None:
        self.table = table
        self.mask: np.ndarray | None = None
        if keep is not None:
            mask = np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
            if not mask.all():
                self.mask = mask
        if self.mask is None:
            self.num_rows = table.num_rows
            return
        edges = np.flatnonzero(np.diff(np.concatenate(([False], self.mask, [False])).astype(np.int8)))
        self.starts, ends = edges[0::2], edges[1::2]
        self.before = np.concatenate(([0], np.cumsum(ends - self.starts)))  # kept rows before each run
        self.num_rows = int(self.before[-1])
        self.fragmented = len(self.starts) > max_runs

    def slice(self, offset: int, length: int) -> pa.Table:
        """Kept rows ``offset`` to ``offset + length`` (fewer at the end)."""
        lo, hi = max(0, offset), min(self.num_rows, offset + length)
        if self.mask is None:
            return self.table.slice(lo, max(0, hi - lo))
        if hi <= lo:
            return self.table.slice(0, 0)
        first = int(np.searchsorted(self.before, lo, side="right")) - 1  # the run holding kept row lo
        last = int(np.searchsorted(self.before, hi, side="left"))  # runs before this one hold row hi - 1
        begin = int(self.starts[first] + (lo - self.before[first]))
        end = int(self.starts[last - 1] + (hi - self.before[last - 1]))  # one past the last kept row's position
        if self.fragmented:
            return self.table.slice(begin, end - begin).filter(pa.array(self.mask[begin:end]))
        pieces = []
        for i in range(first, last):
            a = max(begin, int(self.starts[i]))
            b = min(end, int(self.starts[i] + (self.before[i + 1] - self.before[i])))
            pieces.append(self.table.slice(a, b - a))
        return pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)


def write_bulk_files(directory: Path, table: pa.Table, keep: pa.Array | None = None,
                     threads: int | None = None) -> list[tuple[Path, int]]:
    """Write the rows of ``table`` where ``keep`` is true (all rows when ``None``) as Parquet files in
    ``directory``: one file per writing thread (at least two, at most four, none more than the row
    groups), each thread writing a row group of :data:`ROW_GROUP_ROWS` rows of its own first, then
    taking the next untaken one until none is left
    (pyarrow releases the GIL). A thread slowed by other work (the lake transaction runs beside the
    files) simply writes fewer row groups, so the threads finish within one row group of each other.
    Returns (path, rows) per file, one per thread. On any failure no
    file is left (each is written under a temporary name and renamed only when all succeeded)."""
    kept = KeptRows(table, keep)
    n = kept.num_rows
    groups = -(-n // ROW_GROUP_ROWS)
    if groups == 0:
        return []
    workers = max(2, min(threads or (os.cpu_count() or 1), 4))
    writers = min(workers, groups)
    dictionary = dictionary_columns(table)
    directory.mkdir(parents=True, exist_ok=True)
    # each thread starts with a row group of its own (so a batch is always ``writers`` files, however the
    # threads are scheduled), then takes the next untaken one; next() on a count is atomic under the GIL
    taken = itertools.count(writers)
    failing = threading.Event()

    def one(first: int) -> tuple[Path, Path, int] | None:
        writer: pq.ParquetWriter | None = None
        name = f"qe-bulk-{uuid.uuid4().hex}.parquet"
        tmp, rows = directory / f".{name}.incoming", 0
        try:
            g = first
            while g < groups and not failing.is_set():
                part = kept.slice(g * ROW_GROUP_ROWS, ROW_GROUP_ROWS)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, part.schema, **_PARQUET_OPTIONS, use_dictionary=dictionary)
                writer.write_table(part, row_group_size=ROW_GROUP_ROWS)
                rows += part.num_rows
                g = next(taken)
            if writer is not None:
                writer.close()
        except BaseException:
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()
            tmp.unlink(missing_ok=True)
            failing.set()  # the other threads stop at their next row group
            raise
        return (tmp, directory / name, rows) if writer is not None else None

    with ThreadPoolExecutor(writers, thread_name_prefix="qe-bulk") as pool:
        futures = [pool.submit(one, i) for i in range(writers)]
    failed = [f.exception() for f in futures if f.exception() is not None]
    written = [w for f in futures if f.exception() is None and (w := f.result()) is not None]
    if failed:  # no half-written batch: remove the files that did succeed
        for tmp, _, _ in written:
            tmp.unlink(missing_ok=True)
        raise failed[0]  # type: ignore[misc]
    out = []
    for tmp, final, rows in written:
        os.replace(tmp, final)
        log.debug("bulk file %s: %d rows", final, rows)
        out.append((final, rows))
    return out


class BulkFiles:
    """Parquet files of one bulk append, written on a background thread. A writer registers them in
    its transaction (:meth:`warehouse.writer.LakeWriter.adopt`); :meth:`discard` deletes them
    unless a committed transaction owns them."""

    def __init__(self, table: str, future: Future[list[tuple[Path, int]]],
                 constants: Mapping[str, Any] | None = None) -> None:
        self.table = table
        self.constants = dict(constants or {})  # the per-file columns (the writer's fences read them)
        self._future = future
        self.committed = False  # set by the writer once its transaction committed

    def files(self) -> list[tuple[Path, int]]:
        """Wait for the files; (path, rows) of each."""
        return self._future.result()

    def discard(self) -> None:
        """Delete the files (waiting for them first) unless a committed transaction owns them."""
        if self.committed:
            return
        with contextlib.suppress(BaseException):
            for path, _ in self._future.result():
                path.unlink(missing_ok=True)


def target_directory(con: duckdb.DuckDBPyConnection, spec: TableSpec, constants: Mapping[str, Any] | None) -> Path | None:
    """The directory a bulk append of ``spec`` with these per-file ``constants`` writes its files in,
    or ``None`` when the fast path does not apply (see the module docstring)."""
    const = dict(constants or {})
    part = partition_directory(spec, const)
    directory = table_directory(con, spec.name) if part is not None else None
    if directory is None or part is None:
        return None
    return directory / part if part else directory


def stage(con: duckdb.DuckDBPyConnection | None, spec: TableSpec, data: pa.Table, constants: Mapping[str, Any] | None,
          keep: pa.Array | None, directory: Path | None = None) -> BulkFiles | None:
    """Check ``data`` like any write and start writing its files in the background; ``None`` when
    the fast path does not apply (see the module docstring). ``directory``: the one
    :func:`target_directory` gave for the same table and constants (then ``con`` is not used)."""
    const = dict(constants or {})
    if directory is None:
        directory = target_directory(con, spec, const) if con is not None else None
    if directory is None:
        return None
    check_constants(spec, const)
    if keep is not None and len(keep) != data.num_rows:
        raise ValueError(f"keep has {len(keep)} values for {data.num_rows} rows")
    table = bulk_file_table(spec, conform(data, spec, omit=const, rows=keep, dictionaries=True), const)
    pool = ThreadPoolExecutor(1, thread_name_prefix="qe-bulk-writer")
    future = pool.submit(write_bulk_files, directory, table, keep)
    pool.shutdown(wait=False)
    return BulkFiles(spec.name, future, const)
