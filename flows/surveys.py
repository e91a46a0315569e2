"""The ``ingest_survey`` flow: one field-survey file into the lake for an expedition.

The library (expedition.surveys) archives the raw file by content hash, maps and checks every row
(bad rows are quarantined with the reason, never silently dropped) and writes the observations in
one lake transaction; re-ingesting the same file changes nothing. The flow adds retries on
transient errors (the writer lock held too long) and a Markdown artifact of the outcome.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from flows.retry import retry_options
from flows.runtime import logger, markdown_artifact, rename_flow_run, settings_for
from flows.tasks import ingest_survey_task


def report_lines(report: Any) -> list[str]:
    """Human lines of a survey ingest report (its ``lines()`` or ``summary()`` when it has one)."""
    for name in ("lines", "summary_lines"):
        fn = getattr(report, name, None)
        if callable(fn):
            return [str(x) for x in fn()]
    return [str(report)]


@flow(name="ingest_survey", log_prints=False)
def ingest_survey(expedition_id: str, path: str, home: str | None = None, mapping: str | None = None) -> Any:
    """Ingest the survey file ``path`` for ``expedition_id`` (``mapping``: a column-mapping TOML file)."""
    settings = settings_for(home)
    file = Path(path).expanduser().resolve()
    ingest = ingest_survey_task.with_options(**retry_options(settings))
    report = ingest(str(settings.home), expedition_id, str(file), mapping)
    lines = report_lines(report)
    for line in lines:
        logger().info(line)
    markdown_artifact(f"survey-{expedition_id}", "\n".join([f"# Survey {file.name} for {expedition_id}", "", *lines]),
                      f"Survey ingest of {file.name}")
    rename_flow_run(f"{expedition_id}: {file.name}: {lines[0] if lines else 'ingested'}")
    return report
