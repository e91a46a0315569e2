"""A real-shaped expedition for brief and web-page tests: the 2025-03-28 M7.7 Mandalay (Myanmar) earthquake
from its ComCat event detail (../shared/data/usgs_products), with the detail's USGS PAGER (``losspager``)
versions stored as the products pipeline stores them, judged by the shipped policy, which opens the
expedition with its assessment (shaking, exposure, our PAGER-model alert, the authoritative alert, aftershock
forecast)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.tables import spec

DETAIL = "usgs_products/comcat_detail_us7000pn9s.geojson"
#: generation time of the briefs the tests render
BRIEF_NOW = dt.datetime(2025, 3, 29, 12, 0, tzinfo=dt.UTC)
EVENT_ID = "us7000pn9s"


def myanmar_event_rows(shared_data: Path) -> tuple[pa.Table, pa.Table]:
    """The event row and two agencies' solutions (USGS, and the PTWC origin of the same detail file)."""
    d = json.loads((shared_data / DETAIL).read_text(encoding="utf-8"))
    p, (lon, lat, depth) = d["properties"], d["geometry"]["coordinates"]
    t0 = dt.datetime.fromtimestamp(p["time"] / 1000, dt.UTC)
    updated = dt.datetime.fromtimestamp(p["updated"] / 1000, dt.UTC)
    event = {"event_id": EVENT_ID, "origin_time_utc": t0, "origin_latitude_deg": lat, "origin_longitude_deg": lon,
             "origin_depth_km": float(depth), "magnitude_value": float(p["mag"]), "magnitude_type": p["magType"],
             "magnitude_author": "us", "origin_agency": "us", "review_status": p["status"], "event_type": p["type"],
             "region_name": p["place"], "preferred_provider": "USGS", "preferred_provider_event_id": EVENT_ID,
             "updated_time_utc": updated, "event_revision": 1, "ingest_batch_id": "test"}
    schema = spec("events").schema
    events = pa.Table.from_pylist([{f.name: event.get(f.name) for f in schema}], schema=schema)
    sol_schema = spec("event_solutions").schema
    sols = []
    for provider, sid, mag, mtype in (("US", EVENT_ID, float(p["mag"]), p["magType"]), ("AT", "at00stpq2h", 7.9, "Mi")):
        row = {**event, "solution_id": sid, "provider": provider, "provider_event_id": sid, "event_id": EVENT_ID,
               "magnitude_value": mag, "magnitude_type": mtype, "origin_agency": provider.lower()}
        sols.append({f.name: row.get(f.name) for f in sol_schema})
    return events, pa.Table.from_pylist(sols, schema=sol_schema)


def store_pager_products(lake: Any, shared_data: Path, pulled: dt.datetime) -> list[str]:
    """Store the ``losspager`` versions of the real ComCat detail in ``event_products`` through the products
    code path (:func:`catalogs.products.parse_event_detail`, :func:`catalogs.products_pull.product_rows`);
    returns their product ids. Only PAGER: the detail's finite fault would change our own shaking model and a
    ShakeMap is used only with its downloaded grid."""
    from catalogs.products import parse_event_detail
    from catalogs.products_pull import product_rows

    detail = parse_event_detail((shared_data / DETAIL).read_bytes(), str(DETAIL))
    rows = product_rows(detail, EVENT_ID, "USGS", pulled)
    pager = rows.filter(pc.equal(rows.column("product_type"), "losspager"))
    with lake.writer() as w:
        w.write("event_products", pager)
    return [str(p) for p in pager.column("product_id").to_pylist()]


def myanmar_home(shared_data: Path, root: Path, cache: Path) -> dict[str, Any]:
    """A lake with the Myanmar expedition opened by the shipped policy; returns settings, lake and its id."""
    from expedition.decisions.response.evaluate import evaluate_events
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    root.mkdir(parents=True, exist_ok=True)
    (root / "qe.toml").write_text(f'[response]\ncache_dir = "{cache}"\n', encoding="utf-8")
    settings = load_settings(root)
    lake = Lake.from_settings(settings)
    lake.init()
    events, sols = myanmar_event_rows(shared_data)
    with lake.writer() as w:
        w.write("events", events, mode="upsert")
        w.write("event_solutions", sols, mode="insert_new")
    pager = store_pager_products(lake, shared_data, dt.datetime(2025, 4, 10, tzinfo=dt.UTC))
    decisions = evaluate_events(lake, settings)
    opened = [d for d in decisions if d.expedition_id]
    assert opened, [d.reason for d in decisions]
    return {"settings": settings, "lake": lake, "exp": opened[0].expedition_id, "decision": opened[0], "pager": pager}


def add_ground_advice(lake: Any, expedition_id: str) -> list[str]:
    """Advice items of the shipped rule set for liquefaction at two sites and observed intensities above the
    prediction (two items: GROUND-LIQUEFACTION, ZONING-ABOVE-DESIGN), written
    as :func:`expedition.outputs.advice.store.generate_advice` writes them; returns their ids."""
    from expedition.outputs.advice.rules import evaluate, load_rule_set
    from expedition.outputs.advice.store import advice_id
    from warehouse.tables.briefs import ADVICE_ITEMS

    rs = load_rule_set()
    rows = {"analytics_ground_failure": [
        {"failure_type": "liquefaction", "site_count": 2, "site_ids": "GF1, GF4", "failure_area_max_m2": 50.0}],
        "analytics_intensity_residual_summary": [
            {"expedition_id": expedition_id, "site_count": 3, "observed_intensity_max": 9.0,
             "observed_intensity_max_site": "S7", "residual_bias": 0.8, "residual_scatter": 0.5, "sites_above_one_sigma": 1}]}
    now = dt.datetime(2025, 4, 2, 8, 0, tzinfo=dt.UTC)
    out = []
    for d in evaluate(rs, rows):
        aid = advice_id(expedition_id, d.rule_id, d.rule_version, d.subject)
        out.append({
            "advice_id": aid, "expedition_id": expedition_id, "rule_id": d.rule_id, "rule_version": d.rule_version,
            "rule_set_version": d.rule_set_version, "rule_set_sha256": d.rule_set_sha256,
            "advice_category": d.category, "advice_subject": d.subject, "advice_text_en": d.text_en,
            "advice_text_zh": d.text_zh, "evidence_source": d.source, "evidence_json": d.evidence_json,
            "evidence_sha256": d.evidence_sha256, "generated_utc": now, "generated_snapshot_id": None,
            "advice_active": True,
        })
    with lake.writer() as w:
        w.write(ADVICE_ITEMS.name, pa.Table.from_pylist(out, schema=ADVICE_ITEMS.schema), mode="upsert")
    return [r["advice_id"] for r in out]
