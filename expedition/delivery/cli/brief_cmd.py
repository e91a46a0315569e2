"""Commands of briefs and reconstruction advice: ``expedition brief`` and ``expedition advice ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from expedition.delivery.cli.common import HomeOpt, echo_json, settings_for

advice_app = typer.Typer(help="Reconstruction advice from the field findings: generate, list, approve.\n\n"
                              "Example: expedition advice list --expedition EXP-2015-NPL-001", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("brief")(brief)
    app.add_typer(advice_app, name="advice")


def brief(
    expedition_id: str = typer.Argument(..., help="Expedition id, e.g. EXP-2015-NPL-001."),
    fmt: str = typer.Option("html", "--format", "-f", help="html (self-contained), md or pdf."),
    lang: str = typer.Option("en", "--lang", help="en or zh."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File to write (default: <home>/briefs/<id>/)."),
    snapshot: Optional[int] = typer.Option(None, "--snapshot", help="Build from this lake snapshot (default: current)."),
    home: HomeOpt = None,
) -> None:
    """Write the expedition brief (event, alert, map, exposure, forecast, findings, advice, provenance).

    The same lake snapshot gives the same brief; each new content gets the next version number.

    Example: expedition brief EXP-2015-NPL-001 --format pdf --lang zh --out gorkha_zh.pdf
    """
    from expedition.delivery.cli.common import progress
    from expedition.outputs.briefs.generate import generate_brief
    from warehouse.lake import Lake

    settings = settings_for(home)
    with progress() as bar:
        task = bar.add_task(f"brief {expedition_id}", total=1)
        result = generate_brief(Lake.from_settings(settings), settings, expedition_id, fmt=fmt, lang=lang,
                                out=out, snapshot=snapshot)
        bar.advance(task)
    typer.echo(f"brief v{result.version} of {result.expedition_id} ({result.fmt}, {result.lang}, "
               f"snapshot {result.snapshot_id}, advice {result.advice_status}): {result.path}")


@advice_app.command("generate")
def advice_generate(
    expedition: str = typer.Option(..., "--expedition", "-e", help="Expedition id."),
    rules: Optional[Path] = typer.Option(None, "--rules", help="Rule set TOML (default: the shipped v1 or [advice] rules_file)."),
    home: HomeOpt = None,
) -> None:
    """Evaluate the reconstruction rule set on the expedition's analytics and store the advice.

    Example: expedition advice generate --expedition EXP-2015-NPL-001
    """
    from expedition.outputs.advice.rules import load_rule_set
    from expedition.outputs.advice.store import generate_advice, rule_set_for
    from warehouse.lake import Lake

    settings = settings_for(home)
    rs = load_rule_set(rules) if rules else rule_set_for(settings)
    drafts = generate_advice(Lake.from_settings(settings), expedition, rs)
    typer.echo(f"{len(drafts)} advice items for {expedition} (rule set {rs.name} {rs.version})")
    for d in drafts:
        typer.echo(f"  {d.rule_id} v{d.rule_version}  {d.subject}")


@advice_app.command("list")
def advice_list(
    expedition: str = typer.Option(..., "--expedition", "-e", help="Expedition id."),
    lang: str = typer.Option("en", "--lang", help="en or zh."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
    home: HomeOpt = None,
) -> None:
    """List the advice of an expedition with its evidence and status (draft or approved).

    Example: expedition advice list --expedition EXP-2015-NPL-001 --lang zh
    """
    from expedition.outputs.advice.store import advice_of
    from warehouse.lake import Lake

    con = Lake.from_settings(settings_for(home)).connect(read_only=True)
    try:
        items = advice_of(con, expedition)
    finally:
        con.close()
    if as_json:
        echo_json([i.__dict__ for i in items])
        return
    if not items:
        typer.echo(f"no advice for {expedition} (run `expedition advice generate --expedition {expedition}`)")
    for i in items:
        by = f" by {', '.join(i.approved_by)}" if i.approved_by else ""
        typer.echo(f"{i.advice_id}  {i.status}{by}  {i.rule_id} v{i.rule_version}  [{i.subject}]\n    {i.text(lang)}\n"
                   f"    evidence ({i.source}): {i.evidence}")


@advice_app.command("approve")
def advice_approve(
    advice_id: str = typer.Argument(..., help="Advice id (or a unique prefix of at least 6 characters)."),
    by: str = typer.Option(..., "--by", help="Name of the reviewer who signs the advice off."),
    note: Optional[str] = typer.Option(None, "--note", help="Optional note."),
    home: HomeOpt = None,
) -> None:
    """Sign an advice item off (append-only; valid for the evidence it has now).

    Example: expedition advice approve 00d39cbe37 --by "Dr. A. Sharma"
    """
    from expedition.outputs.advice.store import approve_advice
    from warehouse.lake import Lake

    item = approve_advice(Lake.from_settings(settings_for(home)), advice_id, by, note)
    typer.echo(f"{item.advice_id} {item.status} by {', '.join(item.approved_by)}: {item.rule_id} [{item.subject}]")
