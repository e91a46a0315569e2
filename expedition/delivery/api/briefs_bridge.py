"""Briefs and survey files for partners, through the briefs and surveys packages.

* :func:`render_partner_brief` renders the brief of an expedition at the lake snapshot the
  partner's view was built from (``expedition.outputs.briefs``: context at one snapshot, then HTML or PDF)
  without recording a brief version: the service only reads. The route has already checked that
  the partner sees the expedition and every survey row of it, so no embargoed observation can
  appear in the brief. Rendered bytes are cached per lake data (snapshot), format and language.
* :func:`survey_file` writes partner-visible survey rows with the exporters of
  ``expedition.surveys.export`` (GeoParquet 1.1 with ``geo`` metadata, GeoJSON, CSV with WKT), so
  a partner's download is the same file format as ``expedition survey export``.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from expedition.delivery.api.source import LakeData
from expedition.errors import ExpeditionError
from expedition.settings import Settings
from warehouse.lake import Lake

log = logging.getLogger(__name__)

MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
SURVEY_MEDIA = {"geojson": "application/geo+json", "csv": "text/csv; charset=utf-8",
                "parquet": "application/vnd.apache.parquet"}


class BriefUnavailable(ExpeditionError):
    """The brief cannot be produced here (briefs package missing, or rendering failed)."""


def render_partner_brief(
    lake: Lake, settings: Settings, data: LakeData, expedition_id: str, fmt: str, lang: str
) -> tuple[bytes, str]:
    """``(body, media type)`` of the brief of ``expedition_id`` at the snapshot of ``data``."""
    try:
        from expedition.outputs.briefs.generate import brief_version_for, render_brief
    except ImportError as exc:
        raise BriefUnavailable("briefs are not available in this installation (expedition.outputs.briefs missing)") from exc
    try:  # the context is built (and memoised) first, shared with the web page: memo holds its lock while building
        ctx = brief_context(lake, settings, data, expedition_id)
    except ExpeditionError as exc:
        raise BriefUnavailable(f"the brief of {expedition_id} cannot be rendered: {exc}") from exc

    def build() -> bytes:
        try:
            version = brief_version_for(lake, ctx)
            body, _images = render_brief(ctx, fmt, lang, version, datetime.now(UTC).replace(microsecond=0),
                                         settings.home / "cache")
        except ExpeditionError as exc:
            raise BriefUnavailable(f"the brief of {expedition_id} cannot be rendered: {exc}") from exc
        log.info("rendered the %s %s brief of %s at snapshot %d", lang, fmt, expedition_id, data.snapshot_id)
        return body

    body: bytes = data.memo(f"brief/{expedition_id}/{fmt}/{lang}", build)
    return body, MEDIA[fmt]


def brief_context(lake: Lake, settings: Settings, data: LakeData, expedition_id: str) -> Any:
    """The brief context of ``expedition_id`` at the snapshot of ``data`` (built once per lake data)."""
    from expedition.outputs.briefs.context import build_context

    return data.memo(f"context/{expedition_id}", lambda: build_context(lake, settings, expedition_id, snapshot=data.snapshot_id))


def render_web_brief(
    lake: Lake, settings: Settings, data: LakeData, expedition_id: str, fmt: str, lang: str, font_url: str
) -> bytes:
    """The brief for the web pages: as :func:`render_partner_brief`, the HTML naming the served CJK font."""
    if fmt != "html":
        return render_partner_brief(lake, settings, data, expedition_id, fmt, lang)[0]
    from expedition.outputs.briefs.generate import brief_version_for, render_brief

    key = f"webbrief/{expedition_id}/{fmt}/{lang}"
    try:  # the context is built (and memoised) first: LakeData.memo holds its lock while building
        ctx = brief_context(lake, settings, data, expedition_id)
    except ExpeditionError as exc:
        raise BriefUnavailable(f"the brief of {expedition_id} cannot be rendered: {exc}") from exc

    def build() -> bytes:
        try:
            body, _ = render_brief(ctx, fmt, lang, brief_version_for(lake, ctx), datetime.now(UTC).replace(microsecond=0),
                                   settings.home / "cache", font_url=font_url)
        except ExpeditionError as exc:
            raise BriefUnavailable(f"the brief of {expedition_id} cannot be rendered: {exc}") from exc
        return body

    out: bytes = data.memo(key, build)
    return out


def survey_file(rows: pa.Table, fmt: str) -> bytes:
    """Survey rows as GeoJSON, CSV or GeoParquet bytes (the surveys package's own exporters)."""
    from expedition.surveys.export import write_csv, write_geojson, write_geoparquet

    writer = {"geojson": write_geojson, "csv": write_csv, "parquet": write_geoparquet}[fmt]
    order = [c for c in ("ingested_time_utc", "raw_sha256", "raw_row_number") if c in rows.column_names]
    if order:
        rows = rows.sort_by([(c, "ascending") for c in order])
    rows = rows.cast(pa.schema([pa.field(f.name, f.type) for f in rows.schema]))  # plain types, no metadata
    with tempfile.TemporaryDirectory(prefix="qe-partner-export-") as tmp:
        path = Path(tmp) / f"survey.{fmt}"
        writer(rows, path)
        return path.read_bytes()
