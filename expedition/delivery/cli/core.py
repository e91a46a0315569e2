"""Core commands: init, status, query, maintain."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from expedition.delivery.cli.common import FORMATS, HomeOpt, emit_result, lake_for, settings_for


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("status")(status)
    app.command("query")(query)
    app.command("maintain")(maintain_cmd)


def init(home: HomeOpt = None) -> None:
    """Create the data root and the lake (idempotent; also migrates table schemas).

    Example: expedition init --home ~/qe
    """
    from warehouse.lake import Lake

    settings = settings_for(home)
    lake = Lake.from_settings(settings)
    changed = lake.init()
    for sub in (settings.raw_dir, settings.briefs_dir):
        sub.mkdir(parents=True, exist_ok=True)
    typer.echo(f"lake ready at {settings.home} ({len(changed)} tables created or migrated)")
    typer.echo(f"backend:   {lake.backend.describe()}")


def status(
    home: HomeOpt = None,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Tables, row counts, last update and lake size.

    Example: expedition status --json
    """
    from warehouse.status import lake_status

    st = lake_status(lake_for(home))
    if json_out:
        from expedition.delivery.cli.common import echo_json

        echo_json(st)
        return
    typer.echo(f"home:      {st['home']}")
    typer.echo(f"catalog:   {st['catalog']}")
    typer.echo(f"backend:   {st['backend']}")
    typer.echo(f"snapshot:  {st['snapshot_id']} at {st['last_update_utc']}")
    typer.echo(f"data size: {st['data_bytes'] / 1e6:.2f} MB in {st['data_files']} files")
    for t in st["tables"]:
        typer.echo(f"  {t['table']:<28} {t['rows']:>10,} rows")


def query(
    sql: str = typer.Argument(..., help="One SELECT statement."),
    home: HomeOpt = None,
    fmt: str = typer.Option("table", "--format", "-f", help=f"One of {', '.join(FORMATS)}."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
    snapshot: Optional[int] = typer.Option(None, "--snapshot", help="Query the lake as of this snapshot id."),
    explain: Optional[str] = typer.Option(
        None, "--explain", help="Show the plan of the SELECT instead of its rows: 'plan', or 'analyze' (runs it)."
    ),
) -> None:
    """Run read-only SQL on the lake (tables and views; no file access, no writes).

    Only a SELECT runs (DuckDB's parser decides); for its plan use --explain plan. The `expedition`
    process bounds itself: memory (query_memory_limit), time (query_timeout_s: interrupted, then ended).

    Example: expedition query "SELECT 42 AS answer" --format json
    """
    from expedition.delivery.cli.common import PROCESS
    from expedition.delivery.cli.querying import answer, truncation_note, usage_problem

    settings = settings_for(home)
    problem = usage_problem(settings, explain)
    if problem:
        raise typer.BadParameter(problem)
    res = answer(settings, sql, snapshot, explain, owned=PROCESS["owned"], fmt=fmt)
    emit_result(res, fmt, out)
    note = truncation_note(res)
    if note:
        typer.echo(note, err=True)


def maintain_cmd(
    home: HomeOpt = None,
    expire_days: Optional[float] = typer.Option(
        None, "--expire-days", help="Also expire snapshots older than N days (history before then is dropped)."
    ),
    orphan_minutes: float = typer.Option(
        60.0, "--orphans-older-than", min=0.0,
        help="Delete unreferenced files only when older than this many minutes (an ingest running now may "
             "be about to register a fresh one).",
    ),
) -> None:
    """Compact small files and delete files left by killed writers.

    Example: expedition maintain
    """
    from warehouse.maintain import maintain

    rep = maintain(lake_for(home), expire_older_than_days=expire_days, orphan_grace_minutes=orphan_minutes)
    typer.echo(
        f"merged {rep.merged} file groups, deleted {rep.orphans_deleted} orphaned and "
        f"{rep.old_files_deleted} expired files"
    )
