"""Write a brief: context at one lake snapshot -> document -> HTML, Markdown or PDF -> file + ``briefs`` row.

Brief versions are numbered per expedition by what they show: the same context (same hash) keeps its
version number, new data gives the next number. Files go under ``settings.briefs_dir/<expedition>/``
(temp name, then rename) unless ``out`` is given; the ``briefs`` table records version, snapshot,
hashes and path in one lake transaction. Rerunning on an unchanged lake rewrites the same file and
does not add a row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from expedition.errors import BriefError
from expedition.outputs.briefs.blocks import Document
from expedition.outputs.briefs.context import BriefContext, build_context
from expedition.outputs.briefs.document import build_document
from expedition.outputs.briefs.i18n import LANGS
from expedition.outputs.briefs.render_html import render_html
from expedition.outputs.briefs.render_md import render_md
from expedition.outputs.briefs.render_pdf import render_pdf
from warehouse.tables.briefs import BRIEFS

if TYPE_CHECKING:
    from expedition.settings import Settings
    from warehouse.lake import Lake, LakeWriter

__all__ = ["FORMATS", "BriefResult", "brief_version_for", "generate_brief", "generate_briefs", "render_brief"]

log = logging.getLogger(__name__)
FORMATS = ("html", "md", "pdf")


@dataclass(frozen=True)
class BriefResult:
    expedition_id: str
    path: Path
    version: int
    snapshot_id: int
    fmt: str
    lang: str
    context_sha256: str
    content_sha256: str
    advice_status: str


def brief_version_for(lake: Lake, ctx: BriefContext) -> int:
    """The version number of a brief with this context: the one already given to it, else the next."""
    con = lake.connect(read_only=True, snapshot=ctx.snapshot_id, views=False)
    try:
        rows = con.execute(
            "SELECT brief_version, context_sha256 FROM briefs WHERE expedition_id = ? ORDER BY brief_version",
            [ctx.expedition_id],
        ).fetchall()
    except duckdb.CatalogException:
        rows = []
    finally:
        con.close()
    same = [v for v, h in rows if h == ctx.sha256]
    return int(same[0]) if same else int(max((v for v, _ in rows), default=0)) + 1


def render_brief(ctx: BriefContext, fmt: str, lang: str, version: int, generated_utc: dt.datetime,
                 cache_dir: Path | None = None, image_stem: str = "brief",
                 font_url: str | None = None) -> tuple[bytes, dict[str, bytes]]:
    """Bytes of the brief (and, for Markdown, its images by file name); ``font_url``: the CJK web font of
    a served HTML page."""
    if fmt not in FORMATS:
        raise BriefError(f"unknown brief format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if lang not in LANGS:
        raise BriefError(f"unknown brief language {lang!r}: expected one of {', '.join(LANGS)}")
    return _render(build_document(ctx, lang, version, generated_utc, cache_dir), fmt, generated_utc, image_stem,
                   font_url)


def _render(doc: Document, fmt: str, generated_utc: dt.datetime, image_stem: str,
            font_url: str | None = None) -> tuple[bytes, dict[str, bytes]]:
    if fmt == "html":
        return render_html(doc, font_url), {}
    if fmt == "md":
        return render_md(doc, image_stem)
    return render_pdf(doc, generated_utc), {}


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def generate_brief(lake: Lake, settings: Settings, expedition_id: str, fmt: str = "html", lang: str = "en",
                   out: Path | None = None, snapshot: int | None = None,
                   now: dt.datetime | None = None) -> BriefResult:
    """Build, render, write and record the brief of ``expedition_id`` (see the module docstring)."""
    return generate_briefs(lake, settings, expedition_id, (fmt,), lang, out, snapshot, now)[0]


def generate_briefs(lake: Lake, settings: Settings, expedition_id: str, formats: Sequence[str] = ("html", "md"),
                    lang: str | Sequence[str] = "en", out: Path | None = None, snapshot: int | None = None,
                    now: dt.datetime | None = None) -> list[BriefResult]:
    """:func:`generate_brief` in several formats (and languages: ``lang`` may name several) from ONE context
    (one lake snapshot, one version number) and one lake transaction for their ``briefs`` rows: the same
    files and rows as one call per format and language, at the cost of one context and one document per
    language. ``out`` applies to a single format and language only."""
    langs = (lang,) if isinstance(lang, str) else tuple(dict.fromkeys(lang))
    if out is not None and (len(formats) != 1 or len(langs) != 1):
        raise BriefError("an output path takes one brief format and one language")
    for fmt in formats:  # refuse before any work
        if fmt not in FORMATS:
            raise BriefError(f"unknown brief format {fmt!r}: expected one of {', '.join(FORMATS)}")
    for lg in langs:
        if lg not in LANGS:
            raise BriefError(f"unknown brief language {lg!r}: expected one of {', '.join(LANGS)}")
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    ctx = build_context(lake, settings, expedition_id, snapshot)
    version = brief_version_for(lake, ctx)
    rows, results = [], []
    for lg in langs:
        stem = f"{ctx.expedition_id}_v{version}_{lg}"
        # the document (texts, tables, charts, map) does not depend on the format: built once per language
        doc = build_document(ctx, lg, version, now, settings.home / "cache")
        for fmt in formats:
            path = Path(out) if out is not None else settings.briefs_dir / ctx.expedition_id / f"{stem}.{fmt}"
            data, images = _render(doc, fmt, now, path.stem)
            for name, png in sorted(images.items()):
                _write_atomic(path.parent / name, png)
            _write_atomic(path, data)
            content_sha = hashlib.sha256(data).hexdigest()
            rows.append({"expedition_id": ctx.expedition_id, "brief_version": version, "brief_format": fmt,
                         "brief_lang": lg, "lake_snapshot_id": ctx.snapshot_id, "context_sha256": ctx.sha256,
                         "content_sha256": content_sha, "brief_path": str(path),
                         "advice_status": ctx.data["advice_status"], "generated_utc": now})
            results.append(BriefResult(ctx.expedition_id, path, version, ctx.snapshot_id, fmt, lg, ctx.sha256,
                                       content_sha, ctx.data["advice_status"]))
    names = ", ".join(r.path.name for r in results)

    def record(w: LakeWriter) -> None:  # run again after a write conflict: the files are written already
        w.write(BRIEFS.name, pa.Table.from_pylist(rows, schema=BRIEFS.schema), mode="insert_new")
        w.set_commit_message("briefs", f"brief {names} at snapshot {ctx.snapshot_id}")

    lake.run_writer(record, what=f"brief {names}", views=False)
    for r in results:
        log.info("brief %s written to %s (snapshot %d)", r.path.stem, r.path, ctx.snapshot_id)
    return results
