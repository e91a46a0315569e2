"""``expedition catalog ...``: pull from FDSN services and feeds, import files, show events, serve."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Optional

import typer

from expedition.delivery.cli.common import HomeOpt, echo_json, progress, settings_for, table_to_records


def register(app: typer.Typer) -> None:
    """Add the ``catalog`` sub-commands to ``app``."""
    sub = typer.Typer(
        name="catalog",
        help=(
            "Seismic event catalogs: pull from FDSN services, import files, show events, serve.\n\n"
            "Example: expedition catalog pull --provider USGS --starttime 2023-01-01 --minmagnitude 5"
        ),
        no_args_is_help=True,
    )
    sub.command("pull")(pull)
    sub.command("import")(import_cmd)
    sub.command("feed")(feed)
    sub.command("show")(show)
    sub.command("serve")(serve)
    app.add_typer(sub, name="catalog")


def _lake(settings: Any) -> Any:
    from warehouse.lake import Lake

    return Lake.from_settings(settings)


def _day(value: Optional[str], name: str) -> Optional[dt.datetime]:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{name} must be an ISO date or date-time, got {value!r}") from None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def pull(  # noqa: PLR0913
    provider: str = typer.Option("USGS", "--provider", "-p", help="Provider name from qe.toml, or an ObsPy short name."),
    starttime: Optional[str] = typer.Option(None, "--starttime", help="UTC start (default: watermark minus overlap)."),
    endtime: Optional[str] = typer.Option(None, "--endtime", help="UTC end, exclusive (default: now)."),
    minmagnitude: Optional[float] = typer.Option(None, "--minmagnitude", help="Smallest magnitude to pull."),
    url: Optional[str] = typer.Option(None, "--url", help="Base URL of any FDSN event service."),
    fmt: str = typer.Option("xml", "--format", help="Ask for QuakeML (xml) or FDSN text (text)."),
    window_days: float = typer.Option(30.0, "--window-days", help="First window length; adapts to the cap."),
    no_products: bool = typer.Option(False, "--no-products", help="Do not pull authoritative products (PAGER, ShakeMap)."),
    home: HomeOpt = None,
) -> None:
    """Pull events from an FDSN event service into the lake, window by window (incremental).

    Each window is archived, parsed, associated and committed on its own, with the provider's
    watermark, so an interrupted pull resumes where it stopped. When the provider serves ComCat
    event details (qe.toml [products] providers, default USGS), the products of the events pulled at
    or above [products] min_magnitude (5.5) follow (`expedition products pull` for one event).

    Example: expedition catalog pull --provider USGS --starttime 2023-01-01 --endtime 2023-02-01 --minmagnitude 5
    """
    from catalogs.fdsn import resolve_base_url
    from catalogs.pull import find_provider, pull_provider

    if fmt not in ("xml", "text"):
        raise typer.BadParameter("--format must be xml or text")
    settings = settings_for(home)
    lake = _lake(settings)
    resolve_base_url(find_provider(settings, provider, url))  # a clear error before the progress bar
    started = dt.datetime.now(dt.UTC)
    with progress() as bar:
        task = bar.add_task(provider, total=1)

        def on_window(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=max(total, 1), description=f"{provider} {label}")

        report = pull_provider(
            lake, settings, provider, _day(starttime, "--starttime"), _day(endtime, "--endtime"), minmagnitude,
            on_window, url=url, fmt="text" if fmt == "text" else "xml",
            initial_window=dt.timedelta(days=window_days),
        )
    typer.echo(report.summary())  # each incident was logged once (stderr) as it happened
    from catalogs.products_pull import products_settings, pull_products_since

    prov = find_provider(settings, provider, url)
    if not no_products and prov.name.upper() in {p.upper() for p in products_settings(settings).providers}:
        for rep in pull_products_since(lake, settings, started, provider=prov):
            typer.echo(f"products: {rep.summary()}")


def import_cmd(
    files: list[Path] = typer.Argument(..., help="QuakeML, FDSN text, ComCat CSV or GeoJSON feed files."),
    provider: Optional[str] = typer.Option(None, "--provider", help="Who reported the events (default: detected)."),
    home: HomeOpt = None,
) -> None:
    """Import catalog files (format detected): archive, parse, associate, record revisions.

    Importing the same file again changes nothing. Each file is imported whole or not at all; a file
    that cannot be read is reported in one line and the next files are still imported (exit status 2).

    Example: expedition catalog import comcat_export.csv --provider USGS
    """
    from catalogs.errors import CatalogError
    from catalogs.ingest import import_file

    settings = settings_for(home)
    lake = _lake(settings)
    failed: list[str] = []
    for path in files:
        try:
            rep = import_file(lake, settings, path, provider=provider)
        except CatalogError as exc:
            if len(files) == 1:
                raise
            typer.echo(f"error: {exc}", err=True)
            failed.append(path.name)
            continue
        if rep.already_ingested:
            typer.echo(f"{path.name}: already imported (batch {rep.batch_id}): nothing changed")
            continue
        typer.echo(
            f"{path.name}: {rep.rows_read} rows -> {rep.new_events} new, {rep.revised_events} revised, "
            f"{rep.unchanged} unchanged events ({rep.aliases_added} aliases, {rep.solutions_added} solutions added)"
        )
    if failed:
        typer.echo(f"error: {len(failed)} of {len(files)} files not imported: {', '.join(failed)}", err=True)
        raise typer.Exit(2)


def feed(
    level: str = typer.Option("4.5", "--level", help="significant, 4.5, 2.5, 1.0 or all."),
    period: str = typer.Option("day", "--period", help="hour, day, week or month."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Feed server (default: USGS or [feeds] base_url)."),
    home: HomeOpt = None,
) -> None:
    """Ingest one USGS real-time GeoJSON summary feed.

    Example: expedition catalog feed --level 4.5 --period day
    """
    from catalogs.feeds import pull_feed

    settings = settings_for(home)
    rep = pull_feed(_lake(settings), settings, level, period, base_url)
    typer.echo(f"feed {level}_{period}: {rep.summary()}")


def show(
    event_id: str = typer.Argument(..., help="Project event id (qeYYYYMMDDTHHMMSS-xxxxxx) or a provider id."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    home: HomeOpt = None,
) -> None:
    """Show one event: preferred solution, aliases, revision history and every solution.

    Example: expedition catalog show qe20230206T011734-5b1c6e --json
    """
    from catalogs.ingest import event_detail
    from expedition.errors import NotFound

    detail = event_detail(_lake(settings_for(home)), event_id)
    if detail is None:
        raise NotFound(f"no event {event_id!r} (neither a project event id nor a known provider id)")
    record = {k: table_to_records(v) for k, v in detail.items()}
    if json_out:
        echo_json({"event": record["event"][0], **{k: record[k] for k in ("aliases", "revisions", "solutions")}})
        return
    ev = record["event"][0]
    typer.echo(f"{ev['event_id']}  M{ev['magnitude_value']} {ev['magnitude_type'] or ''}  {ev['origin_time_utc']}")
    typer.echo(f"  {ev['region_name'] or ''}  lat {ev['origin_latitude_deg']} lon {ev['origin_longitude_deg']} "
               f"depth {ev['origin_depth_km']} km")
    typer.echo(f"  preferred: {ev['preferred_provider']} {ev['preferred_provider_event_id']} "
               f"({ev['review_status'] or 'status unknown'}), revision {ev['event_revision']}")
    typer.echo("aliases: " + ", ".join(f"{a['provider']}:{a['provider_event_id']}" for a in record["aliases"]))
    typer.echo("revisions:")
    for r in record["revisions"]:
        typer.echo(f"  {r['event_revision']:>3} {r['revision_time_utc']} {r['revision_reason']:<16} "
                   f"{r['source_provider']}:{r['source_provider_event_id']} M{r['magnitude_value']}")
    typer.echo(f"solutions: {len(record['solutions'])}")
    for s in record["solutions"]:
        typer.echo(f"  {s['provider']}:{s['provider_event_id']} M{s['magnitude_value']} {s['magnitude_type'] or ''} "
                   f"{s['origin_time_utc']} ({s['review_status'] or '-'})")


def serve(
    files: list[Path] = typer.Argument(..., help="Catalog files to serve (any format `catalog import` reads)."),
    port: int = typer.Option(8080, "--port", help="TCP port (0: any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    cap: Optional[int] = typer.Option(None, "--cap", help="Most events per request (larger requests: 413)."),
    cap_mode: str = typer.Option("413", "--cap-mode", help="'413' refuses, 'truncate' cuts at the cap."),
    provider: Optional[str] = typer.Option(None, "--provider", help="Provider name of the rows (default: detected)."),
) -> None:
    """Serve catalog files as a local FDSN event web service (for ObsPy clients, demos and tests).

    Example: expedition catalog serve comcat_export.csv --port 8080
    """
    import pyarrow as pa

    from catalogs.detect import read_catalog_file
    from catalogs.fdsnws_server import serve_events

    if cap_mode not in ("413", "truncate"):
        raise typer.BadParameter("--cap-mode must be 413 or truncate")
    rows = pa.concat_tables([read_catalog_file(f, provider=provider) for f in files])
    server = serve_events(rows, host=host, port=port, cap=cap, cap_mode="truncate" if cap_mode == "truncate" else "413")
    typer.echo(f"FDSN event service at {server.url}/fdsnws/event/1/ ({rows.num_rows} events); Ctrl-C stops it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        server.close()
