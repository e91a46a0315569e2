"""The response flows for real (Prefect test harness): concurrent respond runs, and the demo pipeline
(watch, survey, brief) through the same flow runner as ``expedition demo``.

The catalog is the bundled sample of 40 real ComCat events, pulled through the local FDSN service.
What the response must do with them is known (flows/demo_data/README.md; the shipped membership
has every member from the alliance's founding, 2023-11-16, expedition/data/alliance_membership_APPROXIMATION.csv):

* three events open an expedition: the first M6+ in a member country after the founding, the M6.7
  off Mindanao on 2023-11-17 (us6000lp12); the M7.6 off Mindanao on 2023-12-02 (us7000lff4), 415 km
  away from the first, so not its aftershock; the Wushi M7.0 in Xinjiang on 2024-01-22 (us7000lsze);
* three join those: the M6.9 54 km from the Mindanao M7.6 a day later (us7000lfxx) and the Wushi
  M5.8 and M5.7 within 7 km in the following week (us7000lt1i, us7000luuy), all inside the
  Gardner-Knopoff windows (84 km / 960 days for M7.6, 71 km / 800 days for M7.0);
* the other 34 open nothing (before the founding, outside member countries, or below the policy).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.prefect

SAMPLE_EVENTS = 40
# ComCat id of the mainshock -> the expedition it opens (ids are per year and country, in order)
OPENED = {"us6000lp12": "EXP-2023-PHL-001", "us7000lff4": "EXP-2023-PHL-002", "us7000lsze": "EXP-2024-CHN-001"}
# ComCat id of the aftershock -> the expedition it joins
JOINED = {"us7000lfxx": "EXP-2023-PHL-002", "us7000lt1i": "EXP-2024-CHN-001", "us7000luuy": "EXP-2024-CHN-001"}


@pytest.fixture(scope="module")
def service() -> Iterator[Any]:
    from catalogs.detect import read_catalog_file
    from catalogs.fdsnws_server import serve_events
    from flows.demo import SAMPLE_CATALOG, demo_file

    with serve_events(read_catalog_file(demo_file(SAMPLE_CATALOG), provider="USGS")) as server:
        yield server


@pytest.fixture
def pulled_home(prefect_harness: None, service: Any, tmp_path: Path) -> Path:
    """A data root whose lake holds the 40 sample events (pulled by the flow), not yet judged."""
    from expedition.settings import load_settings
    from flows.demo import DEMO_STARTTIME, write_demo_config
    from flows.pull import pull_catalogs
    from warehouse.lake import Lake

    home = tmp_path / "qe"
    write_demo_config(home, service.url)
    Lake.from_settings(load_settings(home)).init()
    assert pull_catalogs(home=str(home), first_starttime=DEMO_STARTTIME).new_events == SAMPLE_EVENTS
    return home


def test_two_responds_at_once_open_no_duplicate_expedition(pulled_home: Path) -> None:
    from expedition.settings import load_settings
    from flows.respond import RespondSummary, respond
    from warehouse.lake import Lake

    home = pulled_home
    (home / "qe.toml").write_text((home / "qe.toml").read_text().replace("watch_interval_s = 300",
                                                                         "watch_interval_s = 300\nwriter_wait_s = 300"))
    results: dict[int, Any] = {}

    def run(i: int) -> None:
        results[i] = respond(home=str(home), write_briefs=False, return_state=True)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    summaries = [results[i].result() for i in range(2)]
    assert all(isinstance(s, RespondSummary) for s in summaries)
    lake = Lake.from_settings(load_settings(home))
    comcat = {r["event_id"]: r["preferred_provider_event_id"]
              for r in lake.read_table("events").select(["event_id", "preferred_provider_event_id"]).to_pylist()}
    assert len(comcat) == SAMPLE_EVENTS
    decisions = [d for s in summaries for d in s.decisions]
    # every event judged once, by one of the two runs
    assert sorted(comcat[d["event_id"]] for d in decisions) == sorted(comcat.values())
    by_kind: dict[str, dict[str, str | None]] = {}
    for d in decisions:
        by_kind.setdefault(d["decision"], {})[comcat[d["event_id"]]] = d["expedition_id"]
    assert by_kind.pop("opened") == OPENED
    assert by_kind.pop("joined") == JOINED
    assert set(by_kind) == {"not_opened"} and len(by_kind["not_opened"]) == SAMPLE_EVENTS - len(OPENED) - len(JOINED)
    assert sorted(e for s in summaries for e in s.opened) == sorted(OPENED.values()), "each expedition opened once"
    con = lake.connect(read_only=True)
    try:
        exps = con.execute("SELECT DISTINCT v.expedition_id, e.preferred_provider_event_id FROM expedition_versions v "
                           "JOIN events e ON e.event_id = v.mainshock_event_id ORDER BY 1").fetchall()
        log_rows = con.execute("SELECT count(*), count(DISTINCT event_id) FROM trigger_decision_log").fetchone()
    finally:
        con.close()
    assert len(exps) == len(OPENED) and {m: e for e, m in exps} == OPENED, "one expedition per mainshock"
    assert log_rows == (SAMPLE_EVENTS, SAMPLE_EVENTS)
    assert respond.fn(home=str(home), write_briefs=False).decisions == [], "a third run finds nothing to judge"


@pytest.mark.slow
def test_demo_pipeline_runs_end_to_end(prefect_harness: None, tmp_path: Path) -> None:
    """The demo as ``expedition demo`` runs it (the same flow runner), inside the session's Prefect harness."""
    from expedition.settings import load_settings
    from flows.demo import SAMPLE_SURVEY, demo_file, run_demo
    from flows.demo_cmd import FlowRunner
    from flows.surveys import ingest_survey
    from warehouse.lake import Lake

    lines: list[str] = []
    result = run_demo(tmp_path / "demo", FlowRunner(), say=lines.append)
    assert result.complete, result.skipped
    assert result.expedition_id == OPENED["us7000lff4"] and result.brief is not None, "the survey's expedition"
    text = "\n".join(lines + result.lines)
    assert "SYNTHETIC" in text and "24 landed" in text
    assert result.brief.is_file() and "SYNTHETIC" in result.brief.read_text(encoding="utf-8"), \
        "the brief itself says its survey is invented"
    first_briefs = [line.split("brief:", 1)[1].strip() for line in lines if line.strip().startswith("brief:")]
    assert len(first_briefs) == len(OPENED) and all(Path(p).is_file() for p in first_briefs), \
        "watch wrote a first brief per expedition"
    settings = load_settings(result.home)
    lake = Lake.from_settings(settings)
    assert lake.read_table("survey_buildings_obs").num_rows == 24
    opened = lake.read_table("expedition_versions").column("expedition_id").unique().to_pylist()
    assert sorted(opened) == sorted(OPENED.values())
    again = ingest_survey(expedition_id=result.expedition_id, path=str(demo_file(SAMPLE_SURVEY)), home=str(result.home))
    assert again.already_ingested, "re-ingesting the same file changes nothing"
