"""Shared pieces of the command line: the ``--home`` option, settings, output, progress."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from expedition.settings import Settings, load_settings

if TYPE_CHECKING:  # pyarrow is imported by the commands that make tables, not at start-up
    import pyarrow as pa

HomeOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--home",
        help="Data root (default: $QE_HOME, else ~/.local/share/quake-expedition).",
        show_default=False,
    ),
]

FORMATS = ("table", "csv", "json", "parquet")

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


def _jsonable(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.hex()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def table_to_records(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts; values Python cannot hold (infinite or BC times, intervals, BIGNUM)
    take the partner service's JSON form (:func:`expedition.delivery.api.formats.records`)."""
    try:
        return [{k: _jsonable(v) for k, v in row.items()} for row in table.to_pylist()]
    except (OverflowError, ValueError):
        from expedition.delivery.api.formats import records

        return records(table)


def emit_table(table: pa.Table, fmt: str, out: Path | None = None, title: str | None = None) -> None:
    """Write ``table`` as a rich table, CSV, JSON or Parquet to ``out`` or stdout."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise typer.BadParameter(f"format must be one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        from expedition.delivery.api.formats import encode  # intervals, unions, BIGNUM as JSON text

        data = encode(table, "parquet")
        if out is None:
            sys.stdout.buffer.write(data)
        else:
            write_atomic_bytes(out, data)
        return
    if fmt == "csv":
        import pyarrow.csv as pacsv

        from expedition.delivery.api.formats import csv_ready  # nested columns as JSON text, binary as hex

        buf = io.BytesIO()
        pacsv.write_csv(csv_ready(table), buf)
        text = buf.getvalue().decode("utf-8")
    elif fmt == "json":
        text = json.dumps(table_to_records(table), ensure_ascii=False, default=str)
        text += "\n"
    else:
        from rich.console import Console
        from rich.table import Table

        rt = Table(title=title, show_lines=False)
        for name in table.column_names:
            rt.add_column(name)
        for row in table_to_records(table):
            rt.add_row(*["" if v is None else str(v) for v in row.values()])
        if out is None:
            Console().print(rt)
            return
        console = Console(file=io.StringIO(), width=200)
        console.print(rt)
        text = console.file.getvalue()  # type: ignore[attr-defined]
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic_bytes(out, text.encode("utf-8"))


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same directory, then rename over ``path``."""
    from warehouse.atomic import write_bytes_atomic

    write_bytes_atomic(path, data)


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
