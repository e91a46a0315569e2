"""ComCat event detail GeoJSON (``query?eventid=...&format=geojson``): authoritative products.

:func:`parse_event_detail` reads one detail document into an :class:`EventDetail`: the event's
``alert`` (the PAGER level USGS shows), ``mmi``, ``ids``/``sources`` (aliases across networks) and
one :class:`ProductVersion` per product version listed (``losspager``, ``shakemap``,
``finite-fault``, ``moment-tensor``, ... ; every type is kept, the ones the response uses are
interpreted):

* ``losspager``: ``alertlevel`` and ``maxmmi``;
* ``shakemap``: ``version``, source network, ``maxmmi``, the ``download/grid.xml`` URL;
* ``finite-fault``: strike, dip, rake, length, width, top depth and every segment (the product's
  ``segment-N-strike/dip`` with ``subfault-N-length/width``) as a :class:`FiniteFault`;
* ``moment-tensor``: both nodal planes (strike, dip, rake) as :class:`NodalPlane`.

:func:`product_rows` turns a detail into rows of the ``event_products`` table; the key is the
product's own URN id, which names source, type, code and update time, so a version is stored once
however often it is pulled. A document that is not a ComCat detail Feature raises
:class:`~catalogs.errors.ParseError` naming the source and what was expected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from catalogs.errors import ParseError

__all__ = [
    "ALERT_LEVELS",
    "EventDetail",
    "FaultSegment",
    "FiniteFault",
    "NodalPlane",
    "ProductVersion",
    "parse_event_detail",
]

ALERT_LEVELS = ("green", "yellow", "orange", "red")
GRID_CONTENT = "download/grid.xml"


@dataclass(frozen=True)
class NodalPlane:
    """One nodal plane of a focal mechanism or moment tensor (degrees)."""

    strike_deg: float
    dip_deg: float
    rake_deg: float | None = None


@dataclass(frozen=True)
class FaultSegment:
    """One segment of a finite-fault model."""

    strike_deg: float
    dip_deg: float
    length_km: float | None = None
    width_km: float | None = None


@dataclass(frozen=True)
class FiniteFault:
    """The geometry of a USGS finite-fault product."""

    strike_deg: float
    dip_deg: float
    rake_deg: float | None
    length_km: float | None
    width_km: float | None
    top_depth_km: float | None
    latitude_deg: float | None
    longitude_deg: float | None
    segments: tuple[FaultSegment, ...] = ()

    @property
    def segment_length_km(self) -> float | None:
        """Sum of the segment lengths (None when a segment has no length)."""
        lengths = [s.length_km for s in self.segments if s.length_km is not None]
        return float(sum(lengths)) if lengths and len(lengths) == len(self.segments) else None


@dataclass(frozen=True)
class ProductVersion:
    """One version of one product, as listed in the detail document."""

    product_id: str  # urn:usgs-product:<source>:<type>:<code>:<updateTime>
    product_type: str
    product_source: str
    product_code: str
    update_time_utc: dt.datetime
    status: str
    preferred_weight: int | None
    properties: dict[str, str]
    contents: dict[str, str]  # content path -> URL

    @property
    def version(self) -> str | None:
        """The product's own version property (ShakeMap ``version``), if any."""
        return self.properties.get("version")

    @property
    def review_status(self) -> str | None:
        return self.properties.get("review-status")

    @property
    def alert_level(self) -> str | None:
        """PAGER alert level of a ``losspager`` product."""
        level = (self.properties.get("alertlevel") or "").strip().lower()
        return level if level in ALERT_LEVELS else None

    @property
    def max_mmi(self) -> float | None:
        return _float(self.properties.get("maxmmi"))

    @property
    def grid_url(self) -> str | None:
        """URL of a ShakeMap's ``grid.xml`` (``download/grid.xml``, else any ``grid.xml``)."""
        if GRID_CONTENT in self.contents:
            return self.contents[GRID_CONTENT]
        return next((u for k, u in self.contents.items() if k.rsplit("/", 1)[-1] == "grid.xml"), None)

    @property
    def nodal_planes(self) -> tuple[NodalPlane, ...]:
        """The two nodal planes of a moment tensor or focal mechanism (those present)."""
        out = []
        for n in (1, 2):
            strike = _float(self.properties.get(f"nodal-plane-{n}-strike"))
            dip = _float(self.properties.get(f"nodal-plane-{n}-dip"))
            if strike is not None and dip is not None:
                out.append(NodalPlane(strike, dip, _float(self.properties.get(f"nodal-plane-{n}-rake"))))
        return tuple(out)

    @property
    def finite_fault(self) -> FiniteFault | None:
        """The geometry of a ``finite-fault`` product (None when strike or dip is missing)."""
        p = self.properties
        strike, dip = _float(p.get("model-strike")), _float(p.get("model-dip"))
        segments = []
        count = int(_float(p.get("segments")) or 0)
        for n in range(1, max(count, 0) + 1):
            s, d = _float(p.get(f"segment-{n}-strike")), _float(p.get(f"segment-{n}-dip"))
            if s is None or d is None:
                continue
            segments.append(FaultSegment(s, d, _float(p.get(f"subfault-{n}-length")), _float(p.get(f"subfault-{n}-width"))))
        if strike is None and segments:
            strike, dip = segments[0].strike_deg, segments[0].dip_deg
        if strike is None or dip is None:
            return None
        return FiniteFault(
            strike_deg=strike,
            dip_deg=dip,
            rake_deg=_float(p.get("model-rake")),
            length_km=_float(p.get("model-length")),
            width_km=_float(p.get("model-width")),
            top_depth_km=_float(p.get("model-top")),
            latitude_deg=_float(p.get("latitude")),
            longitude_deg=_float(p.get("longitude")),
            segments=tuple(segments),
        )


