"""Ingest one survey file: archive it, read it, validate it, write it in one lake transaction.

Order of work for ``ingest_file``:

1. the raw file (and its labels file) is archived by content hash, before anything else;
2. it is read, mapped to the kind's fields and validated (vectorised; see ``validate``);
3. one lake transaction: if the same file was already ingested the same way (same expedition,
   kind, file, labels file and mapping) nothing happens; else rows repeating an observation already
   landed with the same values are skipped, rows repeating one with *other* values are errors,
   valid rows land in the kind's table, every problem lands in ``survey_issues`` (errors quarantine
   their row, warnings do not), open errors of earlier files about the same observations are marked
   superseded by this file (never deleted), and the ``raw_files`` and ``ingest_batches`` rows are
   written. ``strict=True`` rejects the whole file on any error, writing nothing.

Steps overlap on the machine's cores: the archive, the opening of the lake and the lookup of where
the observation files go run beside reading and checking; the transaction opens (taking the writer
lock) once the kind is known and reads what it needs from the lake while the rows are checked; the
observation files are written while it goes on (:mod:`expedition.surveys.landing` holds the
transaction's side). Any failure before the rows are handed over rolls it back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow.compute as pc

from expedition.surveys.context import SurveyContext
from expedition.surveys.errors import SurveyInputError
from expedition.surveys.kinds import KindSpec, kind_spec
from expedition.surveys.landing import IngestReport, Prepared, look_up, observation_rows, write_batch
from expedition.surveys.mapping import Mapping, load_mapping, to_canonical
from expedition.surveys.readers import read_survey_file
from expedition.surveys.validate import error_mask, validate
from warehouse.archive import ArchivedFile, archive_file, safe_name
from warehouse.errors import WarehouseError
from warehouse.lake import Lake, LakeWriter

if TYPE_CHECKING:
    from expedition.settings import Settings
    from warehouse.bulk import BulkFiles

__all__ = ["IngestReport", "ingest_file", "ingest_survey_file"]

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def _sha(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def ingest_file(  # noqa: PLR0913
    lake: Lake,
    path: Path | str,
    context: SurveyContext,
    *,
    kind: str | None = None,
    mapping: Mapping | Path | str | None = None,
    labels: Path | str | None = None,
    strict: bool = False,
    raw_dir: Path | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest ``path`` into ``context``'s expedition (see the module docstring)."""
    step = progress or (lambda _msg: None)
    path = Path(path)
    m = load_mapping(mapping) if isinstance(mapping, Path | str) else mapping
    raw_dir = raw_dir or lake.home / "raw"
    for given in (path, labels):  # a directory or a missing file: a clear error, not an OSError from the archive
        if given is not None and not Path(given).is_file():
            raise SurveyInputError(f"{given}: no such file")
    step("archiving")
    # The archive copy and hash run on a second thread while the file is read and checked, and the
    # lake is opened on a third; nothing is written, reported or raised before the archive is done,
    # so even a file that cannot be read is kept. Once the kind is known, the lake transaction opens
    # on a fourth thread and reads what it needs from the lake while the rows are checked; it goes
    # on once they are handed over (or rolls back, when the ingest fails first).
    ready: Future[tuple[IngestReport, Prepared, BulkFiles | None]] = Future()
    staged: BulkFiles | None = None
    transaction = ThreadPoolExecutor(1, thread_name_prefix="qe-ingest-writer")
    try:
        with ThreadPoolExecutor(2, thread_name_prefix="qe-ingest") as pool:
            before = _stat(path, labels)
            archiving = pool.submit(_archive, raw_dir, path, labels)
            pool.submit(lake.warm)  # best effort: the writer below opens it anyway and reports errors
            try:
                step("reading")
                raw = read_survey_file(path, sheet=m.sheet if m else None, encoding=m.encoding if m else None,
                                       name=str(path))
                raw_labels = (read_survey_file(Path(labels), encoding=m.encoding if m else None, name=str(labels))
                              if labels is not None else None)
                spec = kind_spec(kind) if kind else None
                canon = to_canonical(raw, spec, m, raw_labels)
                # where the observation files will go, looked up while the rows are checked
                target = pool.submit(_bulk_directory, lake, canon.kind.table.name, context.expedition_id)
                writing = transaction.submit(_transaction, lake, path.name, canon.kind, context.expedition_id,
                                             lambda: _batch_id(context, canon.kind.name, archiving.result(), m),
                                             ready, strict)
                step("validating")
                checked = validate(canon, context, raw.problems, file_name=safe_name(path.name))
            except BaseException:
                archiving.result()
                raise
            archived, archived_labels = archiving.result()
        if _stat(path, labels) != before:
            raise SurveyInputError(f"{path}: the file changed while it was being ingested; nothing was written "
                                   "(the copy taken is archived); ingest it again once it is complete")
        batch_id = _batch_id(context, canon.kind.name, (archived, archived_labels), m)
        report = IngestReport(context.expedition_id, canon.kind.name, path.name, archived.sha256, batch_id,
                              rows_read=raw.num_rows, column_sources=canon.sources, ignored_columns=canon.ignored)
        step("writing")
        started = now = dt.datetime.now(dt.UTC)
        table = checked.kind.table.name
        constants = {"expedition_id": context.expedition_id, "raw_sha256": archived.sha256,
                     "ingest_batch_id": batch_id, "ingested_time_utc": now}
        # The observation files are written on a background thread from now on (invisible until the
        # transaction adopts them), keeping the rows without file-local errors. In the transaction,
        # only a re-ingest changes that selection (rows landed before): then the files are discarded
        # and written again with the final one. A file ingested before discards them unused.
        local_land = pc.invert(error_mask(checked.problems, checked.num_rows))
        if not (strict and pc.any(pc.invert(local_land)).as_py()):
            staged = lake.stage_bulk(table, observation_rows(checked), constants, keep=local_land,
                                     directory=target.result())
        ready.set_result((report, Prepared(checked, canon.raw, raw.format, archived, archived_labels, m, started,
                                            constants, local_land), staged))
        report = writing.result()
    except BaseException:
        if not ready.done():  # the transaction (if it started) rolls back
            ready.set_exception(_Abandoned())
        raise
    finally:
        transaction.shutdown(wait=True)  # the transaction has ended: committed or rolled back
        if staged is not None:
            staged.discard()  # a no-op once a committed transaction registered them
    log.info("%s", report.summary())
    return report


