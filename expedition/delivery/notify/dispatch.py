"""Notify every configured channel of the decisions that open, upgrade or flag an expedition, once.

Never a duplicate for the same decision: before sending, a dispatcher *claims* each (decision,
channel) pair by writing a ``claimed`` row to the lake's ``notifications`` table (keyed by decision
id and channel) in one transaction. Two dispatchers at once (two ``respond`` runs, two machines)
conflict on that table; the loser re-reads and finds the pairs claimed (:meth:`Lake.run_writer`).
After the send, the row becomes ``sent`` or ``failed``. A ``failed`` pair is claimed and tried
again by the next dispatch; a ``claimed`` one (a dispatcher killed between its claim and its
record) is left alone and reported, since the message may have gone out: no repeat, ever.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from expedition.delivery.notify.message import Message, brief_link, build_message, wants
from expedition.delivery.notify.transports import NotifyError, send_with_retries
from expedition.settings import NotifyChannel, Settings
from warehouse import sqlfiles
from warehouse.tables.notifications import NOTIFICATIONS

if TYPE_CHECKING:
    from warehouse.lake import Lake, LakeWriter

__all__ = ["NotifyReport", "notify_decisions", "notification_id"]

log = logging.getLogger(__name__)

Sender = Callable[[NotifyChannel, Message, str], int]


@dataclass
class NotifyReport:
    """What one dispatch did."""

    sent: list[tuple[str, str]] = field(default_factory=list)  # (decision id, channel)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (decision id, channel, error)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # sent or claimed before
    unconfirmed: list[tuple[str, str]] = field(default_factory=list)  # claimed by a dispatcher that died

    def summary(self) -> str:
        return (f"{len(self.sent)} sent, {len(self.failed)} failed, {len(self.skipped)} already done, "
                f"{len(self.unconfirmed)} unconfirmed")


def notification_id(decision_id: str, channel_name: str) -> str:
    """The stable id of one (decision, channel) notification: the receiver's idempotency key."""
    return hashlib.sha256(f"{decision_id}|{channel_name}".encode()).hexdigest()[:24]


def _row(d: Any, ch: NotifyChannel, status: str, attempts: int, error: str | None,
         claimed: dt.datetime, sent: dt.datetime | None) -> dict[str, Any]:
    return {
        "decision_id": d.decision_id, "channel_name": ch.name, "channel_kind": ch.kind,
        "notification_id": notification_id(d.decision_id, ch.name), "expedition_id": d.expedition_id,
        "decision": d.decision, "notification_status": status, "attempts_count": attempts,
        "last_error_text": error, "claimed_utc": claimed, "sent_utc": sent,
    }


def _claim(w: LakeWriter, wanted: list[tuple[Any, NotifyChannel]], now: dt.datetime,
           report: NotifyReport) -> list[tuple[Any, NotifyChannel, int]]:
    """Claim the pairs nobody has sent or claimed; (decision, channel, attempts so far) of each."""
    ids = sorted({d.decision_id for d, _ in wanted})
    have = {(r[0], r[1]): (r[3], int(r[4] or 0)) for r in w.con.execute(
        sqlfiles.query("notifications_existing").sql, {"decision_ids": ids}).fetchall()}
    report.skipped.clear()
    report.unconfirmed.clear()
    claimed, rows = [], []
    for d, ch in wanted:
        status, attempts = have.get((d.decision_id, ch.name), (None, 0))
        if status == "sent":
            report.skipped.append((d.decision_id, ch.name))
            continue
        if status == "claimed":
            report.unconfirmed.append((d.decision_id, ch.name))
            continue
        claimed.append((d, ch, attempts))
        rows.append(_row(d, ch, "claimed", attempts, None, now, None))
    if rows:
        w.write(NOTIFICATIONS.name, pa.Table.from_pylist(rows, schema=NOTIFICATIONS.schema), mode="upsert")
        w.set_commit_message("notify", f"claim {len(rows)} notification(s)")
    return claimed


def notify_decisions(lake: Lake, settings: Settings, decisions: Sequence[Any], *,
                     sender: Sender | None = None) -> NotifyReport:
    """Notify the channels of ``settings`` that want each decision (see :func:`wants`), each pair once.

    ``decisions`` are :class:`expedition.response.decisions.Decision` records (those an evaluation
    returned). ``sender`` replaces the real transports (defaults to :func:`send_with_retries`)."""
    report = NotifyReport()
    wanted = [(d, ch) for d in decisions for ch in settings.notify_channels if wants(ch, d)]
    if not wanted:
        return report
    now = dt.datetime.now(dt.UTC)
    claimed = lake.run_writer(lambda w: _claim(w, wanted, now, report), what="notify: claim")

    def real_send(ch: NotifyChannel, msg: Message, nid: str) -> int:
        return send_with_retries(ch, msg, nid, attempts=settings.notify_attempts,
                                 base_s=settings.notify_retry_base_s, timeout_s=settings.notify_timeout_s)

    send = sender or real_send
    outcome = []
    for d, ch, before in claimed:
        nid = notification_id(d.decision_id, ch.name)
        link = brief_link(str(d.expedition_id), settings.brief_base_url, str(settings.briefs_dir))
        try:
            used = send(ch, build_message(d, link, nid), nid)
        except NotifyError as exc:
            log.warning("notify %s of %s failed: %s", ch.name, d.decision_id, exc)
            report.failed.append((d.decision_id, ch.name, str(exc)))
            outcome.append(_row(d, ch, "failed", before + exc.attempts, str(exc)[:500], now, None))
            continue
        report.sent.append((d.decision_id, ch.name))
        outcome.append(_row(d, ch, "sent", before + used, None, now, dt.datetime.now(dt.UTC)))
    if outcome:
        table = pa.Table.from_pylist(outcome, schema=NOTIFICATIONS.schema)
        lake.run_writer(lambda w: w.write(NOTIFICATIONS.name, table, mode="upsert"), what="notify: record")
    log.info("notify: %s", report.summary())
    return report
