"""What a notification says, and which channel wants which decision (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from expedition.settings import NotifyChannel

__all__ = ["ALERT_ORDER", "Message", "brief_link", "build_message", "wants"]

#: PAGER alert levels, lowest first.
ALERT_ORDER = ("green", "yellow", "orange", "red")

_HEADLINE = {
    "opened": "Expedition opened",
    "manual_open": "Expedition opened by hand",
    "updated": "Expedition upgraded",
    "flagged_for_review": "Expedition awaits review",
}


@dataclass(frozen=True)
class Message:
    """One notification: a subject line, a plain text body, and the JSON payload of webhooks."""

    subject: str
    text: str
    payload: dict[str, Any]


def wants(channel: NotifyChannel, decision: Any) -> bool:
    """True when ``channel`` is to be told about ``decision`` (kind, countries and alert filters)."""
    if not channel.enabled or decision.decision not in channel.decisions or not decision.expedition_id:
        return False
    if channel.countries and not set(channel.countries) & set(decision.countries or ()):
        return False
    if channel.min_alert:
        level = (decision.alert_level or "").lower()
        if level not in ALERT_ORDER or ALERT_ORDER.index(level) < ALERT_ORDER.index(channel.min_alert):
            return False
    return True


def brief_link(expedition_id: str, brief_base_url: str | None, briefs_dir: str) -> str:
    """Where the expedition's brief is: ``<brief_base_url>/<expedition>/`` when the briefs are published,
    else the local briefs folder."""
    if brief_base_url:
        return f"{brief_base_url.rstrip('/')}/{expedition_id}/"
    return f"{briefs_dir.rstrip('/')}/{expedition_id}/"


def build_message(decision: Any, link: str, notification_id: str) -> Message:
    """The message about ``decision`` (a :class:`expedition.response.decisions.Decision`)."""
    headline = _HEADLINE.get(decision.decision, decision.decision.replace("_", " "))
    alert = (decision.alert_level or "no alert estimate").upper() if decision.alert_level else "no alert estimate"
    countries = ", ".join(decision.countries or ()) or "none"
    subject = f"[QE] {headline}: {decision.expedition_id} (alert {alert})"
    text = (
        f"{headline}: {decision.expedition_id}\n"
        f"Event {decision.event_id} (revision {decision.event_revision}), alert {alert}, countries {countries}.\n"
        f"Why: {decision.reason}\n"
        f"Brief: {link}\n"
    )
    payload = {
        "notification_id": notification_id,
        "decision_id": decision.decision_id,
        "decision": decision.decision,
        "expedition_id": decision.expedition_id,
        "event_id": decision.event_id,
        "event_revision": decision.event_revision,
        "alert_level": decision.alert_level,
        "tier": decision.tier,
        "countries": list(decision.countries or ()),
        "reason": decision.reason,
        "brief_url": link,
        "text": text,
    }
    return Message(subject, text, payload)
