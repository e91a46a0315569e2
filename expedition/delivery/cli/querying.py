"""The work of ``expedition query``, shared by the Typer command (:func:`expedition.delivery.cli.core.query`)
and the console script's quick start (:mod:`expedition.delivery.cli.entry`).

No command-line framework is imported here: what is wrong with the options is returned as text
(:func:`usage_problem`) for the caller to report its own way."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expedition.settings import Settings
    from warehouse.query import QueryResult, QueryRows

EXPLAIN_MODES = ("plan", "analyze")


def usage_problem(settings: Settings, explain: str | None) -> str | None:
    """What is wrong with ``--explain`` or the ``query_memory_limit`` setting (``None``: nothing)."""
    from warehouse.limits import parse_bytes

    if explain is not None and explain not in EXPLAIN_MODES:
        return "--explain must be 'plan' or 'analyze'"
    try:
        parse_bytes(settings.query_memory_limit)
    except ValueError as exc:
        return f"query_memory_limit: {exc}"
    return None


def answer(
    settings: Settings, sql: str, snapshot: int | None, explain: str | None, *, owned: bool, fmt: str,
) -> QueryResult | QueryRows:
    """Run ``sql`` read-only on the lake of ``settings`` (as of ``snapshot``; its plan with ``explain``).

    ``owned``: this process is the console script's own, so it bounds itself first (memory and CPU
    rlimits, :mod:`warehouse.limits`); in a caller's process the limits would bind it all.
    ``fmt``: the output format; for a table or JSON, an answer of numbers and text comes as
    :class:`~warehouse.query.QueryRows` (no Arrow: :func:`expedition.delivery.cli.output.write_result`).
    Call :func:`usage_problem` first: the options are taken as valid here."""
    from expedition.delivery.cli.output import RECORD_FORMATS
    from warehouse.lake import Lake
    from warehouse.limits import limit_cpu_from_now, limit_memory, parse_bytes
    from warehouse.query import query_lake

    cpu_s = settings.query_timeout_s * 4  # DuckDB uses every core; the wall-clock limit is the real bound
    if owned:
        limit_memory(parse_bytes(settings.query_memory_limit))
        limit_cpu_from_now(cpu_s + 10)  # the kernel's backstop (SIGXCPU) behind the watchdog
    return query_lake(Lake.from_settings(settings), sql, snapshot=snapshot, row_limit=settings.query_row_limit,
                      timeout_s=settings.query_timeout_s, explain=explain, cpu_s=cpu_s,  # type: ignore[arg-type]
                      plain_rows=fmt.lower() in RECORD_FORMATS)


def truncation_note(res: QueryResult | QueryRows) -> str | None:
    """The line for stderr when ``res`` stopped at the row limit."""
    return f"(truncated at {res.row_limit} rows)" if res.truncated else None
