"""The lake side of a survey ingest: what one transaction reads and writes.

:func:`look_up` reads, early in the transaction, what the ingest needs from the lake (whether this
batch ran before, the observations already landed, the open errors of earlier files);
:func:`write_batch` then compares the checked rows with what landed, lands the new rows (the bulk
files staged meanwhile), records every problem in ``survey_issues``, supersedes earlier errors and
writes the ``raw_files`` and ``ingest_batches`` rows. See :mod:`expedition.surveys.ingest` for the
order of the whole ingest.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from expedition.surveys.errors import SurveyRejected
from expedition.surveys.kinds import KindSpec
from expedition.surveys.problems import concat_problems, describe, problems_at
from expedition.surveys.validate import Validated, error_mask
from warehouse import sqlfiles
from warehouse.archive import ArchivedFile
from warehouse.errors import WarehouseError
from warehouse.lake import LakeWriter
from warehouse.tables.surveys import SURVEY_ISSUES
from warehouse.tables.system import INGEST_BATCHES

if TYPE_CHECKING:
    from expedition.surveys.mapping import Mapping
    from warehouse.bulk import BulkFiles

__all__ = ["IngestReport", "Looked", "Prepared", "look_up", "observation_rows", "write_batch"]

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest did (also what the CLI prints)."""

    expedition_id: str
    kind: str
    file_name: str
    raw_sha256: str
    batch_id: str
    already_ingested: bool = False
    rows_read: int = 0
    rows_landed: int = 0
    rows_unchanged: int = 0
    rows_quarantined: int = 0
    errors: int = 0
    warnings: int = 0
    superseded: int = 0
    column_sources: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    problems: pa.Table | None = None

    def summary(self) -> str:
        if self.already_ingested:
            return (f"{self.file_name}: already ingested for {self.expedition_id} as {self.kind} "
                    f"(batch {self.batch_id[:12]}); nothing to do")
        return (f"{self.file_name} -> {self.kind} of {self.expedition_id}: {self.rows_read} rows read, "
                f"{self.rows_landed} landed, {self.rows_unchanged} unchanged, {self.rows_quarantined} quarantined "
                f"({self.errors} errors), {self.warnings} warnings, {self.superseded} earlier errors superseded")

    def problem_lines(self, limit: int = 20) -> list[str]:
        return describe(self.problems, self.file_name, limit) if self.problems is not None else []

    def lines(self, limit: int = 20) -> list[str]:
        """The summary line, then the first ``limit`` problems (for logs and flow artifacts)."""
        return [self.summary(), *self.problem_lines(limit)]


@dataclass(frozen=True)
class Looked:
    """What the transaction reads from the lake before the rows are ready."""

    seen: bool  # this very batch was ingested before
    landed: pa.Array  # observation ids of the expedition already in the kind's table
    open_errors: pa.Table  # keys of the expedition's open errors of this kind (survey_open_error_keys)


def look_up(con: duckdb.DuckDBPyConnection, batch_id: str, kind: KindSpec, expedition_id: str) -> Looked:
    con.execute("SET enable_progress_bar = false")  # no DuckDB bar on the user's terminal
    if con.execute(sqlfiles.query("survey_batch_seen").sql, {"batch_id": batch_id}).fetchall():
        return Looked(True, pa.array([], pa.string()), pa.table({}))
    open_errors = con.execute(sqlfiles.query("survey_open_error_keys").sql,
                              {"expedition_id": expedition_id, "kind": kind.name}).to_arrow_table()
    return Looked(False, _landed_ids(con, kind, expedition_id), open_errors)


@dataclass(frozen=True)
class Prepared:
    """One survey file, read, checked and archived, ready for the writer's transaction."""

    checked: Validated
    raw: pa.Table  # the records as read, for the quarantine's raw_row_json
    fmt: str
    archived: ArchivedFile
    archived_labels: ArchivedFile | None
    mapping: Mapping | None
    started: dt.datetime
    constants: dict[str, object]  # the per-file columns of every observation row
    local_land: pa.Array  # rows without file-local errors (what the staged files hold)


