"""Synthetic ComCat event details and ShakeMap grids that the tests generate themselves (clean clone).

``synthetic_grid`` writes a real ``grid.xml`` document (USGS or BMKG namespace, ShakeMap 4 layout
with STDMMI or 3.5 layout with STDPGA) whose MMI decays with distance from the epicentre;
``synthetic_detail`` writes a ComCat event detail Feature with ``losspager``, ``shakemap``,
``finite-fault`` and ``moment-tensor`` products. Values are made up for the tests (shapes and field
names are ComCat's and ShakeMap's).

Import explicitly: ``from tests.products_fixtures import synthetic_detail, synthetic_grid``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

USGS_NS = "http://earthquake.usgs.gov/eqcenter/shakemap"
BMKG_NS = "http://inatews.bmkg.go.id/shakemap"

@dataclass(frozen=True)
class SyntheticEvent:
    id: str
    lat: float
    lon: float
    depth: float
    mag: float
    time: dt.datetime


#: a synthetic M7.0 in central Myanmar (a member of the shipped approximate list since 2023-11-16)
EVENT = SyntheticEvent("us6000test", 21.9, 95.95, 10.0, 7.0, dt.datetime(2025, 3, 28, 6, 20, 52, tzinfo=dt.UTC))


def grid_mmi(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float, peak: float) -> np.ndarray:
    """A smooth synthetic field: ``peak`` at the epicentre, one unit less per doubling beyond 10 km."""
    r = np.hypot((lat - lat0) * 111.2, (lon - lon0) * 111.2 * np.cos(np.radians(lat0)))
    return np.asarray(np.clip(peak - np.log2(np.maximum(r, 10.0) / 10.0), 1.0, 10.0), dtype=float)


def synthetic_grid(
    event_id: str = EVENT.id, lat0: float = EVENT.lat, lon0: float = EVENT.lon, *, peak: float = 9.0,
    namespace: str = USGS_NS, version: int = 1, half_deg: float = 1.5, step: float = 0.05, stdmmi: bool = True,
    fields_without: str | None = None,
) -> bytes:
    """A complete ``grid.xml`` (rows north to south, longitude fastest)."""
    lons = np.round(np.arange(lon0 - half_deg, lon0 + half_deg + step / 2, step), 4)
    lats = np.round(np.arange(lat0 + half_deg, lat0 - half_deg - step / 2, -step), 4)
    glon, glat = np.meshgrid(lons, lats)
    mmi = grid_mmi(glat, glon, lat0, lon0, peak)
    pga = 10 ** ((mmi - 1.78) / 1.55) / 9.81  # %g, from the lower WGRW12 segment (synthetic)
    names = ["LON", "LAT", "PGA", "MMI", "STDMMI" if stdmmi else "STDPGA", "SVEL"]
    cols = [glon, glat, pga, mmi, np.full(mmi.shape, 0.8 if stdmmi else 0.5), np.full(mmi.shape, 400.0)]
    if fields_without is not None:
        k = names.index(fields_without)
        names.pop(k)
        cols.pop(k)
    units = {"LON": "dd", "LAT": "dd", "PGA": "pctg", "MMI": "intensity", "STDMMI": "intensity",
             "STDPGA": "ln(pctg)", "SVEL": "ms"}
    head = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        f'<shakemap_grid xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="{namespace}" '
        f'event_id="{event_id}" shakemap_id="{event_id}" shakemap_version="{version}" code_version="4.1.3" '
        'process_timestamp="2025-03-28T07:00:00Z" shakemap_originator="us" map_status="RELEASED" shakemap_event_type="ACTUAL">',
        f'<event event_id="{event_id}" magnitude="{EVENT.mag}" depth="10.0" lat="{lat0}" lon="{lon0}" '
        'event_timestamp="2025-03-28T06:20:52UTC" event_network="us" event_description="synthetic" />',
        f'<grid_specification lon_min="{lons[0]}" lat_min="{lats[-1]}" lon_max="{lons[-1]}" lat_max="{lats[0]}" '
        f'nominal_lon_spacing="{step}" nominal_lat_spacing="{step}" nlon="{lons.size}" nlat="{lats.size}" />',
        *[f'<grid_field index="{i}" name="{n}" units="{units[n]}" />' for i, n in enumerate(names, start=1)],
        "<grid_data>",
    ]
    table = np.column_stack([c.ravel() for c in cols])
    body = "\n".join(" ".join(f"{v:.4f}".rstrip("0").rstrip(".") for v in row) for row in table)
    return ("\n".join(head) + "\n" + body + "\n</grid_data>\n</shakemap_grid>\n").encode()


def _ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def synthetic_detail(
    event_id: str = EVENT.id, *, alert: str | None = "orange", pager_update: dt.datetime | None = None,
    shakemap_version: int = 1, shakemap_update: dt.datetime | None = None, with_grid: bool = True,
    finite_fault: bool = True, extra_ids: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A ComCat event detail Feature of :data:`EVENT` with the products the response reads."""
    t0 = EVENT.time
    pager_t = pager_update or t0 + dt.timedelta(minutes=30)
    shake_t = shakemap_update or t0 + dt.timedelta(minutes=25)
    code = event_id[2:]
    products: dict[str, list[dict[str, Any]]] = {}
    if alert is not None:
        products["losspager"] = [{
            "id": f"urn:usgs-product:us:losspager:{event_id}:{_ms(pager_t)}", "type": "losspager", "code": event_id,
            "source": "us", "updateTime": _ms(pager_t), "status": "UPDATE", "preferredWeight": 158,
            "properties": {"alertlevel": alert, "maxmmi": "9.0", "eventsourcecode": code, "review-status": "automatic"},
            "contents": {},
        }]
    products["shakemap"] = [{
        "id": f"urn:usgs-product:us:shakemap:{event_id}:{_ms(shake_t)}", "type": "shakemap", "code": event_id,
        "source": "us", "updateTime": _ms(shake_t), "status": "UPDATE", "preferredWeight": 208,
        "properties": {"version": str(shakemap_version), "maxmmi": "9.0", "gmice": "WGRW12",
                       "shakemap-code-version": "4.1.3", "eventsourcecode": code},
        "contents": ({"download/grid.xml": {"contentType": "application/xml", "length": 1,
                                            "url": f"https://earthquake.usgs.gov/product/shakemap/{event_id}/us/{_ms(shake_t)}/download/grid.xml"}}
                     if with_grid else {}),
    }]
    if finite_fault:
        products["finite-fault"] = [{
            "id": f"urn:usgs-product:us:finite-fault:{event_id}_1:{_ms(t0 + dt.timedelta(hours=6))}",
            "type": "finite-fault", "code": f"{event_id}_1", "source": "us",
            "updateTime": _ms(t0 + dt.timedelta(hours=6)), "status": "UPDATE", "preferredWeight": 158,
            "properties": {"model-strike": "5", "model-dip": "80", "model-rake": "180", "model-length": "150",
                           "model-width": "20", "model-top": "1", "latitude": str(EVENT.lat),
                           "longitude": str(EVENT.lon), "segments": "2", "segment-1-strike": "5",
                           "segment-1-dip": "80", "subfault-1-length": "90", "subfault-1-width": "20",
                           "segment-2-strike": "355", "segment-2-dip": "85", "subfault-2-length": "60",
                           "subfault-2-width": "15"},
            "contents": {},
        }]
    products["moment-tensor"] = [{
        "id": f"urn:usgs-product:us:moment-tensor:us_{code}_mww:{_ms(t0 + dt.timedelta(hours=1))}",
        "type": "moment-tensor", "code": f"us_{code}_mww", "source": "us",
        "updateTime": _ms(t0 + dt.timedelta(hours=1)), "status": "UPDATE", "preferredWeight": 218,
        "properties": {"nodal-plane-1-strike": "95", "nodal-plane-1-dip": "84", "nodal-plane-1-rake": "-6",
                       "nodal-plane-2-strike": "5.5", "nodal-plane-2-dip": "84", "nodal-plane-2-rake": "-174"},
        "contents": {},
    }]
    ids = ",".join(dict.fromkeys([event_id, *extra_ids]))
    return {
        "type": "Feature", "id": event_id,
        "properties": {
            "mag": EVENT.mag, "place": "synthetic central Myanmar", "time": _ms(t0), "updated": _ms(max(pager_t, shake_t)),
            "mmi": 9.0, "alert": alert, "status": "reviewed", "tsunami": 0, "net": "us", "code": code,
            "ids": f",{ids},", "sources": ",us,", "types": "," + ",".join(products) + ",", "magType": "mww",
            "type": "earthquake", "title": "M 7.0 - synthetic", "products": products,
        },
        "geometry": {"type": "Point", "coordinates": [EVENT.lon, EVENT.lat, EVENT.depth]},
    }
