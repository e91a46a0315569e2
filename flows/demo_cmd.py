"""``expedition demo``: the offline end-to-end demo (see ``flows/demo.py``).

The command line owns the Prefect side: it prepares Prefect's environment for an offline run
(telemetry off, Prefect's home under the demo's data root, a temporary local server on 127.0.0.1)
and gives the demo a runner that runs the real flows of ``flows/``."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Optional

import typer

from expedition.settings import Settings


def register(app: typer.Typer) -> None:
    """Add ``expedition demo`` to ``app``."""
    app.command("demo")(demo)


class FlowRunner:
    """Runs the demo's pipeline steps as Prefect flows (imported on first use)."""

    def start_orchestrator(self) -> Callable[[], float]:
        from flows.runtime import start_temporary_server

        wait = start_temporary_server()

        def ready() -> float:
            import flows.watch  # noqa: F401 - the flows' own imports, while the server starts

            return wait()

        return ready

    def watch(self, settings: Settings, starttime: datetime) -> list[str]:
        from flows.runtime import fast_local_runs
        from flows.watch import watch

        with fast_local_runs():
            return watch(home=str(settings.home), starttime=starttime).lines()

    def ingest_survey(self, settings: Settings, expedition_id: str, path: Path) -> list[str]:
        from flows.runtime import fast_local_runs
        from flows.surveys import ingest_survey, report_lines

        with fast_local_runs():
            return report_lines(ingest_survey(expedition_id=expedition_id, path=str(path), home=str(settings.home)))

    def generate_brief(self, settings: Settings, expedition_id: str) -> Path:
        from flows.briefs import generate_brief
        from flows.runtime import fast_local_runs

        with fast_local_runs():
            result: Any = generate_brief(expedition_id=expedition_id, home=str(settings.home))
        return Path(str(getattr(result, "path", result)))


def demo(
    home: Optional[Path] = typer.Option(None, "--home", help="Data root for the demo (default: a new temp dir)."),
    verbose_flows: bool = typer.Option(False, "--flow-logs", help="Show Prefect's own log lines too."),
) -> None:
    """Run the whole pipeline offline: local FDSN service, watch, expeditions, survey, brief.

    Needs no network: the events (40 real USGS ComCat events of 2023-2024) are served from
    127.0.0.1, Prefect runs a temporary local server with telemetry off, and its state stays under
    the demo's data root. Takes about a minute on a 2-core machine.

    Example: expedition demo --home /tmp/qe-demo
    """
    from expedition.settings import load_settings
    from flows.demo import run_demo
    from flows.env import prepare_prefect_env

    root = (home or Path(tempfile.mkdtemp(prefix="qe-demo-"))).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    prepare_prefect_env(load_settings(root), force_local=True)
    if not verbose_flows:
        os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    t0 = time.perf_counter()

    def say(line: str) -> None:
        typer.echo(line)
        sys.stdout.flush()

    result = run_demo(root, FlowRunner(), say=say)
    for line in result.lines:
        say(line)
    say(f"\ndemo {'complete' if result.complete else 'ran the parts available'} "
        f"in {time.perf_counter() - t0:.0f} s; Prefect state in {root / 'prefect'}")