def write_batch(w: LakeWriter, report: IngestReport, p: Prepared, staged: BulkFiles | None, strict: bool,
                 looked: Looked) -> None:
    """Everything of one ingest inside the writer's transaction (see the module docstring), after
    the reads of :func:`look_up` in the same transaction."""
    checked, archived, constants = p.checked, p.archived, p.constants
    expedition_id, now = report.expedition_id, p.started  # also the rows' ingested_time_utc
    if looked.seen:
        report.already_ingested = True
        log.info("survey file %s already ingested (batch %s)", report.file_name, report.batch_id)
        return
    problems, unchanged = _against_lake(w.con, checked, expedition_id, looked.landed)
    errors = error_mask(problems, checked.num_rows)
    report.problems = problems
    report.errors = int(pc.sum(pc.equal(problems["issue_severity"], "error")).as_py() or 0)
    report.warnings = problems.num_rows - report.errors
    report.rows_quarantined = int(pc.sum(errors).as_py() or 0)
    report.rows_unchanged = int(pc.sum(pc.and_(unchanged, pc.invert(errors))).as_py() or 0)
    if strict and report.errors:
        raise SurveyRejected(
            f"{report.file_name}: rejected (--strict): {report.rows_quarantined} of {report.rows_read} rows have "
            f"{report.errors} errors; nothing was written. First problems:\n  "
            + "\n  ".join(report.problem_lines(10)),
            report.problem_lines(1000),
        )
    # keys are new: repeats inside the file and against the lake were removed above, under the lock
    land = pc.invert(pc.or_(errors, unchanged))
    table = checked.kind.table.name
    if staged is not None and pc.all(pc.equal(land, p.local_land)).as_py():
        landing = w.adopt(staged)
    else:  # rows landed before changed the selection (a re-ingest): write the files again, in the background
        if staged is not None:
            staged.discard()
        landing = w.start_bulk(table, observation_rows(checked), constants, keep=land)
    report.rows_landed = int(pc.sum(land).as_py() or 0)
    report.superseded = _supersede(w, checked, expedition_id, archived.sha256, now, looked.open_errors)
    # append: every issue id hashes this batch's id, which the transaction found new above (and
    # _issue_rows keeps one row per id), so no anti-join over all the lake's issues is needed
    w.write(SURVEY_ISSUES.name, _issue_rows(w.con, checked, problems, p.raw, expedition_id, archived,
                                            report.batch_id, now), mode="append")
    for a in (archived, p.archived_labels):
        if a is not None:
            w.write("raw_files", a.as_row(f"survey/{p.fmt}"), mode="insert_new")
    # append: this transaction found no row of this batch id above (a concurrent twin conflicts on the same fence)
    w.write(INGEST_BATCHES.name, _batch_row(report, archived, p.started, p.mapping, p.archived_labels), mode="append")
    landed = landing.finish().inserted
    if landed != report.rows_landed:  # only a broken writer could do this: never commit it
        raise WarehouseError(f"{report.file_name}: {landed} observation rows written, {report.rows_landed} expected")
    w.set_commit_message("survey", f"ingest {report.file_name} into {expedition_id} ({checked.kind.name})")


def _against_lake(con: duckdb.DuckDBPyConnection, v: Validated, expedition_id: str,
                  landed: pa.Array) -> tuple[pa.Table, pa.Array]:
    """Compare with what already landed (inside the writer lock). Returns all problems, with an error
    for each observation that landed before with other values, and the mask of rows that landed
    before with the same values (skipped, not errors)."""
    n = v.num_rows
    if len(landed) == 0:
        return v.problems, pa.array(np.zeros(n, dtype=bool))
    found = pc.is_in(v.table["observation_id"], value_set=landed)
    if not pc.any(found).as_py():
        return v.problems, pa.array(np.zeros(n, dtype=bool))
    old = _landed_rows(con, v, expedition_id, pc.filter(v.table["observation_id"], found))
    at = pc.index_in(v.table["observation_id"], value_set=old["observation_id"])
    same: pa.Array | pa.ChunkedArray = found
    for name in v.table.column_names:
        mine = v.table[name]
        if pa.types.is_dictionary(mine.type):  # coded text (see validate): compare the values
            mine = mine.cast(mine.type.value_type)
        theirs = pc.take(old[name], at).cast(mine.type)
        equal = pc.or_kleene(pc.equal(mine, theirs), pc.and_(pc.is_null(mine), pc.is_null(theirs)))
        same = pc.and_(same, pc.fill_null(equal, False))
    conflict = pc.and_(found, pc.invert(same))
    where = pc.binary_join_element_wise(
        "already landed from ", pc.coalesce(pc.take(old[_LANDED_NAME], at), pc.take(old[_LANDED_SHA], at)),
        " row ", pc.cast(pc.take(old[_LANDED_ROW], at), pa.string()), " with other values", "")
    kid = v.kind.natural_id[0] if v.kind.natural_id else "observation_id"
    extra = problems_at(conflict, v.row_numbers, column=kid, values=v.table["observation_id"],
                        expected="a new observation, or the same values as the one already landed",
                        reason=where, check="duplicate")
    return concat_problems([v.problems, extra]), same


