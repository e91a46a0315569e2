"""QuakeML focal mechanisms stored as product versions (``event_products``, type ``focal-mechanism``).

:func:`store_focal_mechanisms` keeps the nodal planes read by :mod:`catalogs.focal` beside the
ComCat products, so the rupture step finds every mechanism of an event in one table. The key is
``quakeml:<provider>:<focalMechanism publicID>:<hash of the planes>``: the same mechanism pulled
again is stored once, a revised one (other planes) is a new version. Mechanisms of events the
lake does not know under that provider's ids are skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence

import pyarrow as pa

from catalogs.focal import FocalMechanism
from catalogs.products import NodalPlane
from warehouse.lake import Lake, LakeWriter
from warehouse.sqlfiles import query
from warehouse.tables import spec as table_spec

__all__ = ["focal_mechanism_rows", "nodal_plane_columns", "store_focal_mechanisms"]


def nodal_plane_columns(np1: NodalPlane | None, np2: NodalPlane | None) -> dict[str, float | None]:
    """The ``nodal_plane{1,2}_{strike,dip,rake}_deg`` columns of ``event_products`` (None where a plane is absent)."""
    out: dict[str, float | None] = {}
    for n, plane in ((1, np1), (2, np2)):
        out[f"nodal_plane{n}_strike_deg"] = plane.strike_deg if plane else None
        out[f"nodal_plane{n}_dip_deg"] = plane.dip_deg if plane else None
        out[f"nodal_plane{n}_rake_deg"] = plane.rake_deg if plane else None
    return out


def _product_id(provider: str, fm: FocalMechanism) -> str:
    planes = (fm.nodal_plane_1, fm.nodal_plane_2)
    digest = hashlib.sha1(repr(planes).encode()).hexdigest()[:12]
    return f"quakeml:{provider}:{fm.public_id}:{digest}"


def focal_mechanism_rows(fms: Sequence[FocalMechanism], provider: str, event_ids: dict[str, str],
                         seen: dt.datetime) -> pa.Table:
    """``event_products`` rows of the mechanisms whose provider event id is in ``event_ids``."""
    out = []
    for fm in fms:
        event_id = event_ids.get(fm.provider_event_id)
        if event_id is None:
            continue
        out.append({
            "product_id": _product_id(provider, fm), "event_id": event_id, "provider": provider,
            "provider_event_id": fm.provider_event_id, "product_type": "focal-mechanism",
            "product_source": (fm.author or provider).lower(), "product_code": fm.public_id,
            "product_update_time_utc": seen, "product_preferred_weight": 1 if fm.preferred else 0,
            **nodal_plane_columns(fm.nodal_plane_1, fm.nodal_plane_2),
            "properties_json": json.dumps({
                "preferred_plane": fm.preferred_plane, "scalar_moment_nm": fm.scalar_moment_nm,
                "method_id": fm.method_id, "author": fm.author, "event_public_id": fm.event_public_id,
                "preferred": fm.preferred,
            }, sort_keys=True),
            "pulled_utc": seen,
        })
    return pa.Table.from_pylist(out, schema=table_spec("event_products").schema)


def store_focal_mechanisms(target: Lake | LakeWriter, provider: str, fms: Sequence[FocalMechanism]) -> int:
    """Write the mechanisms of known events (one transaction; inside ``target`` when it is a writer).
    Returns the number of new product versions."""
    if not fms:
        return 0
    if isinstance(target, Lake):  # run again from the start after a write conflict (PostgreSQL catalog)
        return target.run_writer(lambda w: store_focal_mechanisms(w, provider, fms), what="focal mechanisms")
    ids = sorted({fm.provider_event_id for fm in fms})
    found = target.con.execute(query("products_alias_events").sql, {"provider": provider, "provider_event_ids": ids})
    mapping = {str(r[0]): str(r[1]) for r in found.fetchall()}
    rows = focal_mechanism_rows(fms, provider, mapping, dt.datetime.now(dt.UTC))
    return target.write("event_products", rows).inserted if rows.num_rows else 0
