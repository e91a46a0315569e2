"""Pure pieces of the flows: windows, the Prefect environment, deployments, reports, CLI errors."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from expedition.settings import load_settings


def test_split_windows_cover_the_span_without_overlap() -> None:
    from flows.pull import split_windows

    t1, t2 = datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 3, 15, 12, tzinfo=UTC)
    windows = split_windows(t1, t2, 30)
    assert windows[0][0] == t1 and windows[-1][1] == t2
    assert all(b - a <= timedelta(days=30) for a, b in windows)
    assert all(windows[i][1] == windows[i + 1][0] for i in range(len(windows) - 1))
    assert len(windows) == 3  # 30 + 30 + 13.5 days


def test_split_windows_takes_naive_times_as_utc_and_refuses_bad_spans() -> None:
    from flows.pull import split_windows

    windows = split_windows(datetime(2023, 1, 1), datetime(2023, 1, 2), 7)
    assert windows == [(datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 1, 2, tzinfo=UTC))]
    with pytest.raises(ValueError, match="must be after"):
        split_windows(datetime(2023, 1, 2), datetime(2023, 1, 1), 7)
    with pytest.raises(ValueError, match="positive"):
        split_windows(datetime(2023, 1, 1), datetime(2023, 1, 2), 0)


_TOUCHED = ("PREFECT_HOME", "PREFECT_PROFILES_PATH", "PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE",
            "DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED", "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")


@pytest.fixture
def clean_prefect_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Every variable ``prepare_prefect_env`` may touch is removed here and restored after the test."""
    for var in _TOUCHED:
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_prefect_env_goes_under_the_data_root_unless_configured(
    tmp_path: Path, clean_prefect_env: pytest.MonkeyPatch
) -> None:
    from flows.env import prefect_configured, prepare_prefect_env

    monkeypatch = clean_prefect_env
    monkeypatch.setenv("HOME", str(tmp_path / "user"))  # no ~/.prefect/profiles.toml
    assert not prefect_configured()
    settings = load_settings(tmp_path / "qe")
    changed = prepare_prefect_env(settings)
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "qe" / "prefect") == changed["PREFECT_HOME"]
    assert os.environ["DO_NOT_TRACK"] == "1" and os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"


def test_prefect_env_keeps_a_configured_server(tmp_path: Path, clean_prefect_env: pytest.MonkeyPatch) -> None:
    from flows.env import prepare_prefect_env

    monkeypatch = clean_prefect_env
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    monkeypatch.setenv("DO_NOT_TRACK", "0")  # the user's choice is kept
    changed = prepare_prefect_env(load_settings(tmp_path))
    assert "PREFECT_HOME" not in changed and "PREFECT_HOME" not in os.environ
    assert os.environ["DO_NOT_TRACK"] == "0"
    prepare_prefect_env(load_settings(tmp_path), force_local=True)  # the demo ignores the server
    assert "PREFECT_API_URL" not in os.environ and os.environ["PREFECT_HOME"] == str(tmp_path / "prefect")


def test_deployments_carry_the_data_root_and_the_watch_schedule(tmp_path: Path) -> None:
    from flows.deploy import deployments

    (tmp_path / "qe.toml").write_text("watch_interval_s = 120\n")
    deps = {d.name: d for d in deployments(load_settings(tmp_path))}
    assert set(deps) == {"watch", "pull-catalogs", "respond", "backfill", "ingest-survey", "generate-brief"}
    assert all(d.parameters["home"] == str(tmp_path) for d in deps.values())
    (schedule,) = deps["watch"].schedules
    assert schedule.schedule.interval == timedelta(seconds=120)
    assert not deps["backfill"].schedules


def test_decision_report_lists_acting_decisions_with_reasons() -> None:
    from flows.respond import RespondSummary, decision_dict, decisions_markdown

    decisions = [
        decision_dict({"event_id": "ev1", "decision": "opened", "expedition_id": "EXP-2023-AFG-001",
                       "magnitude_value": 6.3, "decision_reason": "M6.3 inside Afghanistan | member"}),
        decision_dict({"event_id": "ev2", "decision": "not_opened", "decision_reason": "M5.1 below floor"}),
        decision_dict({"event_id": "ev3", "decision": "not_opened", "decision_reason": "at sea"}),
    ]
    md = decisions_markdown(decisions)
    assert "EXP-2023-AFG-001" in md and "M6.3 inside Afghanistan / member" in md
    assert "ev2" not in md and "2 other event revisions" in md
    assert RespondSummary(decisions).describe() == "respond: 2 not opened, 1 opened"
    assert RespondSummary([]).describe() == "respond: nothing new to judge"


def test_backfill_rejects_bad_times_in_one_line() -> None:
    from typer.testing import CliRunner

    from expedition.delivery.cli.main import app

    runner = CliRunner()
    bad = runner.invoke(app, ["backfill", "--provider", "USGS", "--starttime", "yesterday", "--endtime", "2024-01-01"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output and "Traceback" not in bad.output
    backwards = runner.invoke(app, ["backfill", "--provider", "USGS", "--starttime", "2024-01-01", "--endtime", "2023-01-01"])
    assert backwards.exit_code == 2 and "must be after" in backwards.output


def test_flow_commands_have_a_worked_example() -> None:
    from expedition.delivery.cli.main import app

    commands = {c.name or (c.callback.__name__ if c.callback else ""): c for c in app.registered_commands}
    for name in ("serve", "watch", "backfill", "demo"):
        doc = commands[name].callback.__doc__ or ""  # type: ignore[union-attr]
        assert f"Example: expedition {name}" in doc, name


def test_configured_api_url_reads_the_active_profile(tmp_path: Path, clean_prefect_env: pytest.MonkeyPatch) -> None:
    from flows.env import configured_api_url

    profiles = tmp_path / "profiles.toml"
    profiles.write_text('active = "team"\n[profiles.local]\n[profiles.team]\nPREFECT_API_URL = "http://127.0.0.1:4201/api"\n')
    clean_prefect_env.setenv("PREFECT_PROFILES_PATH", str(profiles))
    assert configured_api_url() == "http://127.0.0.1:4201/api"
    clean_prefect_env.setenv("PREFECT_PROFILE", "local")
    assert configured_api_url() is None, "the local profile has no server: `expedition serve` starts one"
    clean_prefect_env.setenv("PREFECT_API_URL", "http://127.0.0.1:4202/api")
    assert configured_api_url() == "http://127.0.0.1:4202/api"