# Where a landed observation came from, read beside its columns (names no observation column has).
_LANDED_SHA, _LANDED_ROW, _LANDED_NAME = "landed_raw_sha256", "landed_raw_row_number", "landed_raw_original_name"


def _landed_ids(con: duckdb.DuckDBPyConnection, kind: KindSpec, expedition_id: str) -> pa.Array:
    """Observation ids of the expedition already in the kind's own table (in the writer's transaction).

    One table and one column: DuckLake plans a statement with a catalog query per column of each empty
    table it reads (duckdb/ducklake#1313), so the union of every kind's keys cost several times more."""
    rows = con.execute(f'SELECT observation_id FROM lake."{kind.table.name}" WHERE expedition_id = $expedition_id',
                       {"expedition_id": expedition_id}).to_arrow_table()
    return rows["observation_id"].combine_chunks()


def _landed_rows(con: duckdb.DuckDBPyConnection, v: Validated, expedition_id: str, ids: pa.Array) -> pa.Table:
    """Landed rows of ``ids`` and the file and row each came from (read in the writer's transaction;
    table and column names from the spec)."""
    spec = v.kind.table
    cols = ", ".join(f'ST_AsWKB(o."{c}") AS "{c}"' if c in spec.geometry_columns else f'o."{c}"' for c in v.table.column_names)
    con.register("survey_repeat_ids", pa.table({"observation_id": ids}))
    try:
        return con.execute(
            f'SELECT {cols}, o.raw_sha256 AS {_LANDED_SHA}, o.raw_row_number AS {_LANDED_ROW}, '
            f'r.raw_original_name AS {_LANDED_NAME} FROM lake."{spec.name}" o LEFT JOIN lake.raw_files r USING (raw_sha256) '
            "WHERE o.expedition_id = $expedition_id AND o.observation_id IN (SELECT observation_id FROM survey_repeat_ids)",
            {"expedition_id": expedition_id},
        ).to_arrow_table()
    finally:
        con.unregister("survey_repeat_ids")


def observation_rows(v: Validated) -> pa.Table:
    """The observation rows without the per-file constants (the writer binds those once)."""
    return v.table.append_column("raw_row_number", v.row_numbers)


def _supersede(w: LakeWriter, v: Validated, expedition_id: str, raw_sha: str, now: dt.datetime,
               open_errors: pa.Table) -> int:
    """Mark open errors of earlier files about observations this file repeats as superseded by it
    (``open_errors``: the keys of the open errors, read earlier in the same transaction)."""
    if open_errors.num_rows == 0:
        return 0
    hit = pc.and_(pc.is_in(open_errors["observation_match_key"], value_set=pc.unique(v.match_keys())),
                  pc.not_equal(open_errors["raw_sha256"], raw_sha))
    ids = open_errors.filter(hit).select(["issue_id"])
    if ids.num_rows == 0:
        return 0
    w.con.register("survey_issue_ids", ids)
    try:
        old = w.con.execute(sqlfiles.query("survey_issues_selected").sql,
                            {"expedition_id": expedition_id}).to_arrow_table()
    finally:
        w.con.unregister("survey_issue_ids")
    k = old.num_rows
    old = old.set_column(old.schema.get_field_index("superseded"), "superseded", pa.repeat(pa.scalar(True), k))
    old = old.set_column(old.schema.get_field_index("superseded_by_raw_sha256"), "superseded_by_raw_sha256",
                         pa.repeat(pa.scalar(raw_sha, pa.string()), k))
    old = old.set_column(old.schema.get_field_index("superseded_time_utc"), "superseded_time_utc",
                         pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), k))
    w.write(SURVEY_ISSUES.name, old, mode="upsert")
    return k


