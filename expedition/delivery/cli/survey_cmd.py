"""Field survey commands: ``expedition survey ingest | template | errors | export``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from expedition.delivery.cli.common import HomeOpt, emit_table, lake_for, progress, settings_for
from warehouse.tables.surveys import SURVEY_KINDS

_KINDS_HELP = ", ".join(SURVEY_KINDS[:-1]) + " or " + SURVEY_KINDS[-1]

survey_app = typer.Typer(
    name="survey",
    help=(
        "Field surveys: XLSForm templates, ingestion with validation and quarantine, exports.\n\n"
        "Example: expedition survey ingest buildings.csv --expedition EXP-2015-NPL-001"
    ),
    no_args_is_help=True,
)

_STEPS = ("archiving", "reading", "validating", "writing")


def register(app: typer.Typer) -> None:
    """Add the ``survey`` sub-commands to ``app``."""
    app.add_typer(survey_app, name="survey")


@survey_app.command("ingest")
def ingest(
    file: Path = typer.Argument(..., help="CSV, XLSX, GeoJSON, or an ODK Central / KoboToolbox export."),
    expedition: str = typer.Option(..., "--expedition", "-x", help="Expedition id (EXP-YYYY-ISO-NNN)."),
    kind: Optional[str] = typer.Option(
        None, "--kind", "-k", help=f"{_KINDS_HELP} (default: from the columns)."
    ),
    mapping: Optional[str] = typer.Option(
        None, "--mapping", "-m", help="Mapping file (TOML/YAML) or a shipped mapping name, e.g. nepal_2015_richter."
    ),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Second file joined by the mapping's [join] (labels)."),
    strict: bool = typer.Option(False, "--strict", help="Reject the whole file if any row has an error."),
    show: int = typer.Option(10, "--show", help="Print up to this many problems."),
    home: HomeOpt = None,
) -> None:
    """Archive, validate and load one survey file into an expedition (one lake transaction).

    Valid rows land; rows with errors go to quarantine with their reasons (see `expedition survey
    errors`); warnings (e.g. a site outside the affected area) do not stop a row. Ingesting the same
    file again changes nothing; a corrected file supersedes the errors it fixes.

    Example: expedition survey ingest buildings.csv --expedition EXP-2015-NPL-001
    """
    from expedition.surveys.ingest import ingest_survey_file

    settings = settings_for(home)
    lake = lake_for(home)
    with progress() as bar:
        task = bar.add_task(f"ingesting {file.name}", total=len(_STEPS))

        def step(name: str) -> None:
            bar.update(task, completed=_STEPS.index(name) if name in _STEPS else 0, description=f"{name} {file.name}")

        report = ingest_survey_file(lake, settings, expedition, file, kind=kind, mapping=mapping, labels=labels,
                                    strict=strict, progress=step)
        bar.update(task, completed=len(_STEPS), description=f"done {file.name}")
    typer.echo(report.summary())
    if report.column_sources and not report.already_ingested:
        used = ", ".join(f"{src} -> {field}" for field, src in report.column_sources.items())
        typer.echo(f"columns: {used}")
    if report.ignored_columns and not report.already_ingested:
        typer.echo(f"ignored columns: {', '.join(report.ignored_columns)}")
    for line in report.problem_lines(show):
        typer.echo(f"  {line}")
    if report.errors:
        typer.echo(f"see every quarantined row: expedition survey errors --expedition {expedition}")


@survey_app.command("template")
def template(
    kind: str = typer.Option(..., "--kind", "-k", help=f"{_KINDS_HELP}."),
    out: Path = typer.Option(..., "--out", "-o", help="XLSForm file to write (.xlsx)."),
    home: HomeOpt = None,
) -> None:
    """Write the XLSForm of one observation kind (for ODK Central, KoboToolbox, Enketo...).

    Exports of submissions made with it ingest with no mapping file.

    Example: expedition survey template --kind buildings --out buildings.xlsx
    """
    from expedition.surveys.kinds import kind_spec
    from expedition.surveys.templates import write_template

    spec = kind_spec(kind)
    path = write_template(spec.name, out)
    typer.echo(f"wrote {path} (XLSForm '{spec.title}', form id qe_{spec.name})")


@survey_app.command("errors")
def errors(
    expedition: str = typer.Option(..., "--expedition", "-x", help="Expedition id."),
    kind: Optional[str] = typer.Option(None, "--kind", "-k", help="Only this observation kind."),
    warnings: bool = typer.Option(False, "--warnings", help="Also list warnings (rows that landed)."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv, json or parquet."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
    home: HomeOpt = None,
) -> None:
    """List the open survey errors (quarantined rows) of an expedition: file, row, column, value, expected.

    Example: expedition survey errors --expedition EXP-2015-NPL-001 --format csv
    """
    from expedition.surveys.kinds import kind_spec
    from warehouse import sqlfiles

    lake = lake_for(home)
    con = lake.connect(read_only=True)
    try:
        table = con.execute(
            sqlfiles.query("survey_problems").sql,
            {"expedition_id": expedition, "kind": kind_spec(kind).name if kind else None, "with_warnings": warnings},
        ).to_arrow_table()
    finally:
        con.close()
    emit_table(table, fmt, out, title=f"survey problems of {expedition}")
    if fmt == "table" and table.num_rows == 0:
        typer.echo("no open survey errors", err=True)


@survey_app.command("export")
def export(
    expedition: str = typer.Option(..., "--expedition", "-x", help="Expedition id."),
    kind: str = typer.Option(..., "--kind", "-k", help=f"{_KINDS_HELP}."),
    fmt: str = typer.Option("parquet", "--format", "-f", help="parquet (GeoParquet 1.1), geojson or csv."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default <expedition>_<kind>.<ext>)."),
    home: HomeOpt = None,
) -> None:
    """Export the landed observations of one kind: GeoParquet (GeoPandas/QGIS), GeoJSON or CSV.

    Example: expedition survey export --expedition EXP-2015-NPL-001 --kind buildings --format geojson --out b.geojson
    """
    from expedition.surveys.export import export_survey

    fmt = fmt.lower()
    if fmt not in ("parquet", "geojson", "csv"):
        raise typer.BadParameter("--format must be parquet, geojson or csv")
    res = export_survey(lake_for(home), expedition, kind, fmt, out)  # type: ignore[arg-type]
    typer.echo(f"wrote {res.rows} {kind} observations of {expedition} to {res.path} ({res.format})")
