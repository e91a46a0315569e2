"""The response on real ComCat events (../shared/data, skipped when absent).

Two lakes, built once for the module:

* ``world`` judges real sequences under the SHIPPED approximate membership: Türkiye 2023 (not a
  member), Herat 2023 (before the alliance was founded), Mindanao 2023-12-02, Wushi 2024-01-22, an
  M5.3 in Chile, the remote intermediate-depth M6.4 in the Hindu Kush (2024-01-11);
* ``herat`` judges the Herat sequence under an operator membership file that dates Afghanistan
  from 2023-01-01 (a counterfactual: under the shipped list the sequence predates BRIDRREM), with
  two evaluations started at once.

Event rows are written straight into ``events`` from the ComCat export (one solution per event,
event_id = ComCat id).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from expedition.decisions.policy import load_policy, mmi_class_reached
from expedition.decisions.records import acknowledge_review, current_in, list_expeditions
from expedition.decisions.response.details import expedition_details
from expedition.decisions.response.evaluate import evaluate_events, open_manually
from expedition.science.hazard.ipe import to_roman
from expedition.science.hazard.sequences import in_sequence
from expedition.settings import load_settings
from tests.conftest import run_cli
from warehouse.lake import Lake
from warehouse.tables import spec

# Module fixtures evaluate real ComCat sequences (about 20 s): the whole module is in the slow lane.
pytestmark = pytest.mark.slow

COMCAT = "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv"
# (lat_min, lat_max, lon_min, lon_max, t_start, t_end) of each real sequence used
BOXES = {
    "turkiye": (35.5, 39.0, 35.0, 40.0, "2023-02-06", "2023-02-07"),
    "herat": (34.0, 35.0, 61.5, 62.5, "2023-10-07", "2023-10-16"),
    "mindanao": (7.5, 9.5, 125.5, 127.5, "2023-12-02", "2023-12-04"),
    "wushi": (40.8, 41.6, 78.0, 79.2, "2024-01-22", "2024-02-01"),
}
SINGLES = {"chile_m53": "us7000ltf3", "hindu_kush_m64": "us6000m31m"}
# One quake reported twice in the export: PTWC ("at", Mi 6.7) and NEIC ("us", Mww 6.4), 3.7 s apart.
TWO_AGENCIES = ("at00sazg39", "us7000m86i")
MAINSHOCK = {"turkiye": "us6000jllz", "mindanao": "us7000lff4", "wushi": "us7000lsze"}


def _comcat(shared_data: Path) -> pd.DataFrame:
    df = pd.read_csv(shared_data / COMCAT, encoding="utf-8-sig", dtype={"id": str})
    df["t"] = pd.to_datetime(df["time"], utc=True)
    return df


def _select(df: pd.DataFrame, names: list[str], singles: list[str]) -> pd.DataFrame:
    keep = df["id"].isin(singles)
    for name in names:
        la0, la1, lo0, lo1, t0, t1 = BOXES[name]
        keep |= df.latitude.between(la0, la1) & df.longitude.between(lo0, lo1) & (df.t >= t0) & (df.t < t1)
    return df[keep]


def _events(df: pd.DataFrame, revision: int = 1) -> pa.Table:
    s = spec("events")
    return pa.Table.from_pydict(
        {
            "event_id": df["id"].tolist(),
            "origin_time_utc": df["t"].dt.to_pydatetime().tolist(),
            "origin_latitude_deg": df["latitude"].tolist(),
            "origin_longitude_deg": df["longitude"].tolist(),
            "origin_depth_km": df["depth"].tolist(),
            "magnitude_value": df["mag"].tolist(),
            "magnitude_type": df["magType"].tolist(),
            "magnitude_author": df["magSource"].tolist(),
            "origin_agency": df["locationSource"].tolist(),
            "review_status": df["status"].tolist(),
            "event_type": df["type"].tolist(),
            "region_name": df["place"].tolist(),
            "preferred_provider": ["USGS"] * len(df),
            "preferred_provider_event_id": df["id"].tolist(),
            "updated_time_utc": pd.to_datetime(df["updated"], utc=True).dt.to_pydatetime().tolist(),
            "event_revision": [revision] * len(df),
            "ingest_batch_id": ["test"] * len(df),
        },
        schema=s.schema,
    )


def _solutions(df: pd.DataFrame, event_id: str) -> pa.Table:
    """The rows of ``df`` as every agency's solution of one event."""
    ev = _events(df)
    schema = spec("event_solutions").schema
    given = {
        "solution_id": pa.array(df["id"].tolist()),
        "provider": pa.array(df["net"].str.upper().tolist()),
        "provider_event_id": pa.array(df["id"].tolist()),
        "event_id": pa.array([event_id] * len(df)),
    }
    cols = [given.get(f.name, ev.column(f.name) if f.name in ev.column_names else pa.nulls(len(df), f.type)) for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)


