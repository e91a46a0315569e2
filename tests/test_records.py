"""Expedition records: ids, lifecycle transitions (valid and invalid), versions, audit log, concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest

from expedition.decisions import records
from expedition.decisions.records import Expedition, Status
from expedition.errors import ExpeditionError, InvalidTransition, NotFound


@pytest.fixture(scope="module")
def mlake(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    lk = Lake.from_settings(load_settings(tmp_path_factory.mktemp("records") / "home"))
    lk.init()
    return lk


def _seed(lake: Any, iso3: str = "AFG", year: int = 2023, tier: int = 2, status: str = "proposed") -> Expedition:
    """Open an expedition the way the evaluator does: next id inside the writer lock, version 1."""
    t0 = datetime(year, 10, 7, 6, 41, 3, tzinfo=UTC)
    with lake.writer() as w:
        exp_id = records.next_expedition_id(w.con, year, iso3)
        exp = Expedition(
            expedition_id=exp_id, expedition_version=0, recorded_utc=t0, expedition_status=status,
            expedition_tier=tier, expedition_priority=2, alert_level="yellow", review_flag=False,
            review_reason=None, expedition_title=f"test {iso3}", primary_country_iso3=iso3,
            country_iso3_list=[iso3], mainshock_event_id=f"ev-{exp_id}", mainshock_origin_time_utc=t0,
            mainshock_latitude_deg=34.6, mainshock_longitude_deg=61.9, mainshock_depth_km=14.0,
            mainshock_magnitude_value=6.3, mainshock_magnitude_type="mww", sequence_radius_km=58.0,
            sequence_window_days=726.0, sequence_event_count=1, team_members=[], objectives=None,
            start_date=None, end_date=None, opened_utc=t0, opened_by="policy", opened_reason="test",
            policy_version="test", policy_sha256="0" * 64, changed_by=None, change_note=None,
        )
        return records.write_version(w, exp, actor="policy", action="open", reason="test seed", previous=None)


def test_ids_are_per_year_and_country(mlake: Any) -> None:
    a = _seed(mlake, "PHL", 2023)
    b = _seed(mlake, "PHL", 2023)
    c = _seed(mlake, "PHL", 2024)
    assert records.parse_expedition_id(a.expedition_id) == (2023, "PHL", 1)
    assert records.parse_expedition_id(b.expedition_id) == (2023, "PHL", 2)
    assert c.expedition_id == records.expedition_id_for(2024, "PHL", 1)
    with pytest.raises(NotFound, match="EXP-YYYY-ISO-NNN"):
        records.get_expedition(mlake, "EXP-23-PH-1")
    with pytest.raises(NotFound, match="expedition list"):
        records.get_expedition(mlake, "EXP-2099-PHL-001")


def test_full_lifecycle_keeps_versions_and_audit(mlake: Any) -> None:
    exp = _seed(mlake, "CHN", 2024, tier=3)
    eid = exp.expedition_id
    records.approve(mlake, eid, by="Duty Officer Li")
    # an injected clock, one second before midnight UTC: the start date is that UTC day
    at = datetime(2024, 3, 9, 23, 59, 59, tzinfo=UTC)
    dep = records.transition(mlake, eid, "deployed", by="Duty Officer Li", note="team of 6 on site", now=at)
    assert dep.start_date == date(2024, 3, 9) and dep.recorded_utc == at
    records.update_details(mlake, eid, by="Li", team=["Li", "Karimov"], objectives="building damage survey")
    records.transition(mlake, eid, Status.REPORTING, by="Li")
    final = records.transition(mlake, eid, "closed", by="Li", note="report delivered")
    assert final.status == Status.CLOSED and final.end_date is not None
    current = records.get_expedition(mlake, eid)
    assert current.expedition_version == final.expedition_version == 6
    assert current.team_members == ["Li", "Karimov"] and current.objectives == "building damage survey"
    log = records.expedition_log(mlake, eid)  # one audit row per version, versions 1..6
    assert [e.expedition_version for e in log] == [1, 2, 3, 4, 5, 6]
    assert [(e.status_from, e.status_to) for e in log if e.audit_action == "transition"] == [
        ("proposed", "approved"), ("approved", "deployed"), ("deployed", "reporting"), ("reporting", "closed"),
    ]
    assert log[2].actor == "Duty Officer Li" and log[2].audit_reason == "team of 6 on site"
    with pytest.raises(InvalidTransition, match="final state"):
        records.transition(mlake, eid, "cancelled", by="Li")


def test_invalid_transitions_are_refused_with_a_clear_message(mlake: Any) -> None:
    eid = _seed(mlake, "KGZ", 2024, tier=2).expedition_id
    steps = [
        ("deployed", "allowed next: pending_review, approved, cancelled"),
        ("approved", None),
        ("reporting", "only tier 1"),
        ("deployed", None),
        ("approved", "allowed next: reporting, cancelled"),
    ]
    for target, refusal in steps:
        if refusal is None:
            records.transition(mlake, eid, target, by="tester")
            continue
        with pytest.raises(InvalidTransition, match=refusal) as info:
            records.transition(mlake, eid, target, by="tester")
        assert eid in str(info.value)
    log = records.expedition_log(mlake, eid)
    assert [e.status_to for e in log] == ["proposed", "approved", "deployed"]


def test_tier1_reports_without_deploying_then_cancel(mlake: Any) -> None:
    virtual = _seed(mlake, "TJK", 2024, tier=1).expedition_id
    records.approve(mlake, virtual, by="x")
    assert records.transition(mlake, virtual, "reporting", by="x").status == Status.REPORTING
    assert records.transition(mlake, virtual, "cancelled", by="x", note="report withdrawn").status == Status.CANCELLED
    cancelled = records.list_expeditions(mlake, status="cancelled")
    assert virtual in {e.expedition_id for e in cancelled}
    assert all(e.status == Status.CANCELLED for e in cancelled)


def test_bad_inputs(mlake: Any) -> None:
    eid = _seed(mlake, "MNG", 2024).expedition_id
    with pytest.raises(InvalidTransition, match="unknown status 'launched'"):
        records.transition(mlake, eid, "launched", by="x")
    with pytest.raises(ExpeditionError, match="--by NAME"):
        records.approve(mlake, eid, by="  ")
    with pytest.raises(ExpeditionError, match="before start date"):
        records.update_details(mlake, eid, by="x", start_date=date(2024, 2, 1), end_date=date(2024, 1, 1))
    # approving twice is a no-op, not a second version
    first = records.approve(mlake, eid, by="x")
    again = records.approve(mlake, eid, by="y")
    assert again.expedition_version == first.expedition_version


def test_concurrent_approvals_write_one_version(mlake: Any) -> None:
    eid = _seed(mlake, "UZB", 2024).expedition_id
    errors: list[BaseException] = []

    def approve(who: str) -> None:
        try:
            records.approve(mlake, eid, by=who)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=approve, args=(f"officer {i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    log = records.expedition_log(mlake, eid)
    assert [e.status_to for e in log] == ["proposed", "approved"]
