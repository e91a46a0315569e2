"""Tell people when an expedition opens, is upgraded, or awaits review: webhooks, e-mail, chat.

:func:`notify_decisions` is the entry point (the ``respond`` flow calls it after the briefs are
written). Channels and their filters come from the settings (``[[notify]]`` in ``qe.toml``).
"""

from expedition.delivery.notify.dispatch import NotifyReport, notify_decisions
from expedition.delivery.notify.message import Message, build_message, wants

__all__ = ["Message", "NotifyReport", "build_message", "notify_decisions", "wants"]
