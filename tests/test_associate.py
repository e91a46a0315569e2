"""Cross-agency association (pure: no lake). Real ComCat rows where the case allows it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalogs.associate import (
    AssociationParams,
    associate,
    mint_event_id,
    preference_keys,
    status_score,
)
from catalogs.distance import haversine_km
from tests.fdsn_fixtures import solution, table
from warehouse.tables.catalog import EVENT_ALIASES, EVENTS

PARAMS = AssociationParams(priority={"USGS": 10, "EMSC": 20, "GFZ": 30, "ISC": 40})


def no_events() -> pa.Table:
    return EVENTS.schema.empty_table()


def no_aliases() -> pa.Table:
    return EVENT_ALIASES.schema.empty_table().select(["provider", "provider_event_id", "event_id"])


def existing(*rows: dict) -> tuple[pa.Table, pa.Table]:
    """Events and aliases as the lake would hold them after ingesting ``rows`` one event each."""
    ids = [mint_event_id(None, r["provider"], r["provider_event_id"]) for r in rows]
    ev = pa.table({
        "event_id": ids,
        "origin_time_utc": pa.array([r["origin_time_utc"] for r in rows], pa.timestamp("us", tz="UTC")),
        "origin_latitude_deg": [r["origin_latitude_deg"] for r in rows],
        "origin_longitude_deg": [r["origin_longitude_deg"] for r in rows],
        "magnitude_value": [r["magnitude_value"] for r in rows],
    })
    al = pa.table({"provider": [r["provider"] for r in rows], "provider_event_id": [r["provider_event_id"] for r in rows],
                   "event_id": ids})
    return ev, al


def groups(result: pa.Array) -> list[set[int]]:
    ids = result.to_pylist()
    out: dict[str, set[int]] = {}
    for i, e in enumerate(ids):
        out.setdefault(e, set()).add(i)
    return sorted(out.values(), key=min)


def test_same_quake_from_two_agencies_is_one_event() -> None:
    rows = table(
        solution("USGS", "us7000abcd", "2023-02-06T01:17:34", 37.226, 37.014, 7.8),
        solution("ISC", "625900000", "2023-02-06T01:17:36", 37.17, 37.08, 7.7),
    )
    res = associate(rows, no_events(), no_aliases(), PARAMS)
    assert groups(res.event_ids) == [{0, 1}]
    assert res.is_new_event.all()
    # The new event's id comes from the preferred (highest-priority) solution, never a provider id.
    assert res.event_ids[0].as_py() == mint_event_id(
        pc.cast(rows.column("origin_time_utc"), pa.int64())[0].as_py(), "USGS", "us7000abcd")
    assert "us7000abcd" not in res.event_ids[0].as_py()


def test_same_provider_never_merges_distinct_ids() -> None:
    a = solution("USGS", "us1", "2023-05-01T10:00:00", 10.0, 120.0, 5.5)
    b = solution("USGS", "us2", "2023-05-01T10:00:05", 10.09, 120.0, 5.4)  # 5 s and 10 km apart
    km = haversine_km(np.array([10.0]), np.array([120.0]), np.array([10.09]), np.array([120.0]))[0]
    assert km == pytest.approx(10.0, abs=0.1)
    res = associate(table(a, b), no_events(), no_aliases(), PARAMS)
    assert groups(res.event_ids) == [{0}, {1}]
    # Also when one of them is already in the lake.
    ev, al = existing(a)
    res = associate(table(b), ev, al, PARAMS)
    assert res.is_new_event.tolist() == [True]
    # ... and an ISC row between them joins exactly one of them.
    isc = solution("ISC", "i1", "2023-05-01T10:00:01", 10.01, 120.0, 5.5)
    res = associate(table(a, b, isc), no_events(), no_aliases(), PARAMS)
    assert groups(res.event_ids) == [{0, 2}, {1}]


def test_alias_ids_link_a_reissued_id_to_its_event() -> None:
    old = solution("USGS", "at00abc", "2023-05-01T10:00:00", 10.0, 120.0, 5.5)
    ev, al = existing(old)
    # ComCat re-issued the event as us7000xyz and lists the old id among its ids; far in space and
    # time on purpose: only the alias can link them.
    new = solution("USGS", "us7000xyz", "2023-05-01T10:05:00", 12.0, 121.0, 5.9, aliases=["at00abc"])
    res = associate(table(new), ev, al, PARAMS)
    assert res.event_ids.to_pylist() == ev.column("event_id").to_pylist()
    assert not res.is_new_event.any()
    # Within one batch, rows linked by alias ids are one event even with the same provider.
    res = associate(table(old, new), no_events(), no_aliases(), PARAMS)
    assert groups(res.event_ids) == [{0, 1}]


@pytest.mark.parametrize(
    ("dt_s", "shift_km", "dmag", "same"),
    [(15.9, 0, 0, True), (16.1, 0, 0, False), (0, 99, 0, True), (0, 101, 0, False), (0, 0, 0.5, True), (0, 0, 0.6, False)],
)
def test_windows(dt_s: float, shift_km: float, dmag: float, same: bool) -> None:
    dlat = shift_km / 111.195  # km per degree of latitude on a 6371 km sphere
    a = solution("USGS", "u", "2023-01-01T00:00:00", 0.0, 30.0, 6.0)
    b = solution("EMSC", "e", "2023-01-01T00:00:00", dlat, 30.0, 6.0 + dmag)
    b["origin_time_utc"] = a["origin_time_utc"] + dt.timedelta(seconds=dt_s)
    res = associate(table(a, b), no_events(), no_aliases(), PARAMS)
    assert (len(groups(res.event_ids)) == 1) is same


def test_libcomcat_score_picks_the_closest_candidate() -> None:
    # Two USGS events 12 s apart; an EMSC row near the second one in every term.
    u1 = solution("USGS", "u1", "2023-03-01T00:00:00", 0.0, 100.0, 6.0)
    u2 = solution("USGS", "u2", "2023-03-01T00:00:12", 0.3, 100.0, 5.6)
    e = solution("EMSC", "e", "2023-03-01T00:00:10", 0.28, 100.0, 5.65)
    ev, al = existing(u1, u2)
    res = associate(table(e), ev, al, PARAMS)
    assert res.event_ids.to_pylist() == [ev.column("event_id")[1].as_py()]


def test_three_agencies_two_nearby_quakes() -> None:
    rows = [
        solution("USGS", "u1", "2023-03-01T00:00:00", 0.0, 100.0, 6.0),
        solution("USGS", "u2", "2023-03-01T00:00:10", 0.4, 100.0, 5.8),
    ]
    for prov, dt_s, dlat in (("EMSC", 1, 0.02), ("ISC", 2, -0.03)):
        for k, base in enumerate(rows[:2]):
            r = dict(base, provider=prov, provider_event_id=f"{prov}{k}", origin_latitude_deg=base["origin_latitude_deg"] + dlat)
            r["origin_time_utc"] = base["origin_time_utc"] + dt.timedelta(seconds=dt_s)
            rows.append(r)
    res = associate(table(*rows), no_events(), no_aliases(), PARAMS)
    assert groups(res.event_ids) == [{0, 2, 4}, {1, 3, 5}]


def test_window_candidates_match_a_brute_force_scan() -> None:
    """The sorted/searchsorted candidate search finds exactly the pairs a full O(n^2) scan finds."""
    rng = np.random.default_rng(7)
    n = 400
    t0 = np.datetime64("2023-01-01T00:00:00", "us").astype(np.int64)
    times = t0 + rng.integers(0, 600_000_000, n)  # 10 minutes: many close pairs
    lat, lon = rng.uniform(-1, 1, n), rng.uniform(99, 101, n)
    mag = rng.uniform(5, 6, n)
    provs = rng.choice(["USGS", "EMSC"], n)
    rows = table(*[
        solution(str(provs[i]), f"x{i}", "2023-01-01T00:00:00", float(lat[i]), float(lon[i]), float(mag[i]))
        for i in range(n)
    ])
    rows = rows.set_column(2, "origin_time_utc", pa.array(times, pa.int64()).cast(pa.timestamp("us", tz="UTC")))
    res = associate(rows, no_events(), no_aliases(), PARAMS)
    brute = 0
    for i in range(n):
        d = haversine_km(np.full(n, lat[i]), np.full(n, lon[i]), lat, lon)
        ok = (np.abs(times - times[i]) <= 16e6) & (d <= 100) & (np.abs(mag - mag[i]) <= 0.5 + 1e-9) & (provs != provs[i])
        brute += int(ok.sum())
    assert res.candidate_pairs * 2 == brute  # brute force counts each pair from both sides
    # Every resulting event holds at most one row per provider.
    for g in groups(res.event_ids):
        assert len({provs[i] for i in g}) == len(g)


def test_preferred_order_priority_then_status_then_recency() -> None:
    rows = table(
        solution("ISC", "i", "2023-01-01T00:00:00", 0, 0, 6.0, status="final", updated="2024-01-01T00:00:00"),
        solution("USGS", "u-old", "2023-01-01T00:00:00", 0, 0, 6.0, status="reviewed", updated="2023-01-02T00:00:00"),
        solution("USGS", "u-new", "2023-01-01T00:00:00", 0, 0, 6.0, status="reviewed", updated="2023-01-03T00:00:00"),
        solution("USGS", "u-auto", "2023-01-01T00:00:00", 0, 0, 6.0, status="automatic", updated="2023-01-09T00:00:00"),
        solution("USGS", "u-none", "2023-01-01T00:00:00", 0, 0, 6.0, status="reviewed", updated=None),
        solution("XYZ", "x", "2023-01-01T00:00:00", 0, 0, 6.0, status="final"),
    )
    order = np.lexsort(preference_keys(rows, PARAMS.priority))
    got = [rows.column("provider_event_id")[int(i)].as_py() for i in order]
    assert got == ["u-new", "u-old", "u-none", "u-auto", "i", "x"]
    # SeisComP order, manual above automatic, unknown with automatic.
    ladder = status_score(
        pa.array(["final", "reviewed", "confirmed", "manual", "preliminary", "automatic", "reported", "rejected"])
    )
    assert (np.diff(ladder) < 0).all()
    assert status_score(pa.array([None, "AUTOMATIC"])).tolist() == status_score(pa.array(["automatic", "automatic"])).tolist()


def test_real_comcat_rows_against_themselves(comcat_rows: pa.Table) -> None:
    """Re-associating the real catalog with itself as existing events maps every row to its own event,
    and an 'other agency' copy jittered inside the windows joins the same events."""
    n = comcat_rows.num_rows
    first = associate(comcat_rows, no_events(), no_aliases(), PARAMS)
    assert len(set(first.event_ids.to_pylist())) == n  # one provider: nothing merges
    ev = pa.table({"event_id": first.event_ids, **{c: comcat_rows.column(c) for c in (
        "origin_time_utc", "origin_latitude_deg", "origin_longitude_deg", "magnitude_value")}})
    al = pa.table({"provider": comcat_rows.column("provider"), "provider_event_id": comcat_rows.column("provider_event_id"),
                   "event_id": first.event_ids})
    again = associate(comcat_rows, ev, al, PARAMS)
    assert again.event_ids.equals(first.event_ids) and not again.is_new_event.any()
    rng = np.random.default_rng(3)
    other = comcat_rows.set_column(0, "provider", pa.array(["EMSC"] * n))
    other = other.set_column(1, "provider_event_id", pa.array([f"em{i}" for i in range(n)]))
    t = pc.cast(other.column("origin_time_utc"), pa.int64()).to_numpy() + rng.integers(-2_000_000, 2_000_000, n)
    other = other.set_column(2, "origin_time_utc", pa.array(t, pa.int64()).cast(pa.timestamp("us", tz="UTC")))
    joined = associate(other, ev, al, PARAMS)
    assert not joined.is_new_event.any()
    matched = np.mean(np.array(joined.event_ids.to_pylist()) == np.array(first.event_ids.to_pylist()))
    assert matched > 0.99  # a few real aftershocks lie within 2 s of each other
