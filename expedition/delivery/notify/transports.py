"""Sending one message on one channel: JSON webhook, chat webhook, or e-mail over SMTP.

Each send raises :class:`TransientSendError` for what may pass (connection refused or reset, time-out,
HTTP 429 and 5xx, SMTP 4xx replies) and :class:`PermanentSendError` for what will not (HTTP 4xx,
SMTP 5xx, a channel without an address). :func:`send_with_retries` retries only the transient ones,
with jittered exponential backoff. Every request carries the notification id (``Idempotency-Key``
header, ``Message-ID`` of the e-mail) so a receiver can drop a repeat of a send whose reply was lost.
"""

from __future__ import annotations

import logging
import random
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid

import httpx

from expedition.delivery.notify.message import Message
from expedition.errors import ExpeditionError
from expedition.settings import NotifyChannel

__all__ = ["NotifyError", "PermanentSendError", "TransientSendError", "send", "send_with_retries"]

log = logging.getLogger(__name__)


class NotifyError(ExpeditionError):
    """A notification could not be sent (``attempts``: how many sends were tried)."""

    attempts: int = 1


class TransientSendError(NotifyError):
    """A failure that may pass: retried."""


class PermanentSendError(NotifyError):
    """A failure that will not pass by itself (bad address, refused request): not retried."""


def _post(url: str, body: dict[str, object], notification_id: str, timeout_s: float) -> None:
    try:
        resp = httpx.post(url, json=body, timeout=timeout_s,
                          headers={"Idempotency-Key": notification_id, "User-Agent": "QuakeExpedition-notify/1"})
    except httpx.TransportError as exc:
        raise TransientSendError(f"{url}: {type(exc).__name__}: {exc}") from exc
    if resp.status_code == 429 or resp.status_code >= 500:
        raise TransientSendError(f"{url}: HTTP {resp.status_code}")
    if resp.status_code >= 400:
        raise PermanentSendError(f"{url}: HTTP {resp.status_code}: {resp.text[:200]}")


def _email(channel: NotifyChannel, message: Message, notification_id: str, timeout_s: float) -> None:
    if not channel.smtp_host or not channel.to:
        raise PermanentSendError(f"channel {channel.name}: an e-mail channel needs smtp_host and to")
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = channel.from_addr
    mail["To"] = ", ".join(channel.to)
    mail["Message-ID"] = make_msgid(idstring=notification_id, domain="quake-expedition")
    mail["X-QE-Notification-Id"] = notification_id
    mail.set_content(message.text)
    try:
        with smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=timeout_s) as smtp:
            if channel.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if channel.smtp_user:
                smtp.login(channel.smtp_user, channel.smtp_password or "")
            smtp.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        cls = TransientSendError if 400 <= exc.smtp_code < 500 else PermanentSendError
        raise cls(f"{channel.smtp_host}: SMTP {exc.smtp_code} {exc.smtp_error!r}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentSendError(f"{channel.smtp_host}: recipients refused: {exc.recipients}") from exc
    except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, time-out
        raise TransientSendError(f"{channel.smtp_host}: {type(exc).__name__}: {exc}") from exc


def send(channel: NotifyChannel, message: Message, notification_id: str, timeout_s: float = 10.0) -> None:
    """Send ``message`` on ``channel`` once."""
    if channel.kind == "email":
        _email(channel, message, notification_id, timeout_s)
        return
    if not channel.url:
        raise PermanentSendError(f"channel {channel.name}: a {channel.kind} channel needs a url")
    body: dict[str, object] = dict(message.payload) if channel.kind == "webhook" else {"text": message.text}
    _post(channel.url, body, notification_id, timeout_s)


def send_with_retries(channel: NotifyChannel, message: Message, notification_id: str, *, attempts: int = 4,
                      base_s: float = 0.5, timeout_s: float = 10.0,
                      sleep: Callable[[float], None] = time.sleep) -> int:
    """:func:`send`, retrying transient failures up to ``attempts`` times in all; returns the attempts used."""
    for k in range(1, attempts + 1):
        try:
            send(channel, message, notification_id, timeout_s)
            return k
        except PermanentSendError as exc:
            exc.attempts = k
            raise
        except TransientSendError as exc:
            if k >= attempts:
                exc.attempts = k
                raise
            wait = random.uniform(0.0, base_s * 2 ** (k - 1))
            log.info("notify %s: %s; attempt %d of %d, retrying in %.2f s", channel.name, exc, k, attempts, wait)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