class _Abandoned(Exception):
    """The ingest failed before its rows were ready: the transaction that waits for them rolls back."""


def _batch_id(context: SurveyContext, kind: str, archived: tuple[ArchivedFile, ArchivedFile | None],
              m: Mapping | None) -> str:
    """The batch id: a hash of the expedition, kind, archived file and labels file and mapping."""
    main, labels = archived
    return _sha(context.expedition_id, kind, main.sha256, labels.sha256 if labels else "", m.sha256 if m else "")[:32]


def _transaction(lake: Lake, name: str, kind: KindSpec, expedition_id: str, batch_id: Callable[[], str],
                 ready: Future[tuple[IngestReport, Prepared, BulkFiles | None]], strict: bool) -> IngestReport:
    """The ingest's lake transaction: reads what it needs from the lake, waits for the rows, writes."""

    # A run again after a write conflict (PostgreSQL catalog) re-reads the lake and writes its
    # files again: the staged ones were deleted with the rolled-back transaction.
    def attempt(w: LakeWriter) -> IngestReport:
        looked = look_up(w.con, batch_id(), kind, expedition_id)
        report, prepared, staged = ready.result()
        fresh = replace(report)  # nothing of a rolled-back attempt carries over
        write_batch(w, fresh, prepared, staged if w.attempt == 1 else None, strict, looked)
        return fresh

    # the writer reads tables only: no views to define
    return lake.run_writer(attempt, what=f"survey {name}", views=False)


def _bulk_directory(lake: Lake, table: str, expedition_id: str) -> Path | None:
    """:meth:`Lake.bulk_directory` of the kind's table, ``None`` on any error (then staging looks it
    up again and reports the error itself)."""
    try:
        return lake.bulk_directory(table, {"expedition_id": expedition_id})
    except (WarehouseError, duckdb.Error):
        return None


def _stat(path: Path, labels: Path | str | None) -> list[tuple[int, int]]:
    """Size and modification time of the inputs (a change during the ingest is refused)."""
    return [(st.st_size, st.st_mtime_ns) for st in (Path(p).stat() for p in (path, labels) if p is not None)]


def _archive(raw_dir: Path, path: Path, labels: Path | str | None) -> tuple[ArchivedFile, ArchivedFile | None]:
    return archive_file(raw_dir, path), archive_file(raw_dir, Path(labels)) if labels is not None else None


def ingest_survey_file(  # noqa: PLR0913
    lake: Lake,
    settings: Settings,
    expedition_id: str,
    path: Path | str,
    *,
    kind: str | None = None,
    mapping: Mapping | Path | str | None = None,
    labels: Path | str | None = None,
    strict: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """:func:`ingest_file` for an expedition id: reads its window and area from the expedition record
    (:class:`~expedition.surveys.errors.UnknownExpedition` when it does not exist)."""
    from expedition.surveys.context import context_for

    ctx = context_for(lake, expedition_id, settings)
    return ingest_file(lake, path, ctx, kind=kind, mapping=mapping, labels=labels, strict=strict,
                       raw_dir=settings.raw_dir, progress=progress)
