"""Pull authoritative products and judge again the events they changed.

:func:`refresh_products` is what ``expedition products pull EVENT``, ``catalog pull`` and ``watch``
run: pull each event's ComCat detail (and ShakeMap grid) with :mod:`catalogs.products_pull`, then
re-evaluate the events that got a new PAGER, ShakeMap, finite-fault or moment-tensor version
(:func:`~expedition.decisions.response.evaluate.evaluate_events`; the new versions give new decisions, a
rerun writes nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from catalogs.products_pull import ProductsReport, pull_events_products, pull_products_since

if TYPE_CHECKING:
    from expedition.decisions.response.decisions import Decision
    from expedition.settings import Settings
    from warehouse.lake import Lake

__all__ = ["ProductsRefresh", "refresh_products"]


@dataclass
class ProductsRefresh:
    """The pulls and the decisions they caused."""

    reports: list[ProductsReport] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [r.summary() for r in self.reports]
        out += [f"{d.decision:>18} {d.event_id} {d.expedition_id or '':<17} {d.reason}" for d in self.decisions]
        return out


def refresh_products(
    lake: Lake,
    settings: Settings,
    event_ids: Sequence[str] | None = None,
    *,
    since: dt.datetime | None = None,
    provider: str = "USGS",
    evaluate: bool = True,
) -> ProductsRefresh:
    """Products of ``event_ids`` (on demand, any magnitude) or of the events recorded ``since``
    (at or above the ``[products]`` magnitude floor); then judge the changed events again."""
    from expedition.decisions.response.evaluate import evaluate_events

    out = ProductsRefresh()
    if event_ids is not None:
        out.reports = pull_events_products(lake, settings, event_ids, provider) if event_ids else []
    elif since is not None:
        out.reports = pull_products_since(lake, settings, since)
    changed = list(dict.fromkeys(r.event_id for r in out.reports if r.changed))
    if evaluate and changed:
        out.decisions = evaluate_events(lake, settings, event_ids=changed)
    return out