def _raw_json(con: duckdb.DuckDBPyConnection, raw: pa.Table, rows: pa.Array) -> pa.Array:
    """The raw records at ``rows`` as JSON objects (one DuckDB ``to_json`` over the subset)."""
    subset = raw.take(rows)
    con.register("survey_raw_rows", subset)
    try:
        return con.execute("SELECT to_json(r) AS j FROM survey_raw_rows r").to_arrow_table()["j"].combine_chunks()
    finally:
        con.unregister("survey_raw_rows")


def _issue_rows(con: duckdb.DuckDBPyConnection, v: Validated, problems: pa.Table, raw: pa.Table,
                expedition_id: str, archived: ArchivedFile, batch_id: str, now: dt.datetime) -> pa.Table:
    k = problems.num_rows
    if k == 0:
        return SURVEY_ISSUES.empty()
    idx = problems["row_index"]
    uniq = pc.unique(idx)
    json_rows = pc.take(_raw_json(con, raw, uniq), pc.index_in(idx, value_set=uniq))
    ids = pc.binary_join_element_wise(
        batch_id, pc.cast(problems["raw_row_number"], pa.string()), pc.fill_null(problems["issue_column"], ""),
        problems["issue_check"], "|")
    con.register("survey_issue_keys", pa.table({"s": ids}))
    try:
        hashed = con.execute("SELECT left(sha256(s), 32) AS h FROM survey_issue_keys").to_arrow_table()["h"]
    finally:
        con.unregister("survey_issue_keys")
    const = {
        "expedition_id": expedition_id, "observation_kind": v.kind.name, "raw_sha256": archived.sha256,
        "raw_file_name": archived.original_name, "ingest_batch_id": batch_id,
    }
    cols = {
        "issue_id": hashed,
        **{name: pa.repeat(pa.scalar(value, pa.string()), k) for name, value in const.items()},
        "issue_severity": problems["issue_severity"],
        "issue_check": problems["issue_check"],
        "raw_row_number": problems["raw_row_number"],
        "issue_column": problems["issue_column"],
        "issue_value": problems["issue_value"],
        "issue_expected": problems["issue_expected"],
        "issue_reason": problems["issue_reason"],
        "raw_row_json": json_rows,
        "observation_match_key": v.match_keys(idx),
        "superseded": pa.repeat(pa.scalar(False), k),
        "superseded_by_raw_sha256": pa.nulls(k, pa.string()),
        "superseded_time_utc": pa.nulls(k, pa.timestamp("us", tz="UTC")),
        "recorded_time_utc": pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), k),
    }
    return _first_per_id(pa.table({c: cols[c] for c in SURVEY_ISSUES.columns}))


def _first_per_id(issues: pa.Table) -> pa.Table:
    """The first row of each ``issue_id`` (a row can be reported twice for the same column and check:
    a repeat inside the file that also differs from what landed before)."""
    codes = np.asarray(pc.dictionary_encode(issues["issue_id"].combine_chunks()).indices.to_numpy())
    _, first = np.unique(codes, return_index=True)
    if len(first) == issues.num_rows:
        return issues
    return issues.take(pa.array(np.sort(first)))


def _batch_row(r: IngestReport, a: ArchivedFile, started: dt.datetime, m: Mapping | None,
               labels: ArchivedFile | None) -> pa.Table:
    note = json.dumps({
        "expedition_id": r.expedition_id, "kind": r.kind, "mapping": str(m.path) if m else None,
        "mapping_sha256": m.sha256 if m else None, "labels_sha256": labels.sha256 if labels else None,
        "unchanged": r.rows_unchanged, "quarantined": r.rows_quarantined, "errors": r.errors,
        "warnings": r.warnings, "superseded": r.superseded,
    })
    row = {
        "batch_id": r.batch_id, "batch_kind": "survey_file", "source_name": a.original_name,
        "source_uri": str(a.path), "raw_sha256": a.sha256, "started_utc": started,
        "finished_utc": dt.datetime.now(dt.UTC), "rows_read": r.rows_read, "rows_written": r.rows_landed, "note": note,
    }
    return pa.Table.from_pylist([row], schema=INGEST_BATCHES.schema)
