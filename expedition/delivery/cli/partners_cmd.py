"""Partner access commands: ``expedition partners add|list|revoke|rotate``, ``expedition publish``
and ``expedition api`` (the partner HTTP service)."""

from __future__ import annotations

from typing import Optional

import typer

from expedition.delivery.cli.common import HomeOpt, echo_json, lake_for, settings_for

partners_app = typer.Typer(
    name="partners",
    help="Alliance partners: scopes and API tokens.\n\nExample: expedition partners add ineter --countries NIC",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(partners_app, name="partners")
    app.command("publish")(publish)
    app.command("api")(api)


def _split(value: Optional[str]) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@partners_app.command("add")
def add(
    name: str = typer.Argument(..., help="Partner name: lower-case letters, digits, '.', '_' or '-'."),
    countries: Optional[str] = typer.Option(None, "--countries", help="Member countries it sees, ISO3, comma separated."),
    expeditions: Optional[str] = typer.Option(None, "--expeditions", help="Further expedition ids it sees, comma separated."),
    embargo_days: int = typer.Option(30, "--embargo-days", help="Days after ingest before it sees survey rows."),
    note: Optional[str] = typer.Option(None, "--note", help="Free text kept with the partner (contact, agreement)."),
    home: HomeOpt = None,
) -> None:
    """Register a partner and print its API token ONCE (only a hash is stored).

    Example: expedition partners add ineter --countries NIC,HND --embargo-days 30
    """
    from expedition.delivery.partners import add_partner

    issued = add_partner(lake_for(home), name, _split(countries), _split(expeditions), embargo_days, note)
    p = issued.partner
    typer.echo(f"partner {p.name} added: countries {','.join(p.countries) or '-'}; "
               f"expeditions {','.join(p.expedition_ids) or '-'}; embargo {p.embargo_days} days")
    typer.echo("token (shown once, store it now; only its SHA-256 is kept):")
    typer.echo(issued.token)


@partners_app.command("list")
def list_cmd(
    home: HomeOpt = None,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Every partner with its scope, state and number of active tokens.

    Example: expedition partners list --json
    """
    from expedition.delivery.partners import list_partners

    rows = list_partners(lake_for(home))
    if json_out:
        echo_json([
            {"partner_name": p.name, "countries": list(p.countries), "expeditions": list(p.expedition_ids),
             "embargo_days": p.embargo_days, "created_utc": p.created_utc, "revoked_utc": p.revoked_utc,
             "active_tokens": n, "note": p.note}
            for p, n in rows
        ])
        return
    if not rows:
        typer.echo("no partners yet (expedition partners add NAME --countries ISO3)")
        return
    typer.echo(f"{'partner':<20} {'state':<9} {'tokens':>6} {'embargo':>7}  countries / expeditions")
    for p, n in rows:
        state = "revoked" if p.revoked_utc else "active"
        scope = ",".join(p.countries) + (" + " + ",".join(p.expedition_ids) if p.expedition_ids else "")
        typer.echo(f"{p.name:<20} {state:<9} {n:>6} {p.embargo_days:>5} d  {scope or '(catalog only)'}")


@partners_app.command("revoke")
def revoke(
    name: str = typer.Argument(..., help="Partner name."),
    home: HomeOpt = None,
) -> None:
    """Revoke a partner and all its tokens (its requests get 401 within seconds).

    Example: expedition partners revoke ineter
    """
    from expedition.delivery.partners import revoke_partner

    p = revoke_partner(lake_for(home), name)
    typer.echo(f"partner {p.name} revoked at {p.revoked_utc:%Y-%m-%d %H:%M:%S} UTC; its tokens no longer work")


@partners_app.command("rotate")
def rotate(
    name: str = typer.Argument(..., help="Partner name."),
    home: HomeOpt = None,
) -> None:
    """Issue a new token for a partner and revoke its old ones; prints the new token ONCE.

    Example: expedition partners rotate ineter
    """
    from expedition.delivery.partners import rotate_token

    issued = rotate_token(lake_for(home), name)
    typer.echo(f"new token for {issued.partner.name} (shown once; the old ones are revoked):")
    typer.echo(issued.token)


def publish(
    expedition_id: str = typer.Argument(..., help="Expedition id, e.g. EXP-2024-CHN-001."),
    by: str = typer.Option(..., "--by", help="Who publishes (the expedition lead)."),
    note: Optional[str] = typer.Option(None, "--note", help="Why, or what is released."),
    home: HomeOpt = None,
) -> None:
    """Release an expedition's survey data to its partners before their embargo ends.

    Example: expedition publish EXP-2024-CHN-001 --by "Li Wei"
    """
    from expedition.delivery.partners import publish_surveys

    pub = publish_surveys(lake_for(home), expedition_id, by, note)
    if pub.newly_published:
        typer.echo(f"surveys of {pub.expedition_id} published by {pub.published_by}; partners that see the "
                   "expedition now see its survey data")
    else:
        typer.echo(f"surveys of {pub.expedition_id} were already published by {pub.published_by} "
                   f"on {pub.published_utc:%Y-%m-%d %H:%M} UTC (nothing changed)")


def api(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    access_log: bool = typer.Option(
        False, "--access-log", help="Print one line per request (every query is in the audit table anyway)."
    ),
    home: HomeOpt = None,
) -> None:
    """Run the partner HTTP service (SQL, named queries, expeditions, FDSN events) until Ctrl-C.

    Example: expedition api --host 127.0.0.1 --port 8000
    """
    from expedition.delivery.api.server import serve
    from warehouse.lake import Lake

    settings = settings_for(home)
    lake = Lake.from_settings(settings)
    if not lake.exists():
        from warehouse.errors import LakeNotInitialised

        raise LakeNotInitialised(f"no lake under {settings.home}: run `expedition init --home {settings.home}`")
    typer.echo(f"partner service on http://{host}:{port} (OpenAPI: /docs, FDSN: /fdsnws/event/1/)", err=True)
    serve(settings, host=host, port=port, access_log=access_log)
