"""The ``generate_brief`` flow: render and store an expedition's brief, and show it as an artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from flows.respond import brief_artifact
from flows.retry import retry_options
from flows.runtime import rename_flow_run, settings_for
from flows.tasks import write_brief_task


@flow(name="generate_brief", log_prints=False)
def generate_brief(expedition_id: str, home: str | None = None) -> Any:
    """Write the brief of ``expedition_id`` under the data root's ``briefs/`` directory."""
    settings = settings_for(home)
    write = write_brief_task.with_options(**retry_options(settings))
    result = write(str(settings.home), expedition_id)
    path = Path(str(getattr(result, "path", result)))
    brief_artifact(expedition_id, path)
    rename_flow_run(f"brief {expedition_id}: {path.name}")
    return result
