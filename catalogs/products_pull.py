"""Pull an event's authoritative products (ComCat detail, ShakeMap grid) into the lake.

:func:`pull_event_products` asks one provider (by default USGS ComCat) for the event detail GeoJSON
of a project event, through :class:`~catalogs.fdsn.FDSNEventClient` (throttled, retried only on
transient failures), then:

1. archives the raw document by hash and records it in ``event_details`` (one row per distinct
   document) and every product version it lists in ``event_products`` (keyed by the product URN,
   so a version already stored is skipped);
2. downloads the ``grid.xml`` of the preferred ShakeMap when that version has no grid stored yet,
   reads it strictly (:mod:`catalogs.shakemap_grid`: right namespace, right event, MMI present,
   complete) and records it in ``shakemap_grids`` with its archived copy. A bad grid is reported as
   one line in :attr:`ProductsReport.problems`; nothing of it is stored, and the event is judged by
   our own model.

Everything of one pull is written in one lake transaction (:func:`pull_events_products`: all the
events asked for; one event is the case of :func:`pull_event_products`). :func:`pull_products_since` does the
same for every event recorded since a time at or above the ``[products] min_magnitude`` of
``qe.toml`` (default 5.5), as ``watch`` and ``catalog pull`` do after pulling events.

Settings (``[products]`` in ``qe.toml``): ``providers`` (default ``["USGS"]``: the providers that
serve ComCat-style details), ``min_magnitude`` (5.5), ``grids`` (true: download ShakeMap grids).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from catalogs.errors import CatalogError, ProviderError
from catalogs.fdsn import FDSNEventClient, Provider, RetryPolicy
from catalogs.focal_store import nodal_plane_columns
from catalogs.products import EventDetail, ProductVersion, parse_event_detail
from catalogs.pull import PullSettings, find_provider, retry_policy
from catalogs.shakemap_grid import ShakeMapGridData, ShakeMapGridError, parse_shakemap_grid
from warehouse.archive import ArchivedFile, archive_bytes
from warehouse.lake import Lake, LakeWriter
from warehouse.sqlfiles import query
from warehouse.tables import spec as table_spec

log = logging.getLogger(__name__)

__all__ = [
    "ProductsReport",
    "ProductsSettings",
    "UnknownEvent",
    "detail_rows",
    "grid_row",
    "product_rows",
    "products_settings",
    "pull_event_products",
    "pull_events_products",
    "pull_products_since",
]

#: product types whose new version changes what the response decides on
DECISIVE_TYPES = ("losspager", "shakemap", "finite-fault", "moment-tensor")


class UnknownEvent(CatalogError):
    """The event asked for is not in the lake (import or pull it first)."""


@dataclass(frozen=True)
class ProductsSettings:
    providers: tuple[str, ...] = ("USGS",)
    min_magnitude: float = 5.5
    grids: bool = True


def products_settings(settings: PullSettings) -> ProductsSettings:
    """The ``[products]`` section of ``qe.toml`` (defaults in :class:`ProductsSettings`)."""
    raw = settings.extra.get("products", {}) if hasattr(settings.extra, "get") else {}
    raw = raw if isinstance(raw, dict) else {}
    provs = raw.get("providers", ["USGS"])
    try:
        return ProductsSettings(
            providers=tuple(str(p) for p in (provs if isinstance(provs, list) else [provs])),
            min_magnitude=float(raw.get("min_magnitude", 5.5)),
            grids=bool(raw.get("grids", True)),
        )
    except (TypeError, ValueError) as exc:
        raise CatalogError(f"qe.toml [products]: expected providers (list), min_magnitude (number), grids (bool): {exc}") from exc


@dataclass
class ProductsReport:
    """What one products pull did for one event."""

    event_id: str
    provider: str
    provider_event_id: str | None = None
    detail_found: bool = False
    alert_level: str | None = None
    new_products: list[str] = field(default_factory=list)  # product ids stored by this pull
    new_decisive: list[str] = field(default_factory=list)  # of which losspager / shakemap / finite-fault
    grid_product_id: str | None = None  # a grid stored by this pull
    problems: list[str] = field(default_factory=list)
    requests: int = 0

    @property
    def changed(self) -> bool:
        """A new PAGER, ShakeMap, finite-fault or moment-tensor version arrived: the event must be judged again."""
        return bool(self.new_decisive)

    def summary(self) -> str:
        if not self.detail_found:
            return f"{self.event_id}: {self.provider} has no detail" + (f" ({'; '.join(self.problems)})" if self.problems else "")
        grid = f", grid {self.grid_product_id.rsplit(':', 1)[-1]}" if self.grid_product_id else ""
        probs = f"; problems: {'; '.join(self.problems)}" if self.problems else ""
        return (f"{self.event_id} ({self.provider} {self.provider_event_id}): alert {self.alert_level or '-'}, "
                f"{len(self.new_products)} new product version(s){grid}{probs}")


def _js(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def detail_rows(detail: EventDetail, event_id: str, provider: str, url: str, archive_path: str,
                pulled: dt.datetime) -> pa.Table:
    """The ``event_details`` row of a detail document."""
    return pa.Table.from_pylist([{
        "provider": provider, "provider_event_id": detail.provider_event_id, "detail_sha256": detail.sha256,
        "event_id": event_id, "detail_updated_utc": detail.updated_utc, "alert_level": detail.alert_level,
        "mmi_max": detail.mmi, "alias_ids": list(detail.ids), "alias_sources": list(detail.sources),
        "product_count": len(detail.products), "detail_url": url, "archive_path": archive_path, "pulled_utc": pulled,
    }], schema=table_spec("event_details").schema)


def _product_row(p: ProductVersion, detail: EventDetail, event_id: str, provider: str, pulled: dt.datetime) -> dict[str, Any]:
    ff = p.finite_fault if p.product_type == "finite-fault" else None
    planes = p.nodal_planes
    np1 = planes[0] if planes else None
    np2 = planes[1] if len(planes) > 1 else None
    return {
        "product_id": p.product_id, "event_id": event_id, "provider": provider,
        "provider_event_id": detail.provider_event_id, "product_type": p.product_type,
        "product_source": p.product_source, "product_code": p.product_code, "product_status": p.status,
        "product_version": p.version, "product_update_time_utc": p.update_time_utc,
        "product_preferred_weight": p.preferred_weight, "review_status": p.review_status,
        "alert_level": p.alert_level if p.product_type == "losspager" else None,
        "mmi_max": p.max_mmi, "shakemap_grid_url": p.grid_url if p.product_type == "shakemap" else None,
        "fault_strike_deg": ff.strike_deg if ff else None, "fault_dip_deg": ff.dip_deg if ff else None,
        "fault_rake_deg": ff.rake_deg if ff else None, "fault_length_km": ff.length_km if ff else None,
        "fault_width_km": ff.width_km if ff else None, "fault_top_depth_km": ff.top_depth_km if ff else None,
        "fault_segment_count": len(ff.segments) if ff else None,
        "fault_segments_json": _js([s.__dict__ for s in ff.segments]) if ff else None,
        **nodal_plane_columns(np1, np2),
        "properties_json": _js(p.properties), "contents_json": _js(p.contents), "detail_sha256": detail.sha256,
        "pulled_utc": pulled,
    }


def product_rows(detail: EventDetail, event_id: str, provider: str, pulled: dt.datetime) -> pa.Table:
    """The ``event_products`` rows of every product version listed in ``detail``."""
    return pa.Table.from_pylist([_product_row(p, detail, event_id, provider, pulled) for p in detail.products],
                                schema=table_spec("event_products").schema)


def grid_row(g: ShakeMapGridData, product_id: str, event_id: str, url: str, archive_path: str, sha256: str,
             sigma_method: str, pulled: dt.datetime) -> pa.Table:
    """The ``shakemap_grids`` row of a grid read successfully."""
    mmi = g.fields["MMI"]
    return pa.Table.from_pylist([{
        "product_id": product_id, "event_id": event_id, "grid_event_id": g.event_id,
        "shakemap_version": g.shakemap_version, "shakemap_agency": g.agency, "shakemap_originator": g.originator,
        "shakemap_code_version": g.code_version, "grid_process_time": g.process_timestamp,
        "grid_lon_count": int(g.lons.size), "grid_lat_count": int(g.lats.size),
        "grid_lon_min_deg": float(g.lons.min()), "grid_lon_max_deg": float(g.lons.max()),
        "grid_lat_min_deg": float(g.lats.min()), "grid_lat_max_deg": float(g.lats.max()),
        "mmi_max": float(mmi.max()), "mmi_sigma_method": sigma_method, "grid_url": url,
        "archive_path": archive_path, "grid_sha256": sha256, "pulled_utc": pulled,
    }], schema=table_spec("shakemap_grids").schema)


def _sigma_method(g: ShakeMapGridData) -> str:
    if "STDMMI" in g.fields:
        return "STDMMI"
    return "from STDPGA (WGRW12)" if "STDPGA" in g.fields else "none"


def _rows(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = con.execute(query(name).sql, params).to_arrow_table().to_pylist()
    return rows


@dataclass
class _Lookups:
    """What the lake knows of the events of one pull, read on one connection before any download."""

    events: dict[str, dict[str, Any] | None]  # the name asked for -> the ``products_event_ids`` row
    known: dict[str, dict[str, bool]]  # our event id -> {product id: has a grid}


def _lookups(lake: Lake, events: Sequence[str], provider: str) -> _Lookups:
    # Two queries for the whole pull: one per event on its own transaction cost about 0.1 s each
    # (DuckLake lists the table's files in its catalog for every scan; twice per event: 6-8 s of the
    # demo watch's products pull of 31 events).
    names = list(dict.fromkeys(events))
    con = lake.connect(read_only=True, views=False)
    try:
        found: dict[str, dict[str, Any] | None] = dict.fromkeys(names)
        for row in _rows(con, "products_event_ids", eventids=names, provider=provider):
            if found[row["requested"]] is None:  # the first event (by id) a name names, as before
                found[row["requested"]] = row
        ids = list(dict.fromkeys(r["event_id"] for r in found.values() if r is not None))
        known: dict[str, dict[str, bool]] = {i: {} for i in ids}
        for row in _rows(con, "products_known", event_ids=ids) if ids else []:
            known[row["event_id"]][row["product_id"]] = bool(row["has_grid"])
    finally:
        con.close()
    return _Lookups(found, known)


@dataclass
class _Staged:
    """One event's rows, downloaded and archived, waiting for the pull's transaction."""

    event_id: str
    archived: ArchivedFile
    details: pa.Table
    products: pa.Table
    grid: tuple[pa.Table, ArchivedFile] | None


def pull_event_products(
    lake: Lake,
    settings: PullSettings,
    event: str,
    provider: str | Provider = "USGS",
    *,
    client: FDSNEventClient | None = None,
    retry: RetryPolicy | None = None,
    grids: bool | None = None,
) -> ProductsReport:
    """Pull the detail (and ShakeMap grid) of ``event`` (our id or an agency id) from ``provider``."""
    return pull_events_products(lake, settings, [event], provider, client=client, retry=retry, grids=grids)[0]


def pull_events_products(
    lake: Lake,
    settings: PullSettings,
    events: Sequence[str],
    provider: str | Provider = "USGS",
    *,
    client: FDSNEventClient | None = None,
    retry: RetryPolicy | None = None,
    grids: bool | None = None,
    tolerate: bool = False,
) -> list[ProductsReport]:
    """Pull the details (and ShakeMap grids) of ``events`` (our ids or agency ids) from ``provider``:
    every lookup on one connection, the downloads, then every event's rows in **one** lake
    transaction (atomic for the whole pull; idempotent: every table is keyed, a version already
    stored is skipped). Raises :class:`UnknownEvent` for an event the lake does not know; with
    ``tolerate``, a provider failure becomes a problem line of that event's report instead of an
    exception (the other events are still pulled)."""
    prov = find_provider(settings, provider) if isinstance(provider, str) else provider
    looked = _lookups(lake, events, prov.name)
    missing = [e for e in events if looked.events[e] is None]
    if missing:
        raise UnknownEvent(f"no event {missing[0]!r} in the lake (pull or import the catalog first)")
    client = client or FDSNEventClient(prov, settings.user_agent, retry or retry_policy(settings))
    want_grids = products_settings(settings).grids if grids is None else grids
    reports: list[ProductsReport] = []
    staged: list[_Staged] = []
    for event in events:
        ev = looked.events[event] or {}
        try:
            report, rows = _fetch(settings, client, prov, event, ev, looked.known.get(ev["event_id"], {}), want_grids)
        except ProviderError as exc:
            if not tolerate:
                raise
            report, rows = ProductsReport(ev["event_id"], prov.name), None
            report.problems.append(str(exc))
            log.warning("products of %s: %s", ev["event_id"], exc)
        reports.append(report)
        if rows is not None:
            staged.append(rows)
    if staged:
        # run again from the start after a write conflict (PostgreSQL catalog): every write skips keys already there
        lake.run_writer(lambda w: _store(w, prov.name, staged), what=f"products of {len(staged)} event(s)", views=False)
    for report in reports:
        if report.detail_found:
            log.info("%s", report.summary())
    return reports


def _fetch(settings: PullSettings, client: FDSNEventClient, prov: Provider, event: str, ev: dict[str, Any],
           known: dict[str, bool], want_grids: bool) -> tuple[ProductsReport, _Staged | None]:
    """Download and read one event's detail (and grid); archive the raw documents; nothing in the lake yet."""
    report = ProductsReport(ev["event_id"], prov.name)
    known_ids: list[str] = [str(i) for i in ev["provider_ids"] or []]
    # ask first for the id the user gave, then the one the event is preferred by, then its other aliases
    # (the alias list is sorted by name: 'products pull us7000pn9s' asked for 'at00sttln4')
    first = [str(i) for i in (event, ev.get("preferred_provider_event_id")) if i in known_ids]
    candidates = first + known_ids
    if not candidates and event != ev["event_id"]:
        candidates = [event]
    if not candidates:
        report.problems.append(f"{prov.name} knows no id of this event")
        return report, None
    before = client.requests
    body: bytes | None = None
    url = ""
    details: list[EventDetail] = []

    def check(data: bytes) -> None:  # inside the retry loop: a body cut short is asked again
        details[:] = [parse_event_detail(data, url)]

    for pid in dict.fromkeys(candidates):
        url = client.detail_url(pid)
        body = client.get_document(url, f"detail of {pid}", check)
        if body is not None:
            break
    report.requests = client.requests - before
    if body is None or not details:
        return report, None
    detail = details[0]
    report.detail_found = True
    report.provider_event_id = detail.provider_event_id
    pager = detail.preferred("losspager")
    report.alert_level = (pager.alert_level if pager else None) or detail.alert_level
    pulled = dt.datetime.now(dt.UTC)
    grid_table = None
    shakemap = detail.preferred("shakemap")
    if want_grids and shakemap is not None and shakemap.grid_url and not known.get(shakemap.product_id):
        grid_table = _grid(settings, client, shakemap, detail, ev, report, pulled)
    report.requests = client.requests - before
    archived = archive_bytes(settings.raw_dir, body, f"{prov.name}_{detail.provider_event_id}_detail.geojson")
    rows = _Staged(ev["event_id"], archived, detail_rows(detail, ev["event_id"], prov.name, url, str(archived.path), pulled),
                   product_rows(detail, ev["event_id"], prov.name, pulled), grid_table)
    if grid_table is not None:
        report.grid_product_id = shakemap.product_id if shakemap else None
    report.new_products = [p.product_id for p in detail.products if p.product_id not in known]
    report.new_decisive = [p.product_id for p in detail.products
                           if p.product_id not in known and p.product_type in DECISIVE_TYPES]
    if report.grid_product_id and report.grid_product_id not in report.new_decisive:
        report.new_decisive.append(report.grid_product_id)
    return report, rows


