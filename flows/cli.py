"""Flow commands: ``expedition serve``, ``expedition watch``, ``expedition backfill`` (and ``expedition demo``).

They join the one ``expedition`` command through the entry point ``quake_expedition.commands``
(``flows = "flows.cli:register"`` in pyproject.toml), so the library never imports ``flows``.

Prefect is imported only when one of these commands runs, after :func:`flows.env.prepare_prefect_env`
has set its environment (telemetry off; a private Prefect home under the data root unless the user
configured Prefect)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Optional

import typer

from expedition.delivery.cli.common import HomeOpt, settings_for


def register(app: typer.Typer) -> None:
    """Add the flow commands and the demo to ``app`` (imports neither Prefect nor the flows)."""
    from flows import demo_cmd

    demo_cmd.register(app)
    app.command("serve")(serve)
    app.command("watch")(watch)
    app.command("backfill")(backfill)


def parse_time(value: str, option: str) -> datetime:
    """An ISO 8601 date or date-time (``Z`` or an offset; naive values are UTC)."""
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date or time (e.g. 2023-02-06 or 2023-02-06T01:17:34Z)",
            param_hint=option,
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _prepare(home: Any) -> Any:
    from flows.env import prepare_prefect_env

    settings = settings_for(home)
    prepare_prefect_env(settings)
    return settings


def serve(
    home: HomeOpt = None,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="At most this many flow runs at once."),
) -> None:
    """Serve the deployments: `watch` on its schedule (watch_interval_s), the other flows on demand.

    Runs until Ctrl-C. Uses the Prefect server of PREFECT_API_URL (or the active Prefect profile);
    without one it starts a local Prefect server on 127.0.0.1 (UI included, state under
    <home>/prefect) and stops it on exit.

    Example: expedition serve --home ~/qe
    """
    settings = _prepare(home)
    with _server(settings):
        from flows.deploy import serve_all

        typer.echo(f"serving Quake Expedition deployments for {settings.home} "
                   f"(watch every {settings.watch_interval_s} s); Ctrl-C to stop", err=True)
        serve_all(settings, limit=limit)


@contextlib.contextmanager
def _server(settings: Any) -> Iterator[None]:
    """The user's Prefect server, else a local one on 127.0.0.1 for as long as serving lasts."""
    from flows.env import configured_api_url

    url = configured_api_url()
    if url:
        typer.echo(f"Prefect API: {url}", err=True)
        yield
        return
    from flows.server import local_server

    typer.echo("starting a local Prefect server on 127.0.0.1 (state under "
               f"{settings.home / 'prefect'}) ...", err=True)
    with local_server(settings) as api_url:
        typer.echo(f"Prefect UI: {api_url.removesuffix('/api')}", err=True)
        yield


def watch(
    home: HomeOpt = None,
    once: bool = typer.Option(False, "--once", help="Run one cycle (pull, then respond) and exit."),
    starttime: Optional[str] = typer.Option(
        None, "--starttime", help="First pull of a provider without a watermark starts here (ISO 8601)."
    ),
) -> None:
    """Pull every configured provider, then respond to new and revised events.

    With --once: one cycle now, then a summary. Without: serve the `watch` deployment every
    watch_interval_s seconds (300 by default) until Ctrl-C.

    Example: expedition watch --once --home ~/qe
    """
    settings = _prepare(home)
    start = parse_time(starttime, "--starttime") if starttime else None
    if not once:
        with _server(settings):  # Prefect is imported once the server's URL is in the environment
            from flows.watch import watch as watch_flow

            typer.echo(f"watching every {settings.watch_interval_s} s; Ctrl-C to stop", err=True)
            watch_flow.serve(
                name="watch", interval=max(1, int(settings.watch_interval_s)),
                parameters={"home": str(settings.home), "starttime": start},
            )
        return
    from flows.runtime import fast_local_runs
    from flows.watch import watch as watch_flow

    with fast_local_runs():
        result = watch_flow(home=str(settings.home), starttime=start)
    for line in result.lines():
        typer.echo(line)


def backfill(
    provider: str = typer.Option(..., "--provider", help="Provider name as configured (USGS, EMSC, ...)."),
    starttime: str = typer.Option(..., "--starttime", help="Start of the span (ISO 8601, UTC)."),
    endtime: str = typer.Option(..., "--endtime", help="End of the span (ISO 8601, UTC, exclusive)."),
    home: HomeOpt = None,
    window_days: float = typer.Option(30.0, "--window-days", min=0.01, help="Length of each parallel window."),
    minmagnitude: Optional[float] = typer.Option(None, "--minmagnitude", help="Smallest magnitude to pull."),
) -> None:
    """Pull a provider over a time span, in windows run in parallel on Dask.

    A local Dask cluster of dask_workers processes (QE_DASK_WORKERS, default 2), or the cluster at
    QE_DASK_ADDRESS. Idempotent: rerunning a span stores nothing twice.

    Example: expedition backfill --provider USGS --starttime 2023-01-01 --endtime 2024-01-01
    """
    t1, t2 = parse_time(starttime, "--starttime"), parse_time(endtime, "--endtime")
    if t2 <= t1:
        raise typer.BadParameter("must be after --starttime", param_hint="--endtime")
    settings = _prepare(home)
    from flows.pull import backfill_catalog

    summary = backfill_catalog(provider=provider, starttime=t1, endtime=t2, home=str(settings.home),
                               window_days=window_days, minmagnitude=minmagnitude)
    typer.echo(f"backfill {provider} {t1:%Y-%m-%d} .. {t2:%Y-%m-%d}: {len(summary.outcomes)} windows, "
               f"{summary.new_events} new, {summary.revised_events} revised events")
