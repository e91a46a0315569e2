"""Notifications to people, against real receivers on 127.0.0.1: an HTTP server (webhook and chat
channels) and an SMTP sink (aiosmtpd). Each decision reaches each channel that wants it once, however
often the dispatch runs, with retries on transient failures and filters per channel."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from expedition.decisions.response.decisions import Decision
from expedition.settings import NotifyChannel, SettingsError, load_settings


@dataclass
class Receiver:
    """A webhook receiver: records every POST; answers ``fail_codes`` first, in turn, then 200."""

    url: str
    posts: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # (path, body, idempotency key)
    fail_codes: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            rec = box[0]
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with rec.lock:
                code = rec.fail_codes.pop(0) if rec.fail_codes else 200
                if code == 200:
                    rec.posts.append((self.path, body, self.headers.get("Idempotency-Key", "")))
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[Any] = field(default_factory=list)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    aiosmtpd = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd (dev extra) is not installed")
    box = Mailbox("127.0.0.1", 0)

    class Sink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            box.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    from bench.servers import free_port

    box.port = free_port()
    controller = aiosmtpd.Controller(Sink(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def decision(kind: str, exp: str, alert: str | None, countries: tuple[str, ...], n: int) -> Decision:
    return Decision(f"dec-{n:04d}", f"ev{n}", 1, kind, exp, f"reason {n}: MMI VIII in {countries[0]}", alert, 1,
                    countries)


DECISIONS = [
    decision("opened", "EXP-2024-NPL-001", "orange", ("NPL",), 1),
    decision("updated", "EXP-2024-IND-001", "yellow", ("IND",), 2),
    Decision("dec-0003", "ev3", 1, "not_opened", None, "below the policy", "green", None, ("PER",)),  # never announced
    decision("flagged_for_review", "EXP-2024-CHL-001", "red", ("CHL", "ARG"), 4),
]


def channels(receiver: Receiver, mailbox: Mailbox) -> tuple[NotifyChannel, ...]:
    return (
        NotifyChannel("ops", "webhook", url=f"{receiver.url}/ops", countries=("NPL", "ARG")),
        NotifyChannel("chat", "chat", url=f"{receiver.url}/chat", min_alert="orange"),
        NotifyChannel("duty", "email", to=("duty@example.org",), smtp_host=mailbox.host, smtp_port=mailbox.port,
                      smtp_starttls=False),
    )


@pytest.mark.slow
def test_each_decision_reaches_each_channel_that_wants_it_once(
    lake: Any, settings: Any, receiver: Receiver, mailbox: Mailbox
) -> None:
    from dataclasses import replace

    from expedition.delivery.notify import notify_decisions

    cfg = replace(settings, notify_channels=channels(receiver, mailbox), brief_base_url="https://qe.example.org/briefs",
                  notify_retry_base_s=0.01)
    receiver.fail_codes = [503]  # the first POST meets a busy receiver: retried
    first = notify_decisions(lake, cfg, DECISIONS)
    assert first.failed == [] and len(first.sent) == 7
    again = notify_decisions(lake, cfg, DECISIONS)  # a second respond run, or a retried task
    assert again.sent == [] and len(again.skipped) == 7
    by_path: dict[str, list[dict[str, Any]]] = {}
    for path, body, key in receiver.posts:
        by_path.setdefault(path, []).append(body)
        assert key  # the idempotency key travels with every request
    # webhook: NPL or ARG only (the flagged Chilean expedition also lists ARG); not the yellow IND upgrade
    assert sorted(b["expedition_id"] for b in by_path["/ops"]) == ["EXP-2024-CHL-001", "EXP-2024-NPL-001"]
    ops = {b["decision"]: b for b in by_path["/ops"]}
    assert ops["opened"]["reason"] == "reason 1: MMI VIII in NPL"
    assert ops["opened"]["brief_url"] == "https://qe.example.org/briefs/EXP-2024-NPL-001/"
    # chat: orange and above, a plain text message with the link
    assert sorted(b["text"].splitlines()[0] for b in by_path["/chat"]) == [
        "Expedition awaits review: EXP-2024-CHL-001", "Expedition opened: EXP-2024-NPL-001"]
    assert all(set(b) == {"text"} for b in by_path["/chat"])
    # e-mail: every acting decision, once
    subjects = sorted(m["Subject"] for m in mailbox.messages)
    assert subjects == ["[QE] Expedition awaits review: EXP-2024-CHL-001 (alert RED)",
                        "[QE] Expedition opened: EXP-2024-NPL-001 (alert ORANGE)",
                        "[QE] Expedition upgraded: EXP-2024-IND-001 (alert YELLOW)"]
    bodies = {m["Subject"]: m.get_payload() for m in mailbox.messages}
    assert "Brief: https://qe.example.org/briefs/EXP-2024-IND-001/" in bodies[subjects[2]]
    assert "Why: reason 2: MMI VIII in IND" in bodies[subjects[2]]
    rows = lake.read_table("notifications").to_pylist()
    assert len(rows) == 7 and {r["notification_status"] for r in rows} == {"sent"}
    assert sorted(r["attempts_count"] for r in rows) == [1, 1, 1, 1, 1, 1, 2]  # the 503 cost one retry


@pytest.mark.slow
def test_a_refused_notification_is_recorded_and_sent_by_the_next_dispatch(
    lake: Any, settings: Any, receiver: Receiver
) -> None:
    from dataclasses import replace

    from expedition.delivery.notify import notify_decisions

    cfg = replace(settings, notify_channels=(NotifyChannel("ops", "webhook", url=f"{receiver.url}/ops"),),
                  notify_retry_base_s=0.01, notify_attempts=3)
    receiver.fail_codes = [404]  # permanent: not retried within the dispatch
    first = notify_decisions(lake, cfg, DECISIONS[:1])
    assert first.sent == [] and [f[:2] for f in first.failed] == [("dec-0001", "ops")]
    assert "HTTP 404" in first.failed[0][2]
    assert receiver.posts == []
    (row,) = lake.read_table("notifications").to_pylist()
    assert row["notification_status"] == "failed"
    receiver.fail_codes = [503, 503, 503]  # transient, three times: the dispatch gives up after 3 attempts
    second = notify_decisions(lake, cfg, DECISIONS[:1])
    assert second.sent == [] and "HTTP 503" in second.failed[0][2]
    third = notify_decisions(lake, cfg, DECISIONS[:1])
    assert third.sent == [("dec-0001", "ops")]
    assert len(receiver.posts) == 1
    (row,) = lake.read_table("notifications").to_pylist()
    assert (row["notification_status"], row["attempts_count"]) == ("sent", 1 + 3 + 1)


def dispatch_main() -> None:
    """A dispatcher process (``python -c``): settings from the environment; says it is ready with a file
    in ``QE_TEST_SYNC_DIR`` and starts when the ``go`` file appears there."""
    import os
    import time

    from expedition.delivery.notify import notify_decisions
    from warehouse.lake import Lake

    cfg = load_settings()
    lake = Lake.from_settings(cfg)
    lake.warm()
    sync = Path(os.environ["QE_TEST_SYNC_DIR"])
    (sync / f"ready-{os.getpid()}").touch()
    while not (sync / "go").exists():
        time.sleep(0.01)
    report = notify_decisions(lake, cfg, DECISIONS)
    print(json.dumps({"sent": len(report.sent), "skipped": len(report.skipped)}), flush=True)


@pytest.mark.slow
def test_two_dispatchers_at_once_on_postgres_send_each_message_once(
    postgres_server: Any, tmp_path: Path, receiver: Receiver
) -> None:
    """Two respond runs on two machines notify at the same moment, no lock (PostgreSQL catalog): the
    claim in the lake is what keeps each message single."""
    import os
    import subprocess
    import sys
    import time

    from warehouse.lake import Lake

    sync = tmp_path / "sync"
    sync.mkdir()
    env = {**os.environ, "QE_HOME": str(tmp_path / "home"), "QE_TEST_SYNC_DIR": str(sync),
           "QE_LAKE_CATALOG": postgres_server.new_database(),
           "QE_WRITER_MAX_ATTEMPTS": "20", "QE_NOTIFY": json.dumps([
               {"name": "ops", "kind": "webhook", "url": f"{receiver.url}/ops"},
               {"name": "chat", "kind": "chat", "url": f"{receiver.url}/chat"}])}
    Lake(tmp_path / "home", env["QE_LAKE_CATALOG"], str(tmp_path / "home" / "lake" / "data")).init()
    root = Path(__file__).resolve().parents[1]
    procs = [subprocess.Popen([sys.executable, "-c", "import tests.test_notify as t; t.dispatch_main()"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env, cwd=root) for _ in range(2)]
    deadline = time.monotonic() + 300
    while len(list(sync.glob("ready-*"))) < 2 and all(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    (sync / "go").touch()  # both start dispatching at the same moment
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert sum(r["sent"] for r in reports) == 6  # 3 acting decisions x 2 channels
    keys = [(p, b.get("decision_id") or b["text"].splitlines()[0]) for p, b, _ in receiver.posts]
    assert len(keys) == 6 and len(set(keys)) == 6  # each once


def test_channels_from_qe_toml_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "qe.toml").write_text(
        'brief_base_url = "https://qe.example.org/briefs"\n\n'
        '[[notify]]\nname = "duty"\nkind = "email"\nto = ["a@example.org"]\nsmtp_host = "mail"\n'
        'countries = ["NPL"]\nmin_alert = "orange"\n', encoding="utf-8")
    monkeypatch.setenv("QE_NOTIFY_DUTY_PASSWORD", "pw-from-env")
    s = load_settings(home)
    (ch,) = s.notify_channels
    assert (ch.kind, ch.to, ch.countries, ch.min_alert, ch.smtp_password) == (
        "email", ("a@example.org",), ("NPL",), "orange", "pw-from-env")
    assert s.brief_base_url == "https://qe.example.org/briefs"
    monkeypatch.setenv("QE_NOTIFY", json.dumps([{"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/x"}]))
    assert [c.name for c in load_settings(home).notify_channels] == ["hook"]
    monkeypatch.setenv("QE_NOTIFY", json.dumps([{"name": "x", "kind": "pager"}]))
    with pytest.raises(SettingsError, match="kind must be webhook, chat or email"):
        load_settings(home)