def _home(root: Path, cache: Path, extra: str = "") -> tuple[Any, Lake]:
    root.mkdir(parents=True)
    (root / "qe.toml").write_text(f'writer_wait_s = 600\n{extra}\n[response]\ncache_dir = "{cache}"\n', encoding="utf-8")
    settings = load_settings(root)
    lake = Lake.from_settings(settings)
    lake.init()
    return settings, lake


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("geo-cache")


@pytest.fixture(scope="module")
def world(shared_data: Path, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[dict[str, Any]]:
    df = _comcat(shared_data)
    sub = _select(df, ["turkiye", "herat", "mindanao", "wushi"], list(SINGLES.values()))
    settings, lake = _home(tmp_path_factory.mktemp("world") / "home", cache_dir)
    # the PTWC row is the event's preferred solution; both agencies' solutions are kept
    pair = df[df["id"].isin(TWO_AGENCIES)].sort_values("id")
    sub = pd.concat([sub, pair[pair.id == TWO_AGENCIES[0]]])
    # the Wushi aftershocks arrive in a second batch, as they would in operation
    wushi = _in_box(sub, "wushi")
    later = wushi[wushi.id != MAINSHOCK["wushi"]]
    with lake.writer() as w:
        w.write("events", _events(sub[~sub.id.isin(later.id)]), mode="upsert")
        w.write("event_solutions", _solutions(pair, event_id=TWO_AGENCIES[0]), mode="insert_new")
    decisions = evaluate_events(lake, settings)
    first_batch = expedition_details(lake, next(d.expedition_id for d in decisions if d.event_id == MAINSHOCK["wushi"]))
    with lake.writer() as w:
        w.write("events", _events(later), mode="upsert")
    decisions += evaluate_events(lake, settings)
    yield {
        "settings": settings, "lake": lake, "df": sub, "decisions": {d.event_id: d for d in decisions},
        "wushi_first_batch": first_batch,
    }


def _in_box(df: pd.DataFrame, name: str) -> pd.DataFrame:
    return _select(df, [name], [])


@pytest.mark.slow
def test_every_event_gets_one_decision_with_a_reason(world: dict[str, Any]) -> None:
    assert set(world["decisions"]) == set(world["df"]["id"])
    assert all(d.reason and d.decision in {"opened", "not_opened", "joined"} for d in world["decisions"].values())
    con = world["lake"].connect(read_only=True)
    try:
        n, latest = con.execute("SELECT count(*), count(*) FILTER (WHERE is_latest) FROM trigger_decisions").fetchone()
        policies = con.execute("SELECT DISTINCT policy_version, policy_sha256 FROM trigger_decision_log").fetchall()
    finally:
        con.close()
    assert n == latest == len(world["df"])
    policy = load_policy()
    assert policies == [(policy.version, policy.sha256)]


def test_moment_magnitude_is_preferred_over_the_catalogue_magnitude(world: dict[str, Any]) -> None:
    d = world["decisions"][TWO_AGENCIES[0]]
    assert "M 6.4 Mw (mww 6.4 (US) preferred over Mi 6.7)" in d.reason
    assert d.decision == "not_opened"


def test_turkiye_is_not_a_member_under_the_shipped_list(world: dict[str, Any]) -> None:
    d = world["decisions"][MAINSHOCK["turkiye"]]
    assert d.decision == "not_opened" and d.expedition_id is None
    assert "M 7.8 Mw" in d.reason and "not a member under the shipped APPROXIMATE membership list" in d.reason
    assert not any("TUR" in x.countries for x in world["decisions"].values())


def test_herat_predates_the_alliance_under_the_shipped_list(world: dict[str, Any]) -> None:
    herat = _in_box(world["df"], "herat")
    assert (herat.mag >= 6.3).sum() >= 2
    for eid in herat["id"]:
        d = world["decisions"][eid]
        assert d.decision == "not_opened"
        assert "Afghanistan was not yet a member on 2023-10-" in d.reason and "(member from 2023-11-16)" in d.reason


def test_mindanao_sequence_is_one_expedition_for_phl(world: dict[str, Any]) -> None:
    box = _in_box(world["df"], "mindanao")
    main = world["decisions"][MAINSHOCK["mindanao"]]
    assert main.decision == "opened" and main.expedition_id.startswith("EXP-2023-PHL-")
    m = box[box.id == MAINSHOCK["mindanao"]].iloc[0]
    after = box[box.t > m.t]
    # Gardner & Knopoff (1974) window of the M7.6, computed independently of the evaluator
    inside = in_sequence(m.latitude, m.longitude, m.t.to_pydatetime(), m.mag, after.latitude, after.longitude,
                         list(after.t.dt.to_pydatetime()))
    outside, after = after[~inside], after[inside]
    big_same_day = after[(after.mag >= 6.0) & (after.t < "2023-12-03")]
    assert len(big_same_day) >= 3  # the M6.0-6.4 aftershocks of 2023-12-02
    assert all(world["decisions"][i].decision == "not_opened" for i in outside["id"])  # small events beyond the window
    for eid in after["id"]:
        d = world["decisions"][eid]
        assert (d.decision, d.expedition_id) == ("joined", main.expedition_id), (eid, d.reason)
        assert "Gardner-Knopoff window" in d.reason and main.expedition_id in d.reason
    details = expedition_details(world["lake"], main.expedition_id)
    assert details["expedition"]["primary_country_iso3"] == "PHL"
    assert {e["event_id"] for e in details["events"]} == {main.event_id, *after["id"]}
    assert [world["decisions"][i].decision for i in box["id"]].count("opened") == 1  # one expedition for the sequence


def test_wushi_border_quake_countries_follow_estimated_shaking(world: dict[str, Any]) -> None:
    d = world["decisions"][MAINSHOCK["wushi"]]
    assert d.decision == "opened"
    box_ids = set(_in_box(world["df"], "wushi")["id"])
    assert {world["decisions"][i].expedition_id for i in box_ids} == {d.expedition_id}  # aftershocks joined it
    assert [world["decisions"][i].decision for i in box_ids].count("opened") == 1
    info = expedition_details(world["lake"], d.expedition_id)
    exp = info["expedition"]
    assert exp["primary_country_iso3"] == "CHN"
    first = [a for a in info["assessments"] if a["event_id"] == MAINSHOCK["wushi"] and a["rupture_method"] == "wc1994_line"]
    by_country = first[0]["mmi_by_country"]
    shaken = {iso3 for iso3, c in by_country.items() if c["member"] and mmi_class_reached(c["mmi"], load_policy().country_mmi)}
    assert set(exp["country_iso3_list"]) == shaken | {"CHN"}
    assert "countries by estimated shaking: China" in d.reason
    for iso3, c in by_country.items():
        if c["member"] and iso3 not in exp["country_iso3_list"] and c["mmi"] >= 4.5:
            assert f"{c['name']} (MMI {to_roman(c['mmi'])} at {c['place']})" in d.reason  # why it is not covered


def test_the_aftershock_zone_refines_the_rupture_once_aftershocks_arrive(world: dict[str, Any]) -> None:
    before = world["wushi_first_batch"]["assessments"]
    assert [a["rupture_method"] for a in before] == ["wc1994_line"]  # the mainshock alone: W&C line
    info = expedition_details(world["lake"], world["decisions"][MAINSHOCK["wushi"]].expedition_id)
    zone = [a for a in info["assessments"] if a["rupture_method"] == "aftershock_zone"]
    assert len(zone) == 1 and zone[0]["event_id"] == MAINSHOCK["wushi"]
    box = _in_box(world["df"], "wushi")
    t0 = box[box.id == MAINSHOCK["wushi"]].t.iloc[0]
    first_day = box[(box.t > t0) & (box.t <= t0 + pd.Timedelta(hours=24))]
    assert 5 <= zone[0]["rupture_event_count"] <= len(first_day)
    assert info["mainshock_assessment"]["assessment_id"] == zone[0]["assessment_id"]
    assert "Kagan 2002" in zone[0]["provenance"]["rupture_source"]


def test_below_the_magnitude_floor_is_not_opened(world: dict[str, Any]) -> None:
    d = world["decisions"][SINGLES["chile_m53"]]
    assert d.decision == "not_opened"
    assert "M 5.3" in d.reason and "inside Chile (member since 2023-11-16)" in d.reason
    assert "below the magnitude floor 5.5" in d.reason


def test_remote_intermediate_depth_event_opens_a_tier1_expedition(world: dict[str, Any]) -> None:
    d = world["decisions"][SINGLES["hindu_kush_m64"]]
    assert d.decision == "opened" and d.expedition_id.startswith("EXP-2024-AFG-") and d.countries == ("AFG",)
    rule = load_policy().alert_rule(d.alert_level)
    assert d.alert_level == "green" and d.tier == rule.tier == 1 and f"{rule.status} (rule:" in d.reason
    assert "inside Afghanistan (member since 2023-11-16)" in d.reason and "204 km deep" in d.reason
    assert "rule: M >= 6.0 within 50 km of a member" in d.reason and "tier 1" in d.reason
    assert "alert green" in d.reason and "people at MMI >= VII" in d.reason


def test_rerun_changes_nothing(world: dict[str, Any]) -> None:
    lake = world["lake"]
    before = lake.current_snapshot()
    assert evaluate_events(lake, world["settings"]) == []
    assert evaluate_events(lake, world["settings"], event_ids=[MAINSHOCK["wushi"]]) == []
    assert lake.current_snapshot() == before


def test_manual_open_is_logged(world: dict[str, Any]) -> None:
    lake, eid = world["lake"], SINGLES["chile_m53"]
    exp, created = open_manually(lake, eid, reason="request from the national agency", by="Duty Officer Li",
                                 settings=world["settings"])
    assert created and exp.expedition_id.startswith("EXP-2024-CHL-") and exp.opened_by == "Duty Officer Li"
    again, created_again = open_manually(lake, eid, reason="again", by="Someone", settings=world["settings"])
    assert not created_again and again.expedition_id == exp.expedition_id
    decisions = expedition_details(lake, exp.expedition_id)["decisions"]
    manual = [x for x in decisions if x["decision"] == "manual_open"]
    assert len(manual) == 1 and manual[0]["decided_by"] == "Duty Officer Li"
    assert "request from the national agency" in manual[0]["decision_reason"]
    assert "the policy alone would not open it" in manual[0]["decision_reason"]
    assert "below the magnitude floor" in manual[0]["decision_reason"]


@pytest.mark.slow
def test_cli_list_show_approve_advance(world: dict[str, Any]) -> None:
    from typer.testing import CliRunner

    from expedition.delivery.cli.main import app
    from expedition.errors import InvalidTransition

    home = ["--home", str(world["settings"].home)]
    eid = world["decisions"][SINGLES["hindu_kush_m64"]].expedition_id
    cli = CliRunner()
    r = cli.invoke(app, ["evaluate", *home])
    assert r.exit_code == 0 and "nothing new" in r.stdout
    r = cli.invoke(app, ["list", "--status", "proposed", "--json", *home])
    assert r.exit_code == 0, r.output
    assert eid in {x["expedition_id"] for x in json.loads(r.stdout)}
    r = cli.invoke(app, ["approve", eid, "--by", "Duty Officer Li", *home])
    assert r.exit_code == 0 and f"{eid}: approved" in r.stdout
    r = cli.invoke(app, ["advance", eid, "--to", "closed", "--by", "Li", *home])
    assert r.exit_code != 0 and isinstance(r.exception, InvalidTransition)
    assert "allowed next: deployed, reporting, cancelled" in str(r.exception)
    r = cli.invoke(app, ["advance", eid, "--to", "reporting", "--by", "Li", "--note", "virtual team report sent", *home])
    assert r.exit_code == 0 and f"{eid}: reporting" in r.stdout
    r = cli.invoke(app, ["show", eid, *home])
    assert r.exit_code == 0, r.output
    assert "audit log:" in r.stdout and "Duty Officer Li: transition proposed -> approved" in r.stdout
    assert "virtual team report sent" in r.stdout and "opened" in r.stdout and "decisions:" in r.stdout
    # through the real command: one line, no traceback
    p = run_cli(["advance", eid, "--to", "deployed", "--by", "Li", *home])
    assert p.returncode == 2 and p.stderr.startswith("error: ") and "Traceback" not in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "cannot move from reporting to deployed" in p.stderr


@pytest.mark.slow
def test_revisions_raise_the_alert_or_flag_for_review(world: dict[str, Any]) -> None:
    lake, df = world["lake"], world["df"]
    con = lake.connect(read_only=True)
    try:
        wushi = current_in(con, world["decisions"][MAINSHOCK["wushi"]].expedition_id)
        mindanao = current_in(con, world["decisions"][MAINSHOCK["mindanao"]].expedition_id)
    finally:
        con.close()
    assert wushi is not None and mindanao is not None
    down = df[df.id == MAINSHOCK["wushi"]].assign(mag=5.3, magType="mb")  # a revision below the floor
    up = df[df.id == MAINSHOCK["mindanao"]].assign(mag=8.2)  # a revision upwards
    with lake.writer() as w:
        w.write("events", _events(pd.concat([down, up]), revision=2), mode="upsert")
    got = {d.event_id: d for d in evaluate_events(lake, world["settings"])}
    assert set(got) == {MAINSHOCK["wushi"], MAINSHOCK["mindanao"]}
    flagged, upd = got[MAINSHOCK["wushi"]], got[MAINSHOCK["mindanao"]]
    con = lake.connect(read_only=True)
    try:
        w2, m2 = current_in(con, wushi.expedition_id), current_in(con, mindanao.expedition_id)
        info = expedition_details(lake, mindanao.expedition_id, con=con)
        kinds = con.execute(
            "SELECT list(decision ORDER BY event_revision) FROM trigger_decision_log WHERE event_id = ?", [MAINSHOCK["wushi"]]
        ).fetchone()
    finally:
        con.close()
    assert w2 is not None and m2 is not None
    assert flagged.decision == "flagged_for_review" and "nothing deleted" in flagged.reason
    assert w2.review_flag and "below the magnitude floor" in (w2.review_reason or "")
    assert w2.expedition_version > wushi.expedition_version and w2.mainshock_magnitude_value == 5.3
    assert w2.expedition_status == wushi.expedition_status  # a person decides; nothing is cancelled
    assert kinds == (["opened", "flagged_for_review"],)  # the first decision stays in the log
    kept = acknowledge_review(lake, wushi.expedition_id, by="A. Santos", note="field reports confirm damage")
    assert not kept.review_flag and kept.expedition_status == wushi.expedition_status
    assert upd.decision == "updated" and upd.expedition_id == mindanao.expedition_id
    assert m2.mainshock_magnitude_value == 8.2
    order = ["green", "yellow", "orange", "red"]
    revised = [a["alert_level"] for a in info["assessments"]
               if a["event_id"] == MAINSHOCK["mindanao"] and a["event_revision"] == 2]
    top = max([mindanao.alert_level, *revised], key=order.index)
    assert m2.alert_level == top  # alerts only rise
    if top != mindanao.alert_level:
        assert f"alert raised {mindanao.alert_level} -> {top}" in upd.reason
        if load_policy().alert_rule(top).status == "pending_review":
            assert m2.expedition_status == "pending_review"


# -- Herat under an operator membership file, two evaluations at once -------------------------------
@pytest.fixture(scope="module")
def herat(shared_data: Path, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("herat") / "home"
    members = tmp_path_factory.mktemp("members") / "members.csv"
    members.write_text(
        "# counterfactual for tests: Afghanistan dated from 2023-01-01\n"
        "iso_a2,iso_a3,name,member_from,member_to,note\nAF,AFG,Afghanistan,2023-01-01,,test\n",
        encoding="utf-8",
    )
    settings, lake = _home(root, cache_dir, extra=f'membership_file = "{members}"')
    sub = _in_box(_comcat(shared_data), "herat")
    with lake.writer() as w:
        w.write("events", _events(sub), mode="upsert")
    results: list[list[Any]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(evaluate_events(lake, settings))
        except BaseException as exc:  # pragma: no cover - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"lake": lake, "df": sub, "results": results, "errors": errors}


@pytest.mark.slow
def test_two_evaluations_at_once_open_one_expedition_for_herat(herat: dict[str, Any]) -> None:
    assert not herat["errors"] and len(herat["results"]) == 2
    decided = [d.event_id for r in herat["results"] for d in r]
    assert sorted(decided) == sorted(herat["df"]["id"])  # every event once, by one of the two runs
    assert sorted(len(r) for r in herat["results"])[0] == 0  # the second found nothing left to decide
    exps = list_expeditions(herat["lake"])
    assert len(exps) == 1
    exp = exps[0]
    assert exp.expedition_id == "EXP-2023-AFG-001" and exp.country_iso3_list == ["AFG"]
    decisions = {d.event_id: d for r in herat["results"] for d in r}
    m63 = herat["df"][herat["df"].mag >= 6.3].sort_values("t")
    assert exp.mainshock_origin_time_utc == m63["t"].iloc[0].to_pydatetime()
    assert len(m63) == 4  # 2023-10-07 (two), 2023-10-11, 2023-10-15
    assert [decisions[i].decision for i in m63["id"]] == ["opened", "joined", "joined", "joined"]
    assert {d.expedition_id for d in decisions.values()} == {exp.expedition_id}
    assert "Afghanistan (member since 2023-01-01)" in decisions[m63["id"].iloc[0]].reason
