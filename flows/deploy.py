"""Deployments of the flows, served locally by ``expedition serve``.

``serve`` (Prefect's runner) registers the deployments with the Prefect API and then runs their
scheduled and on-demand runs in this process, until interrupted (Ctrl-C pauses the schedules):

* ``watch/watch``: every ``settings.watch_interval_s`` seconds (300 by default): pull then respond;
* ``pull_catalogs/pull-catalogs``, ``respond/respond``, ``backfill_catalog/backfill``,
  ``ingest_survey/ingest-survey``, ``generate_brief/generate-brief``: on demand
  (``prefect deployment run 'backfill_catalog/backfill' -p provider=USGS -p starttime=... -p endtime=...``).

Every deployment carries ``home`` (the data root) as a default parameter. Teams with a Prefect server
and work pools use ``prefect.yaml`` at the repository root instead (``prefect deploy --all``).
"""

from __future__ import annotations

from typing import Any

from expedition.settings import Settings


def deployments(settings: Settings) -> list[Any]:
    """The runner deployments of every flow, bound to the data root of ``settings``."""
    from flows.briefs import generate_brief
    from flows.pull import backfill_catalog, pull_catalogs
    from flows.respond import respond
    from flows.surveys import ingest_survey
    from flows.watch import watch

    home = {"home": str(settings.home)}
    tags = ["quake-expedition"]
    return [
        watch.to_deployment(
            name="watch", interval=max(1, int(settings.watch_interval_s)), parameters=home, tags=tags,
            description=f"Pull every provider, then respond; every {settings.watch_interval_s} s.",
        ),
        pull_catalogs.to_deployment(name="pull-catalogs", parameters=home, tags=tags),
        respond.to_deployment(name="respond", parameters=home, tags=tags),
        backfill_catalog.to_deployment(name="backfill", parameters=home, tags=tags),
        ingest_survey.to_deployment(name="ingest-survey", parameters=home, tags=tags),
        generate_brief.to_deployment(name="generate-brief", parameters=home, tags=tags),
    ]


def serve_all(settings: Settings, limit: int | None = None) -> None:
    """Serve every deployment until interrupted (``limit``: at most that many runs at once)."""
    from prefect import serve

    serve(*deployments(settings), limit=limit)
