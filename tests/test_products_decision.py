"""Authoritative products in the decision path, end to end through the local FDSN service.

A synthetic M7.0 in central Myanmar (a member in the shipped approximate list) is judged by our own
model, then USGS-style products arrive: the ShakeMap grid becomes the exposure, USGS PAGER's alert
becomes the alert we act on (ours is kept beside it, the reason says which drove the decision), an
upgrade raises alert and tier, a downgrade is flagged for a person. Every judged event keeps its
assessment in ``event_assessments`` (``expedition assessments``).

The ``expedition`` commands run in-process (``invoke_cli``: the console script's own ``main``, same exit
codes, output and error lines); the real executable's smoke tests are in tests/test_cli_core.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from catalogs.fdsnws_server import FDSNEventServer, serve_events
from catalogs.ingest import ingest_solutions
from expedition.decisions.records import Expedition, current_in
from expedition.decisions.response.decisions import Decision
from expedition.decisions.response.evaluate import evaluate_events
from expedition.decisions.response.refresh import refresh_products
from expedition.decisions.response.sequences import ALERT_ORDER, alert_rank
from expedition.science.hazard.pager import FATALITY_RANGES
from expedition.settings import load_settings
from tests.conftest import invoke_cli
from tests.fdsn_fixtures import solution, table
from tests.products_fixtures import EVENT, grid_mmi, synthetic_detail, synthetic_grid
from warehouse.lake import Lake
from warehouse.tables.products import FATALITY_RANGE_SUFFIXES

T0 = EVENT.time


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("geo-cache")


@pytest.fixture
def world(tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    rows = table(solution("USGS", EVENT.id, "2025-03-28T06:20:52", EVENT.lat, EVENT.lon, EVENT.mag))
    with serve_events(rows) as server:
        home = tmp_path / "home"
        home.mkdir()
        (home / "qe.toml").write_text(
            f'writer_wait_s = 600\n\n[[providers]]\nname = "USGS"\nurl = "{server.url}"\nmin_interval_s = 0.0\n'
            f'timeout_s = 5.0\n\n[pull]\nretry_attempts = 2\nretry_base_s = 0.01\n\n[response]\ncache_dir = "{cache_dir}"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("QE_HOME", str(home))
        settings = load_settings(home)
        lake = Lake.from_settings(settings)
        lake.init()
        ingest_solutions(lake, rows, "test", "rows", "test://rows", None, settings)
        yield {"server": server, "settings": settings, "lake": lake, "home": home}


def current(lake: Lake, exp_id: str) -> Expedition:
    con = lake.connect(read_only=True)
    try:
        exp = current_in(con, exp_id)
    finally:
        con.close()
    assert exp is not None
    return exp


def _assessments(lake: Lake) -> list[dict[str, Any]]:
    con = lake.connect(read_only=True)
    try:
        return con.execute("SELECT * FROM event_assessments ORDER BY assessed_utc, decision_id").to_arrow_table().to_pylist()
    finally:
        con.close()


def _publish(server: FDSNEventServer, alert: str, minutes: int, version: int) -> None:
    when = T0 + dt.timedelta(minutes=minutes)
    server.publish_detail(
        synthetic_detail(alert=alert, pager_update=when, shakemap_version=version, shakemap_update=when),
        {"download/grid.xml": synthetic_grid(version=version)},
    )


@pytest.mark.slow
def test_products_drive_the_decision_upgrade_and_downgrade(world: dict[str, Any]) -> None:
    lake, settings, server = world["lake"], world["settings"], world["server"]
    first = evaluate_events(lake, settings)
    assert [d.decision for d in first] == ["opened"]
    ours = first[0].alert_level
    assert ours in ALERT_ORDER and "no USGS PAGER alert known" in first[0].reason
    exp_id = str(first[0].expedition_id)

    # 1. products arrive: a PAGER alert one level above ours (red if ours is red) and a ShakeMap grid
    up = ALERT_ORDER[min(alert_rank(ours) + 1, len(ALERT_ORDER) - 1)]
    _publish(server, up, 30, 1)
    done = refresh_products(lake, settings, [EVENT.id])
    assert [r.changed for r in done.reports] == [True] and done.reports[0].problems == []
    d1: Decision = done.decisions[0]
    assert d1.decision == "updated" and d1.alert_level == up
    assert f"alert {up} from USGS PAGER (us, 2025-03-28 06:50 UTC), which drove the decision; ours {ours}" in d1.reason
    assert "intensity and exposure from USGS ShakeMap 4.1.3 v1 us" in d1.reason
    if up != ours:
        assert f"alert raised {ours} -> {up}" in d1.reason
    exp = current(lake, exp_id)
    assert exp.alert_level == up and exp.expedition_tier >= first[0].tier  # type: ignore[operator]

    # a rerun with the same product versions writes nothing
    again = refresh_products(lake, settings, [EVENT.id])
    assert [r.changed for r in again.reports] == [False] and again.decisions == []
    assert evaluate_events(lake, settings, event_ids=[first[0].event_id]) == []

    # 2. a new PAGER version lowers the alert: flagged for a person, not applied
    _publish(server, "green", 90, 2)
    d2 = refresh_products(lake, settings, [EVENT.id]).decisions[0]
    assert d2.decision == "flagged_for_review"
    assert "USGS PAGER (us, 2025-03-28 07:50 UTC) alert is now green, below the expedition's" in d2.reason
    exp = current(lake, exp_id)
    assert exp.alert_level == up and exp.review_flag and "a person decides whether to lower it" in str(exp.review_reason)

    # every judged event keeps its assessment; the exposure of the product runs is the grid's
    rows = _assessments(lake)
    assert [r["intensity_source_kind"] for r in rows] == ["model", "shakemap", "shakemap"]
    assert [r["alert_level_authoritative"] for r in rows] == [None, up, "green"]
    assert [r["alert_level_acted"] for r in rows] == [ours, up, "green"]
    assert [r["alert_basis"] for r in rows] == ["ours", "authoritative", "authoritative"]
    assert rows[1]["intensity_source"] == "USGS ShakeMap 4.1.3 v1 us" and rows[2]["intensity_version"] == "2"
    assert rows[1]["intensity_agency"] == "USGS" and rows[0]["intensity_agency"] is None
    assert rows[1]["alert_level_ours"] is not None and rows[1]["fatality_median"] >= 0
    # PAGER's probability of each fatality range: they sum to one and the median lies in the range
    # where their cumulative sum crosses one half
    bounds = [lo for _, lo, _ in FATALITY_RANGES] + [float("inf")]
    for r in rows:
        probs = [r[f"fatality_prob_{s}"] for s in FATALITY_RANGE_SUFFIXES]
        assert sum(probs) == pytest.approx(1.0, abs=1e-6) and min(probs) >= 0.0
        k = int(np.searchsorted(np.cumsum(probs), 0.5))
        assert bounds[k] <= max(r["fatality_median"], 0.5) < bounds[k + 1]
    # the strongest intensity at a populated place is the grid's value there (bilinear on a 0.05 deg grid)
    place_mmi = grid_mmi(np.array([0.0]), np.array([0.0]), 0.0, 0.0, 9.0)  # the synthetic field at its centre
    assert place_mmi[0] == 9.0
    top = rows[1]
    assert top["mmi_max_populated"] <= 9.0 and top["mmi_max_populated"] > 7.5
    exposure = json.loads(top["population_by_mmi_json"])
    assert exposure != json.loads(rows[0]["population_by_mmi_json"])
    assert sum(exposure.values()) > 0


@pytest.mark.slow
def test_bad_grid_keeps_our_model_and_cli_lists_assessments(world: dict[str, Any]) -> None:
    lake, settings, server = world["lake"], world["settings"], world["server"]
    evaluate_events(lake, settings)
    server.publish_detail(synthetic_detail(alert="yellow"), {"download/grid.xml": synthetic_grid(event_id="us6000else")})
    done = refresh_products(lake, settings, [EVENT.id], evaluate=False)  # as `catalog pull` and `watch` do
    assert len(done.reports[0].problems) == 1
    assert "grid of event us6000else: expected event" in done.reports[0].problems[0]
    assert done.reports[0].problems[0].endswith("us6000test")
    assert done.decisions == []
    (d,) = evaluate_events(lake, settings)  # the pending events include those with a new product version
    assert evaluate_events(lake, settings) == []
    assert d.alert_level == "yellow" and "from USGS PAGER" in d.reason and "intensity and exposure from" not in d.reason
    out = invoke_cli(["assessments", "--event", EVENT.id, "--json"], env={"QE_HOME": str(world["home"])})
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert [a["intensity_source_kind"] for a in listed] == ["model", "model"]  # newest first, both our model
    assert [a["alert_level_authoritative"] for a in listed] == ["yellow", None]
    # without a usable grid, our model takes the rupture from the finite-fault product (strike 5,
    # dip 80, 150 x 20 km): the first run had no product and assumed an unknown strike
    rows = _assessments(lake)
    assert [r["rupture_method"] for r in rows] == ["unknown_strike", "finite_fault"]
    assert "urn:usgs-product:us:finite-fault:us6000test_1:" in json.loads(rows[1]["model_versions_json"])["finite_fault"]
    assert rows[1]["intensity_version"] == "qe-shaking 2.0" and rows[1]["population_source"].startswith("places+rural")
    assert listed[0]["population_by_mmi"].keys() == {"IV", "V", "VI", "VII", "VIII", "IX", "X"}
    again = invoke_cli(["products", "pull", EVENT.id, "--json"], env={"QE_HOME": str(world["home"])})
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert [(r["provider_event_id"], r["alert_level"], r["changed"]) for r in report["reports"]] == [(EVENT.id, "yellow", False)]
    assert report["decisions"] == []
    missing = invoke_cli(["products", "pull", "us0000none"], env={"QE_HOME": str(world["home"])})
    assert missing.returncode == 2 and "no event 'us0000none' in the lake" in missing.stderr and "Traceback" not in missing.stderr
