"""The ``watch`` flow: pull every provider, then respond. Scheduled every ``watch_interval_s`` (300 s).

Between the two, the authoritative products (USGS ComCat detail: PAGER alert, ShakeMap grid,
finite fault) of the events recorded by this cycle at or above ``[products] min_magnitude`` are
pulled (``expedition.decisions.response.refresh``), so ``respond`` judges new events with them and judges
again the events that received a new product version. A products failure is logged and never
stops the cycle: the events are then judged by our own model.

Both steps run inside the watch's own flow run (``pull_catalogs.fn``, ``respond.fn``): their tasks
(``pull-USGS``, ``evaluate-events``, ``brief-EXP-...``, ``notify-decisions``) and artifacts appear under
the one watch run in the Prefect UI, named for what the cycle did. They were subflows, each a run of
its own, which cost about 0.3 s of round trips to the Prefect server per cycle each (measured in
docs/reliability.md); ``pull_catalogs`` and ``respond`` remain flows of their own when run or
deployed alone. ``respond`` runs even when some providers failed: it judges what did arrive, and
events pulled later are judged by the next cycle (``respond`` evaluates every event revision not
judged yet, not only this cycle's). The watch run fails when the pull failed for every provider or
when respond failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from prefect import flow

from expedition.decisions.response.refresh import ProductsRefresh, refresh_products
from flows.errors import FlowFailed
from flows.pull import PullSummary, pull_catalogs
from flows.respond import RespondSummary, respond
from flows.runtime import lake_for, logger, rename_flow_run, settings_for


@dataclass
class WatchSummary:
    """One watch cycle: the pull (or why it failed) and the response."""

    pull: PullSummary | None
    pull_error: str
    response: RespondSummary | None
    products: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"pull:     {self.pull.describe() if self.pull else 'failed: ' + self.pull_error}"]
        out += [f"products: {line}" for line in self.products]
        if self.response is not None:
            out.append(f"{self.response.describe()}")
            out += [f"opened:   {e}" for e in self.response.opened]
            out += [f"brief:    {p}" for p in self.response.briefs.values()]
            out += [f"brief of {e} failed: {err}" for e, err in self.response.brief_errors.items()]
        return out


@flow(name="watch", log_prints=False)
def watch(home: str | None = None, starttime: datetime | None = None) -> WatchSummary:
    """One cycle: ``pull_catalogs`` (``starttime`` for providers without a watermark), then ``respond``,
    both in this flow run (see the module docstring)."""
    started = datetime.now(UTC)
    summary: PullSummary | None
    try:
        summary, error = pull_catalogs.fn(home=home, first_starttime=starttime), ""
    except Exception as exc:  # every provider failed (or the settings): respond judges what is stored
        summary, error = None, f"{type(exc).__name__}: {exc}"
        logger().error("pull failed: %s", error)
    products = _pull_products(home, started)
    response = respond.fn(home=home)
    news = [r.summary() for r in products.reports if r.changed or r.problems]  # quiet when nothing arrived
    out = WatchSummary(summary, error, response, news)
    opened = f", {len(response.opened)} expeditions opened" if response.opened else ""
    rename_flow_run(f"{summary.describe() if summary else 'pull failed'}{opened}")
    if summary is None:
        raise FlowFailed(f"watch: the pull failed ({error}); respond ran on the events already stored")
    return out


def _pull_products(home: str | None, since: datetime) -> ProductsRefresh:
    """Products of the events recorded since ``since`` (not judged here: ``respond`` does it)."""
    settings = settings_for(home)
    try:
        return refresh_products(lake_for(settings), settings, since=since, evaluate=False)
    except Exception as exc:  # a products failure never stops the watch: our own model judges
        logger().warning("products pull failed: %s: %s", type(exc).__name__, exc)
        return ProductsRefresh()

