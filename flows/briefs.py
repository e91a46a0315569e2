"""The ``generate_brief`` flow: render and store an expedition's brief, and show it as an artifact."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.respond import brief_artifact, formats_arg
from flows.retry import retry_options
from flows.runtime import rename_flow_run, settings_for
from flows.tasks import write_brief_task


@flow(name="generate_brief", log_prints=False)
def generate_brief(expedition_id: str, home: str | None = None, formats: list[str] | None = None) -> Path:
    """Write the brief of ``expedition_id`` under ``briefs/`` in ``formats`` (default HTML and Markdown;
    also ``pdf``); return the path of the first."""
    settings = settings_for(home)
    write = write_brief_task.with_options(**retry_options(settings))
    results = write(str(settings.home), expedition_id, *formats_arg(formats))
    path = brief_artifact(expedition_id, results)
    rename_flow_run(f"brief {expedition_id}: {path.name}")
    return path
