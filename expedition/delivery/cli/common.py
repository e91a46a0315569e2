"""Shared pieces of the command line: the ``--home`` option, settings, output, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from expedition.delivery.cli.output import FORMATS as FORMATS  # re-exported for the commands
from expedition.delivery.cli.output import format_error, write_result, write_table
from expedition.delivery.cli.output import table_to_records as table_to_records
from expedition.delivery.cli.output import write_atomic_bytes as write_atomic_bytes
from expedition.settings import Settings, load_settings

if TYPE_CHECKING:  # pyarrow is imported by the commands that make tables, not at start-up
    import pyarrow as pa

    from warehouse.query import QueryResult, QueryRows

HomeOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--home",
        help="Data root (default: $QE_HOME, else ~/.local/share/quake-expedition).",
        show_default=False,
    ),
]


#: Whether this command line owns its process: true when it runs as the ``expedition`` console
#: script, false when a program calls ``main(argv)`` in its own process (a notebook, the tests).
#: Process-wide limits (``expedition query``'s memory and CPU rlimits) are set only when true: they
#: would otherwise bound the caller's whole process, threads and all.
PROCESS: dict[str, bool] = {"owned": False}


def settings_for(home: Path | None) -> Settings:
    from expedition.process import configure_process

    settings = load_settings(home)
    configure_process(settings)
    return settings


def lake_for(home: Path | None) -> Any:
    from warehouse.lake import Lake

    return Lake.from_settings(settings_for(home))


def emit_table(table: pa.Table, fmt: str, out: Path | None = None, title: str | None = None) -> None:
    """Write ``table`` as a rich table, CSV, JSON or Parquet to ``out`` or stdout."""
    problem = format_error(fmt)
    if problem:
        raise typer.BadParameter(problem)
    write_table(table, fmt, out, title)


def emit_result(res: QueryResult | QueryRows, fmt: str, out: Path | None = None) -> None:
    """Write a query's answer (:func:`expedition.delivery.cli.output.write_result`) to ``out`` or stdout."""
    problem = format_error(fmt)
    if problem:
        raise typer.BadParameter(problem)
    write_result(res, fmt, out)


def progress() -> Any:
    """A rich progress bar for long work (writes to stderr)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )


def echo_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str, indent=2) + "\n")


def iter_lines(text: str) -> Iterator[str]:
    yield from text.splitlines()
