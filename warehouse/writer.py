"""Writing to the lake: one transaction, under the single-writer lock on a SQLite catalog, claiming
the fence of every table it writes on a PostgreSQL catalog (see :meth:`Lake.writer` and
:mod:`warehouse.concurrency`).

:class:`LakeWriter` checks rows against the declared table schemas and writes them in three
modes (``insert_new``, ``upsert``, ``append``), or as bulk Parquet files registered in the same
transaction (:mod:`warehouse.bulk`). :func:`file_lock` is the lock itself: an ``flock`` the kernel
releases even when the process is killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import numpy as np
import pyarrow as pa

from warehouse.concurrency import claim_fence, fence_name
from warehouse.config import LAKE_ALIAS
from warehouse.errors import WarehouseBusy
from warehouse.schema import TableSpec, check_constants, conform, duckdb_type
from warehouse.tables import spec as table_spec

if TYPE_CHECKING:
    from warehouse.bulk import BulkFiles

__all__ = ["LAKE_ALIAS", "LakeWriter", "WriteMode", "WriteResult", "file_lock"]

#: The name the lake is attached under in every connection (``lake.events``).
WriteMode = Literal["append", "insert_new", "upsert"]


@dataclass(frozen=True)
class WriteResult:
    table: str
    inserted: int
    updated: int


class _Started:
    """A bulk append under way; ``finish()`` completes it once and returns its result."""

    def __init__(self, complete: Callable[[], WriteResult]) -> None:
        self._complete = complete
        self._result: WriteResult | None = None

    def finish(self) -> WriteResult:
        if self._result is None:
            self._result = self._complete()
        return self._result


class LakeWriter:
    """Writes inside one lake transaction; see :meth:`Lake.writer`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, bulk_append: bool = True, *, fences: bool = False,
                 attempt: int = 1) -> None:
        self.con = con
        self.bulk_append = bulk_append
        self.committed = False
        #: 1 for the first run of a transaction, 2.. when :meth:`Lake.run_writer` runs it again
        self.attempt = attempt
        self._fences = fences
        self._claimed: set[str] = set()
        self._n = 0
        self._staged: dict[int, tuple[BulkFiles, WriteResult | None]] = {}  # adopted bulk files, by id

    def append_bulk(self, name: str, data: pa.Table, constants: Mapping[str, Any] | None = None,
                    keep: pa.Array | None = None) -> WriteResult:
        """Append the rows of ``data`` where ``keep`` is true (all when ``None``; keys known to be new)
        as new Parquet files registered in the lake.

        Same result as ``write(name, data.filter(keep), mode="append", constants=constants)``, which it
        falls back to when the fast path does not apply (see :mod:`warehouse.bulk`); several times
        faster for large batches. Partition columns must be given as ``constants``."""
        return self.start_bulk(name, data, constants, keep).finish()

    def start_bulk(self, name: str, data: pa.Table, constants: Mapping[str, Any] | None = None,
                   keep: pa.Array | None = None) -> _Started:
        """:meth:`append_bulk` in two steps: the Parquet files are written on a background thread
        while this transaction goes on with other statements; ``.finish()`` registers them (the
        commit does it too). If the transaction fails, the files are waited for and deleted."""
        from warehouse import bulk

        staged = bulk.stage(self.con, table_spec(name), data, constants, keep) if self.bulk_append else None
        if staged is None:
            rows = data if keep is None else data.filter(keep)
            return _Started(lambda: self.write(name, rows, mode="append", constants=constants))
        return self.adopt(staged)

    def adopt(self, staged: BulkFiles) -> _Started:
        """Take bulk files staged before the transaction (:meth:`Lake.stage_bulk`) into it: they are
        registered by ``.finish()`` or at the commit, and deleted if the transaction fails."""
        self._staged.setdefault(id(staged), (staged, None))
        return _Started(lambda: self._register(staged))

    def claim(self, name: str, values: Iterable[Any] | None = None) -> None:
        """Make this transaction conflict with any other that writes table ``name`` (or, for a table
        with ``fence_by``, the same buckets of ``values``) and commits first (PostgreSQL catalog; a
        no-op under the SQLite lock). Every write claims its table; call it directly when a decision
        rests on reading a table this transaction does not write."""
        if not self._fences:
            return
        names = sorted({fence_name(name, v) for v in values}) if values is not None else [name]
        for fence in names:
            if fence not in self._claimed:
                claim_fence(self.con, fence)
                self._claimed.add(fence)

    def _claim_rows(self, spec: TableSpec, table: pa.Table | None, constants: Mapping[str, Any]) -> None:
        """Claim the fences of the rows about to be written (by ``spec.fence_by`` when set)."""
        col = spec.fence_by
        if col is None:
            self.claim(spec.name)
        elif col in constants:
            self.claim(spec.name, [constants[col]])
        elif table is not None and col in table.column_names:
            self.claim(spec.name, table.column(col).unique().to_pylist())
        else:
            self.claim(spec.name)

    def _register(self, staged: BulkFiles) -> WriteResult:
        """Add the staged files to this transaction (once)."""
        done = self._staged[id(staged)][1]
        if done is not None:
            return done
        written = staged.files()
        if written:
            self._claim_rows(table_spec(staged.table), None, staged.constants)
        for path, _ in written:
            self.con.execute("CALL ducklake_add_data_files(?, ?, ?)", [LAKE_ALIAS, staged.table, str(path)])
        result = WriteResult(staged.table, sum(rows for _, rows in written), 0)
        self._staged[id(staged)] = (staged, result)
        return result

    def finish_pending(self) -> None:
        """Register bulk files the caller started but did not finish (before the commit)."""
        for staged, _ in list(self._staged.values()):
            self._register(staged)

    def settle(self, committed: bool) -> None:
        """After the transaction: committed bulk files now belong to the lake; those of a failed
        transaction are deleted (waiting for any still being written)."""
        self.committed = committed
        for staged, _ in self._staged.values():
            if committed:
                staged.committed = True
            else:
                staged.discard()

    def write(self, name: str, data: pa.Table, mode: WriteMode | None = None, *,
              constants: Mapping[str, Any] | None = None) -> WriteResult:
        """Write ``data`` into table ``name`` after checking it against the declared schema.

        * ``insert_new`` (default for append-only tables): rows whose key already exists are skipped;
        * ``upsert`` (default otherwise): new keys are inserted, changed rows replaced, equal rows untouched;
        * ``append``: insert as given (the caller guarantees the keys are new).
        Duplicate keys inside ``data`` keep their first row.

        ``constants`` gives columns that hold one value on every row (an expedition id, a file's
        hash, a batch id): they are bound once as parameters instead of travelling as repeated
        Arrow columns, which matters for a million rows.
        """
        spec = table_spec(name)
        mode = mode or ("insert_new" if spec.append_only else "upsert")
        const = dict(constants or {})
        check_constants(spec, const)
        table = conform(data, spec, omit=const)
        if table.num_rows == 0:
            return WriteResult(name, 0, 0)
        self._claim_rows(spec, table, const)
        self._n += 1
        view = f"_qe_in_{self._n}"
        table = table.append_column("__qe_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
        self.con.register(view, table)
        try:
            if not const:
                return self._write(spec, view, mode, {})
            params = {f"qe_const_{i}": value for i, value in enumerate(const.values())}
            exprs = ", ".join(
                f'CAST($qe_const_{i} AS {duckdb_type(spec.schema.field(col))}) AS "{col}"' for i, col in enumerate(const)
            )
            return self._write(spec, f"(SELECT v.*, {exprs} FROM {view} v)", mode, params)
        finally:
            self.con.unregister(view)

    def _write(self, spec: TableSpec, source: str, mode: WriteMode, params: dict[str, Any]) -> WriteResult:
        q = f'{LAKE_ALIAS}."{spec.name}"'
        key_match = " AND ".join(f'x."{k}" = i."{k}"' for k in spec.key)
        cols = ", ".join(f'"{c}"' for c in spec.columns)
        sel = ", ".join(
            f'ST_GeomFromWKB(i."{c}")' if c in spec.geometry_columns else f'i."{c}"' for c in spec.columns
        )
        keys = ", ".join(f'"{k}"' for k in spec.key)
        dedup = f"(SELECT * FROM {source} QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY __qe_row) = 1)"
        updated = 0
        if mode == "append":
            return WriteResult(spec.name, self._inserted(f"INSERT INTO {q} ({cols}) SELECT {sel} FROM {source} i", params), 0)
        if mode == "upsert":
            nonkey = [c for c in spec.columns if c not in spec.key]
            differs = " OR ".join(
                (f'ST_AsWKB(x."{c}") IS DISTINCT FROM i."{c}"' if c in spec.geometry_columns
                 else f'x."{c}" IS DISTINCT FROM i."{c}"')
                for c in nonkey
            ) or "FALSE"
            changed = self.con.execute(
                f"SELECT count(*) FROM {dedup} i JOIN {q} x ON {key_match} WHERE {differs}", params
            ).fetchone()
            updated = int(changed[0]) if changed else 0
            if updated:
                self.con.execute(
                    f"DELETE FROM {q} x WHERE EXISTS (SELECT 1 FROM {dedup} i WHERE {key_match} AND ({differs}))",
                    params,
                )
        inserted = self._inserted(
            f"INSERT INTO {q} ({cols}) SELECT {sel} FROM {dedup} i "
            f"WHERE NOT EXISTS (SELECT 1 FROM {q} x WHERE {key_match}) ORDER BY i.__qe_row",
            params,
        )
        return WriteResult(spec.name, inserted - updated, updated)

    def _inserted(self, sql: str, params: dict[str, Any]) -> int:
        """Run an INSERT and return how many rows it inserted (DuckDB reports the count)."""
        row = self.con.execute(sql, params).fetchone()
        return int(row[0]) if row else 0

    def delete(self, name: str, where_sql: str, params: list[Any]) -> None:
        """Delete rows of ``name`` matching a trusted predicate with bound ``params``."""
        table_spec(name)
        self.claim(name)
        self.con.execute(f'DELETE FROM {LAKE_ALIAS}."{name}" WHERE {where_sql}', params)

    def set_commit_message(self, author: str, message: str) -> None:
        """Record who made this snapshot and why (shown by ``lake.snapshots()``)."""
        self.con.execute("CALL ducklake_set_commit_message(?, ?, ?)", [LAKE_ALIAS, author, message])


@contextlib.contextmanager
def file_lock(path: Path, wait_s: float) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, released by the kernel even on SIGKILL."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + max(wait_s, 0.0)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = ""
                    with contextlib.suppress(OSError):
                        holder = Path(str(path) + ".owner").read_text().strip()
                    raise WarehouseBusy(
                        f"another writer holds the lake ({holder or 'unknown process'}); "
                        f"waited {wait_s:.0f} s. Retry later or raise QE_WRITER_WAIT_S."
                    ) from None
                time.sleep(0.05)
        with contextlib.suppress(OSError):
            Path(str(path) + ".owner").write_text(f"pid {os.getpid()} since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}")
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
