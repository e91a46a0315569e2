"""The response flows for real (Prefect test harness): concurrent respond runs, watch, survey, brief, demo.

The catalog is the bundled sample of 40 real ComCat events, pulled through the local FDSN service;
with the shipped policy and membership it opens three expeditions (two in the Philippines, one in
China), the others are judged and logged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def service() -> Iterator[Any]:
    from catalogs.detect import read_catalog_file
    from catalogs.fdsnws_server import serve_events
    from expedition.demo import SAMPLE_CATALOG, demo_file

    with serve_events(read_catalog_file(demo_file(SAMPLE_CATALOG), provider="USGS")) as server:
        yield server


@pytest.fixture
def pulled_home(prefect_harness: None, service: Any, tmp_path: Path) -> Path:
    """A data root whose lake holds the 40 sample events (pulled by the flow), not yet judged."""
    from expedition.demo import DEMO_STARTTIME, write_demo_config
    from expedition.settings import load_settings
    from flows.pull import pull_catalogs
    from warehouse.lake import Lake

    home = tmp_path / "qe"
    write_demo_config(home, service.url)
    Lake.from_settings(load_settings(home)).init()
    assert pull_catalogs(home=str(home), first_starttime=DEMO_STARTTIME).new_events > 0
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
    opened = [e for s in summaries for e in s.opened]
    assert opened and len(opened) == len(set(opened)), opened
    judged = [d["event_id"] for s in summaries for d in s.decisions]
    n_events = Lake.from_settings(load_settings(home)).read_table("events").num_rows
    assert len(judged) == len(set(judged)) == n_events, "every event judged once, by one of the two runs"
    con = Lake.from_settings(load_settings(home)).connect(read_only=True)
    try:
        exps = con.execute("SELECT expedition_id, mainshock_event_id FROM expeditions").fetchall()
        log_rows = con.execute("SELECT count(*) FROM trigger_decision_log").fetchone()
    finally:
        con.close()
    assert sorted(e for e, _ in exps) == sorted(opened), "one expedition per opening decision"
    assert len({m for _, m in exps}) == len(exps), "no mainshock has two expeditions"
    assert log_rows == (n_events,)
    assert respond.fn(home=str(home), write_briefs=False).decisions == [], "a third run finds nothing to judge"


#: The 2023-12-02 M7.6 off Mindanao, its M6.9 aftershock, and the 2023-02-06 M7.8 in Türkiye (not a member).
MINDANAO = ("us7000lff4", "us7000lfxx", "us6000jllz")


def test_watch_survey_and_brief_flows(prefect_harness: None, tmp_path: Path) -> None:
    import pyarrow.compute as pc

    from catalogs.detect import read_catalog_file
    from catalogs.fdsnws_server import serve_events
    from expedition.demo import (
        DEMO_STARTTIME,
        SAMPLE_CATALOG,
        SAMPLE_SURVEY,
        demo_file,
        survey_expedition,
        write_demo_config,
    )
    from expedition.settings import load_settings
    from flows.briefs import generate_brief
    from flows.surveys import ingest_survey
    from flows.watch import WatchSummary, watch
    from warehouse.lake import Lake

    rows = read_catalog_file(demo_file(SAMPLE_CATALOG), provider="USGS")
    rows = rows.filter(pc.is_in(rows.column("provider_event_id"), pa.array(MINDANAO)))
    home = tmp_path / "qe"
    with serve_events(rows) as server:
        write_demo_config(home, server.url)
        settings = load_settings(home)
        Lake.from_settings(settings).init()
        state = watch(home=str(home), starttime=DEMO_STARTTIME, return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert isinstance(summary, WatchSummary) and summary.pull is not None and summary.pull.new_events == 3
    assert summary.response is not None and summary.response.counts == {"opened": 1, "joined": 1, "not_opened": 1}
    (exp_id,) = summary.response.opened
    first = Path(summary.response.briefs[exp_id])
    assert first.is_file() and exp_id in first.name
    assert survey_expedition(settings) == exp_id
    report = ingest_survey(expedition_id=exp_id, path=str(demo_file(SAMPLE_SURVEY)), home=str(home))
    assert report.rows_landed == 24 and report.errors == 0
    again = ingest_survey(expedition_id=exp_id, path=str(demo_file(SAMPLE_SURVEY)), home=str(home))
    assert again.already_ingested, "re-ingesting the same file changes nothing"
    brief = generate_brief(expedition_id=exp_id, home=str(home), formats=["md"])
    assert brief.is_file() and brief.suffix == ".md" and "SYN-MDN" not in first.read_text(encoding="utf-8")
    assert brief != first, "the survey makes a new brief version"
    assert Lake.from_settings(settings).read_table("survey_buildings_obs").num_rows == 24


@pytest.mark.slow
def test_demo_runs_offline_end_to_end(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    out = run_cli(["demo", "--home", str(home)], timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "demo complete" in out.stdout and "Traceback" not in out.stderr
    assert "SYNTHETIC" in out.stdout
    brief_line = [line for line in out.stdout.splitlines() if line.strip().startswith("brief:")][-1]  # the summary
    brief = Path(brief_line.split("brief:", 1)[1].strip())
    assert brief.is_file() and "SYNTHETIC" in brief.read_text(encoding="utf-8"), "the brief says its survey is invented"
    assert (home / "prefect").is_dir(), "Prefect state stays under the demo's data root"
