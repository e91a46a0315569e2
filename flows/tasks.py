"""Thin Prefect tasks: each one loads the settings of a data root and calls one library function.

Tasks take the data root (``home``) rather than a ``Settings`` or ``Lake`` object so that they can
run in another process (a Dask worker) and be listed as plain parameters in the Prefect UI. They hold
no logic: retries (transient errors only, see :mod:`flows.retry`) and fan-out are chosen by the flows.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.retry import retry_condition_fn
from flows.runtime import lake_for, logger, settings_for

#: Tag of every task that writes the lake: ``prefect concurrency-limit create qe-lake-writer 1`` makes a
#: Prefect server run one of them at a time (the lake already keeps writes exactly-once: the writer
#: lock on SQLite, conflict retries on PostgreSQL; the limit also serialises the fetches, so use it
#: only to spare a slow machine or a small database).
WRITER_TAG = "qe-lake-writer"


@task(name="pull-provider", cache_policy=NO_CACHE, retry_condition_fn=retry_condition_fn, tags=[WRITER_TAG])
def pull_provider_task(
    home: str, provider: str, starttime: datetime | None = None, endtime: datetime | None = None,
    minmagnitude: float | None = None,
) -> Any:
    """Pull one provider (incremental from its watermark when ``starttime`` is None) into the lake."""
    from catalogs.pull import pull_provider

    settings = settings_for(home)
    report = pull_provider(lake_for(settings), settings, provider, starttime, endtime, minmagnitude=minmagnitude)
    logger().info("%s", report.summary())
    return report


@task(name="evaluate-events", cache_policy=NO_CACHE, retry_condition_fn=retry_condition_fn, tags=[WRITER_TAG])
def evaluate_events_task(home: str, event_ids: list[str] | None = None) -> list[Any]:
    """Apply the trigger policy to events: open, join or update expeditions (one transaction each)."""
    from expedition.decisions.response.evaluate import evaluate_events

    settings = settings_for(home)
    return list(evaluate_events(lake_for(settings), settings, event_ids=event_ids))


@task(name="ingest-survey", cache_policy=NO_CACHE, retry_condition_fn=retry_condition_fn, tags=[WRITER_TAG])
def ingest_survey_task(home: str, expedition_id: str, path: str, mapping: str | None = None) -> Any:
    """Ingest a field-survey file into the lake for an expedition (bad rows quarantined, not dropped)."""
    from expedition.surveys.ingest import ingest_survey_file

    settings = settings_for(home)
    return ingest_survey_file(lake_for(settings), settings, expedition_id, Path(path), mapping=mapping)


@task(name="write-brief", cache_policy=NO_CACHE, retry_condition_fn=retry_condition_fn, tags=[WRITER_TAG])
def write_brief_task(home: str, expedition_id: str, formats: tuple[str, ...] = ("html", "md")) -> list[Any]:
    """Render and store the brief of an expedition in each format (under ``settings.briefs_dir``)."""
    from expedition.outputs.briefs.generate import generate_briefs

    settings = settings_for(home)
    return generate_briefs(lake_for(settings), settings, expedition_id, formats)


@task(name="notify-decisions", cache_policy=NO_CACHE, retry_condition_fn=retry_condition_fn, tags=[WRITER_TAG])
def notify_decisions_task(home: str, decisions: list[Any]) -> Any:
    """Tell the configured channels (webhook, e-mail, chat) about decisions that open, upgrade or flag an
    expedition; each (decision, channel) once, however often this runs."""
    from expedition.delivery.notify import notify_decisions

    settings = settings_for(home)
    report = notify_decisions(lake_for(settings), settings, decisions)
    logger().info("notifications: %s", report.summary())
    return report