def _store(w: LakeWriter, provider: str, staged: Sequence[_Staged]) -> None:
    """The details, products and grids of every event of one pull in the writer's transaction
    (duplicate keys inside a batch keep their first row, keys already stored are skipped)."""
    grids = [s.grid for s in staged if s.grid is not None]
    raw = [s.archived.as_row("comcat_detail") for s in staged] + [g[1].as_row("shakemap_grid") for g in grids]
    w.write("raw_files", pa.concat_tables(raw), mode="insert_new")
    w.write("event_details", pa.concat_tables([s.details for s in staged]))
    res = w.write("event_products", pa.concat_tables([s.products for s in staged]))
    if grids:
        w.write("shakemap_grids", pa.concat_tables([g[0] for g in grids]))
    what = staged[0].event_id if len(staged) == 1 else f"{len(staged)} events"
    w.set_commit_message(provider, f"products of {what}: {res.inserted} new version(s)")


def _grid(settings: PullSettings, client: FDSNEventClient, shakemap: ProductVersion, detail: EventDetail,
          ev: dict[str, Any], report: ProductsReport, pulled: dt.datetime) -> tuple[pa.Table, ArchivedFile] | None:
    """Download and read the ShakeMap grid; a bad one is a problem line and stores nothing."""
    url = shakemap.grid_url or ""
    expected = {*detail.ids, detail.provider_event_id, *(ev["all_ids"] or []), ev["event_id"]}
    parsed: list[ShakeMapGridData] = []

    def check(body: bytes) -> None:  # a grid cut short is retried (TruncatedGrid is a ParseError)
        parsed[:] = [parse_shakemap_grid(body, url, expected)]

    try:
        data = client.get_document(url, f"ShakeMap grid of {detail.provider_event_id}", check)
    except ProviderError as exc:
        report.problems.append(f"ShakeMap grid not downloaded: {exc}")
        return None
    except ShakeMapGridError as exc:
        msg = f"ShakeMap grid refused, event judged by our own model: {exc}"
        report.problems.append(msg)
        log.warning("%s", msg)
        return None
    if data is None or not parsed:
        report.problems.append(f"ShakeMap grid {url}: the provider answered no data")
        return None
    g = parsed[0]
    name = f"{report.provider}_{detail.provider_event_id}_shakemap_v{g.shakemap_version or 'x'}_grid.xml"
    archived = archive_bytes(settings.raw_dir, data, name)
    return grid_row(g, shakemap.product_id, ev["event_id"], url, str(archived.path), archived.sha256,
                    _sigma_method(g), pulled), archived


def pull_products_since(
    lake: Lake, settings: PullSettings, since: dt.datetime, *, retry: RetryPolicy | None = None,
    event_ids: Sequence[str] | None = None, provider: Provider | None = None,
) -> list[ProductsReport]:
    """Products of every event recorded since ``since`` at or above the products magnitude floor,
    from ``provider`` or every products provider (``[products]`` settings), one lake transaction per
    provider. A provider failure is a problem line of that event's report, never an exception: the
    events are judged with what is there."""
    ps = products_settings(settings)
    reports: list[ProductsReport] = []
    for prov in [provider] if provider is not None else [find_provider(settings, n) for n in ps.providers]:
        client = FDSNEventClient(prov, settings.user_agent, retry or retry_policy(settings))
        con = lake.connect(read_only=True, views=False)
        try:
            ids = [r["event_id"] for r in _rows(con, "products_candidates", since=since,
                                                min_magnitude=ps.min_magnitude, provider=prov.name)]
        finally:
            con.close()
        if event_ids is not None:
            wanted = set(event_ids)
            ids = [i for i in ids if i in wanted]
        if ids:
            reports += pull_events_products(lake, settings, ids, prov, client=client, grids=ps.grids, tolerate=True)
    return reports
