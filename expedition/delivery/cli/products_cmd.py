"""``expedition products pull EVENT`` and ``expedition assessments``: authoritative products, impact records."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from expedition.delivery.cli.common import HomeOpt, echo_json, lake_for, settings_for

_JSON_COLUMNS = ("population_by_mmi_json", "model_versions_json")


def register(app: typer.Typer) -> None:
    """Add ``products`` and ``assessments`` to ``app``."""
    sub = typer.Typer(
        name="products",
        help=(
            "Authoritative event products (USGS ComCat detail: PAGER alert, ShakeMap grid, finite fault, "
            "moment tensor).\n\nExample: expedition products pull us7000pn9s"
        ),
        no_args_is_help=True,
    )
    sub.command("pull")(pull)
    app.add_typer(sub, name="products")
    app.command("assessments")(assessments)


def pull(
    events: list[str] = typer.Argument(..., help="Event ids: ours or an agency's (e.g. us7000pn9s)."),
    provider: str = typer.Option("USGS", "--provider", "-p", help="Provider serving ComCat-style event details."),
    no_evaluate: bool = typer.Option(False, "--no-evaluate", help="Store the products without judging the events again."),
    as_json: bool = typer.Option(False, "--json", help="Print the reports and decisions as JSON."),
    home: HomeOpt = None,
) -> None:
    """Pull the products of events now; events with a new PAGER, ShakeMap, finite-fault or moment-tensor version are judged again.

    Every product version is kept (event_products); a ShakeMap grid that cannot be used is reported
    in one line and not stored, and the event keeps being judged by our own model.

    Example: expedition products pull us7000pn9s --json
    """
    from expedition.decisions.response.refresh import refresh_products

    settings = settings_for(home)
    done = refresh_products(lake_for(home), settings, events, provider=provider, evaluate=not no_evaluate)
    if as_json:
        echo_json({"reports": [r.__dict__ | {"changed": r.changed} for r in done.reports],
                   "decisions": [d.__dict__ for d in done.decisions]})
        return
    for line in done.lines():
        typer.echo(line)


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for col in _JSON_COLUMNS:
        if isinstance(out.get(col), str):
            out[col.removesuffix("_json")] = json.loads(out.pop(col))
    return out


def assessments(
    event: Optional[str] = typer.Option(None, "--event", "-e", help="Only this event (ours or an agency id)."),
    limit: int = typer.Option(200, "--limit", help="Most rows to list, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    home: HomeOpt = None,
) -> None:
    """The impact assessment of every judged event, opened or not: intensity source, exposure, both alerts.

    Example: expedition assessments --event us7000pn9s --json
    """
    from warehouse.sqlfiles import query

    if limit < 1:
        raise typer.BadParameter("--limit must be 1 or more")
    con = lake_for(home).connect(read_only=True)
    try:
        found = con.execute(query("assessments_list").sql, {"eventid": event, "max_rows": limit}).to_arrow_table().to_pylist()
    finally:
        con.close()
    items = [_decode(r) for r in found]
    if as_json:
        echo_json(items)
        return
    if not items:
        typer.echo("no assessment" + (f" of {event}" if event else "") + " (run `expedition evaluate`)")
        return
    for a in items:
        auth = a["alert_level_authoritative"] or "-"
        typer.echo(
            f"{a['event_id']} M{a['magnitude_value'] or 0:.1f} {a['origin_time_utc']:%Y-%m-%d %H:%M} "
            f"{a['decision']:<12} MMI {a['mmi_max_populated'] or 0:.1f} at {a['mmi_max_place'] or '-'}; "
            f"alert {a['alert_level_acted'] or '-'} ({a['alert_basis']}; ours {a['alert_level_ours'] or '-'}, USGS {auth}); "
            f"intensity: {a['intensity_source']}"
        )
