"""The response flows for real (Prefect test harness): concurrent respond runs, and the demo pipeline
(watch, survey, brief) through the same flow runner as ``expedition demo``.

The catalog is the bundled sample of 40 real ComCat events, pulled through the local FDSN service.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.prefect


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
    assert result.expedition_id is not None and result.brief is not None
    text = "\n".join(lines + result.lines)
    assert "SYNTHETIC" in text and "24 landed" in text
    assert result.brief.is_file() and "SYNTHETIC" in result.brief.read_text(encoding="utf-8"), \
        "the brief itself says its survey is invented"
    first_briefs = [line.split("brief:", 1)[1].strip() for line in lines if line.strip().startswith("brief:")]
    assert first_briefs and all(Path(p).is_file() for p in first_briefs), "watch wrote a first brief per expedition"
    settings = load_settings(result.home)
    lake = Lake.from_settings(settings)
    assert lake.read_table("survey_buildings_obs").num_rows == 24
    opened = lake.read_table("expedition_versions").column("expedition_id").unique().to_pylist()
    assert result.expedition_id in opened and len(first_briefs) == len(opened)
    again = ingest_survey(expedition_id=result.expedition_id, path=str(demo_file(SAMPLE_SURVEY)), home=str(result.home))
    assert again.already_ingested, "re-ingesting the same file changes nothing"
