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
import logging
import os
import re
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

__all__ = ["ROW_GROUP_ROWS", "BulkFiles", "bulk_file_table", "kept_rows", "partition_directory", "stage",
           "table_directory", "target_directory", "write_bulk_files"]

log = logging.getLogger(__name__)

#: DuckDB's own row-group size: readers scan row groups in parallel.
ROW_GROUP_ROWS = 122_880
#: Parts (files) per writing thread: with two, a thread that got less CPU (the transaction runs beside
#: the files) is left with a smaller last part to finish alone.
PARTS_PER_THREAD = 2
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


def kept_rows(table: pa.Table, keep: pa.Array | pa.ChunkedArray, max_runs: int = 4096) -> pa.Table:
    """The rows of ``table`` where ``keep`` is true, as zero-copy slices of the runs of kept rows
    (a filter would copy every column to drop a few quarantined rows); a plain filter when the
    mask is too fragmented for that to pay."""
    mask = np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
    if mask.all():
        return table
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    if len(starts) == 0:
        return table.slice(0, 0)
    if len(starts) > max_runs:
        return table.filter(pa.array(mask))
    return pa.concat_tables([table.slice(int(a), int(b - a)) for a, b in zip(starts, ends, strict=True)])


def write_bulk_files(directory: Path, table: pa.Table, keep: pa.Array | None = None,
                     threads: int | None = None) -> list[tuple[Path, int]]:
    """Write the rows of ``table`` where ``keep`` is true (all rows when ``None``) as Parquet files in
    ``directory``, one per part, parts written in parallel threads (pyarrow releases the GIL).
    Returns (path, rows) per file; files with no rows are not written."""
    n = table.num_rows
    workers = max(1, min(threads or (os.cpu_count() or 1), 4))
    parts = max(1, min(PARTS_PER_THREAD * workers, n // (2 * ROW_GROUP_ROWS)))
    step = -(-n // parts)
    dictionary = dictionary_columns(table)
    directory.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> tuple[Path, int] | None:
        part = table.slice(i * step, step)
        if keep is not None:
            part = kept_rows(part, keep.slice(i * step, step))
        if part.num_rows == 0:
            return None
        return write_bulk_file(directory, part, dictionary), part.num_rows

    if parts == 1:
        return [w for w in [one(0)] if w is not None]
    with ThreadPoolExecutor(min(parts, workers), thread_name_prefix="qe-bulk") as pool:
        futures = [pool.submit(one, i) for i in range(parts)]
    done = [f.result() for f in futures if f.exception() is None]
    failed = [f.exception() for f in futures if f.exception() is not None]
    written = [w for w in done if w is not None]
    if failed:  # no half-written batch: remove the parts that did succeed
        for path, _ in written:
            path.unlink(missing_ok=True)
        raise failed[0]  # type: ignore[misc]
    return written


def write_bulk_file(directory: Path, table: pa.Table, dictionary: list[str] | bool = True) -> Path:
    """Write ``table`` to a new Parquet file in ``directory`` (temporary name, then rename)."""
    name = f"qe-bulk-{uuid.uuid4().hex}.parquet"
    final = directory / name
    tmp = directory / f".{name}.incoming"
    try:
        pq.write_table(table, tmp, compression="snappy", row_group_size=ROW_GROUP_ROWS, store_schema=False,
                       use_dictionary=dictionary, write_statistics=True)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    log.debug("bulk file %s: %d rows", final, table.num_rows)
    return final


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