@dataclass(frozen=True)
class EventDetail:
    """A ComCat event detail document, interpreted."""

    provider_event_id: str
    ids: tuple[str, ...]
    sources: tuple[str, ...]
    alert_level: str | None
    mmi: float | None
    magnitude: float | None
    magnitude_type: str | None
    origin_time_utc: dt.datetime | None
    updated_utc: dt.datetime | None
    latitude_deg: float | None
    longitude_deg: float | None
    depth_km: float | None
    title: str | None
    products: tuple[ProductVersion, ...]
    source: str = ""
    sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def of_type(self, product_type: str) -> list[ProductVersion]:
        """Versions of one product type, preferred first (ComCat's weight, then the newest)."""
        found = [p for p in self.products if p.product_type == product_type]
        return sorted(found, key=lambda p: (-(p.preferred_weight or 0), -p.update_time_utc.timestamp()))

    def preferred(self, product_type: str) -> ProductVersion | None:
        """The preferred version of ``product_type`` (as ComCat ranks them), or None."""
        found = self.of_type(product_type)
        return found[0] if found else None


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _ms(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromtimestamp(int(value) / 1000.0, tz=dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _listed(value: Any) -> tuple[str, ...]:
    """ComCat's ``,a,b,c,`` lists."""
    if not isinstance(value, str):
        return ()
    return tuple(v for v in value.split(",") if v)


def _product(ptype: str, raw: Any, source: str, n: int) -> ProductVersion:
    if not isinstance(raw, dict):
        raise ParseError(f"products.{ptype}[{n}] is a {type(raw).__name__}: expected an object", source)
    updated = _ms(raw.get("updateTime"))
    psource, code = str(raw.get("source") or ""), str(raw.get("code") or "")
    if updated is None or not psource or not code:
        raise ParseError(
            f"products.{ptype}[{n}]: expected source, code and updateTime (got {psource!r}, {code!r}, {raw.get('updateTime')!r})",
            source,
        )
    pid = str(raw.get("id") or f"urn:usgs-product:{psource}:{ptype}:{code}:{raw.get('updateTime')}")
    props = raw.get("properties") or {}
    contents = raw.get("contents") or {}
    return ProductVersion(
        product_id=pid,
        product_type=str(raw.get("type") or ptype),
        product_source=psource,
        product_code=code,
        update_time_utc=updated,
        status=str(raw.get("status") or ""),
        preferred_weight=int(raw["preferredWeight"]) if isinstance(raw.get("preferredWeight"), int | float) else None,
        properties={str(k): str(v) for k, v in props.items() if v is not None} if isinstance(props, dict) else {},
        contents={str(k): str(v.get("url")) for k, v in contents.items() if isinstance(v, dict) and v.get("url")}
        if isinstance(contents, dict)
        else {},
    )


def parse_event_detail(data: bytes, source: str = "detail.geojson") -> EventDetail:
    """Parse a ComCat event detail GeoJSON document (see the module notes)."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not JSON: {exc}", source) from exc
    if not isinstance(doc, dict) or doc.get("type") != "Feature" or not isinstance(doc.get("properties"), dict):
        kind = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        raise ParseError(f"a {kind!r} document: expected a ComCat event detail (one GeoJSON Feature with properties)", source)
    props: dict[str, Any] = doc["properties"]
    event_id = str(doc.get("id") or "")
    if not event_id:
        raise ParseError("the detail Feature has no id: expected the event id", source)
    products_raw = props.get("products") or {}
    if not isinstance(products_raw, dict):
        raise ParseError("properties.products is not an object: expected product type -> list of versions", source)
    products: list[ProductVersion] = []
    for ptype, versions in products_raw.items():
        if not isinstance(versions, list):
            raise ParseError(f"products.{ptype} is not a list: expected the versions of the product", source)
        products.extend(_product(str(ptype), raw, source, n) for n, raw in enumerate(versions))
    coords = (doc.get("geometry") or {}).get("coordinates") or [None, None, None]
    coords = list(coords) + [None] * (3 - len(coords))
    alert = (props.get("alert") or "").strip().lower() if isinstance(props.get("alert"), str) else ""
    return EventDetail(
        provider_event_id=event_id,
        ids=_listed(props.get("ids")) or (event_id,),
        sources=_listed(props.get("sources")),
        alert_level=alert if alert in ALERT_LEVELS else None,
        mmi=_float(props.get("mmi")),
        magnitude=_float(props.get("mag")),
        magnitude_type=props.get("magType") if isinstance(props.get("magType"), str) else None,
        origin_time_utc=_ms(props.get("time")),
        updated_utc=_ms(props.get("updated")),
        latitude_deg=_float(coords[1]),
        longitude_deg=_float(coords[0]),
        depth_km=_float(coords[2]),
        title=props.get("title") if isinstance(props.get("title"), str) else None,
        products=tuple(products),
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
    )
