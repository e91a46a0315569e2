"""Tables written by the command line as a rich table, CSV, JSON or Parquet.

No command-line framework here: ``expedition query``'s quick start (:mod:`expedition.delivery.cli.entry`)
prints through this module without importing Typer; :func:`expedition.delivery.cli.common.emit_table`
checks the format for the Typer commands and calls :func:`write_table`."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pyarrow is imported by the commands that make tables, not at start-up
    import pyarrow as pa

    from warehouse.query import QueryResult, QueryRows

#: The formats printed from Python values, for which a query may answer without Arrow (:class:`QueryRows`).
RECORD_FORMATS = ("table", "json")

FORMATS = ("table", "csv", "json", "parquet")


def format_error(fmt: str) -> str | None:
    """Why ``fmt`` is not an output format (case-insensitive), or ``None`` when it is one."""
    return None if fmt.lower() in FORMATS else f"format must be one of {', '.join(FORMATS)}"


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


def write_table(table: pa.Table, fmt: str, out: Path | None = None, title: str | None = None) -> None:
    """Write ``table`` as a rich table, CSV, JSON or Parquet (``fmt``, see :func:`format_error`) to
    ``out`` or stdout."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(format_error(fmt))
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
    else:
        write_records(table.column_names, table_to_records(table), fmt, out, title)
        return
    _write_text(text, out)


def write_result(res: QueryResult | QueryRows, fmt: str, out: Path | None = None) -> None:
    """Write a query's answer as :func:`write_table` does; :class:`QueryRows` (asked for with the
    :data:`RECORD_FORMATS` only) print the same text from DuckDB's Python values."""
    from warehouse.query import QueryRows

    if isinstance(res, QueryRows):
        if fmt.lower() not in RECORD_FORMATS:
            raise ValueError(f"rows without Arrow print as {' or '.join(RECORD_FORMATS)}, not {fmt}")
        records = [{k: _jsonable(v) for k, v in zip(res.columns, row, strict=True)} for row in res.rows]
        write_records(list(res.columns), records, fmt.lower(), out)
    else:
        write_table(res.table, fmt, out)


def write_records(columns: list[str], records: list[dict[str, Any]], fmt: str, out: Path | None = None,
                  title: str | None = None) -> None:
    """Rows as JSON-ready dicts (``fmt`` "json") or a rich table ("table"), to ``out`` or stdout."""
    if fmt == "json":
        text = json.dumps(records, ensure_ascii=False, default=str) + "\n"
    else:
        from rich.console import Console
        from rich.table import Table

        rt = Table(title=title, show_lines=False)
        for name in columns:
            rt.add_column(name)
        for row in records:
            rt.add_row(*["" if v is None else str(v) for v in row.values()])
        if out is None:
            Console().print(rt)
            return
        console = Console(file=io.StringIO(), width=200)
        console.print(rt)
        text = console.file.getvalue()  # type: ignore[attr-defined]
    _write_text(text, out)


def _write_text(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic_bytes(out, text.encode("utf-8"))


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same directory, then rename over ``path``."""
    from warehouse.atomic import write_bytes_atomic

    write_bytes_atomic(path, data)
