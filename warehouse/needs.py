"""What a read-only statement needs from the lake connection, decided by DuckDB's own parser.

Opening everything for every query (the spatial extension, two dozen views) cost about a second
per ``expedition query``; most queries need none of it. :func:`statement_needs` parses the
statement with DuckDB (``json_serialize_sql``: the parse tree, nothing is bound or run) and
returns:

* the views of ``warehouse/sql/views`` it reads, with the views those read (:func:`view_closure`);
* whether it needs the spatial extension: decided by DuckDB's binder, not here. The statement is
  first bound on a connection without it (DuckDB 1.5 has the GEOMETRY type and its WKB
  conversions built in, and geometry columns read back the same either way); a function or type
  only the spatial extension has makes the binder raise a catalog or binder error, and the
  caller then opens the full connection (:func:`warehouse.query.open_query_connection` without a
  statement) and runs the statement again.

When the parse tree cannot be had (``json_serialize_sql`` serialises SELECT statements only: an
``EXPLAIN``, say) the answer is "everything", as before.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

from warehouse import sqlfiles
from warehouse.sqlfiles import sql_literal

__all__ = ["Needs", "parse_tree", "statement_needs", "tree_nodes", "view_closure"]


@dataclass(frozen=True)
class Needs:
    """``views``: view names to define (``None``: all of them); ``spatial``: load the spatial extension."""

    views: frozenset[str] | None
    spatial: bool

    @property
    def everything(self) -> bool:
        return self.views is None and self.spatial


EVERYTHING = Needs(None, True)


def parse_tree(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """DuckDB's parse tree of ``sql`` (``json_serialize_sql``: parsed only, nothing bound or run).

    Raises :class:`ValueError` (with DuckDB's reason) when the tree cannot be had: a statement that
    does not parse, or one ``json_serialize_sql`` does not serialise (anything but SELECT)."""
    try:
        # a quoted literal, not a bound parameter: binding any parameter makes DuckDB 1.5's Python
        # client import pandas (0.4-0.6 s); json_serialize_sql only parses its argument
        row = con.execute(f"SELECT json_serialize_sql({sql_literal(sql)})").fetchall()
        tree = json.loads(row[0][0])
    except (duckdb.Error, ValueError, IndexError, TypeError) as exc:
        raise ValueError(str(exc)) from exc
    if not isinstance(tree, dict):
        raise ValueError(f"unexpected parse tree: {type(tree).__name__}")
    if tree.get("error"):
        raise ValueError(str(tree.get("error_message")))
    return tree


def tree_nodes(tree: Any) -> Iterator[dict[str, Any]]:
    """Every node (JSON object) of a parse tree from :func:`parse_tree`, in no particular order."""
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _relations(con: duckdb.DuckDBPyConnection, sql: str) -> frozenset[str] | None:
    """The relation names (lower case) in the parse tree of ``sql``, or ``None`` when it cannot be had.
    CTE names come along too: defining a view nobody reads costs a little, nothing more."""
    try:
        tree = parse_tree(con, sql)
    except ValueError:
        return None
    return frozenset(
        node["table_name"].lower() for node in tree_nodes(tree.get("statements", []))
        if node.get("type") == "BASE_TABLE" and isinstance(node.get("table_name"), str)
    )


#: view name -> the other views its text reads (each view is parsed once per process, when first needed)
_READS: dict[str, frozenset[str]] = {}


def _reads(con: duckdb.DuckDBPyConnection, name: str) -> frozenset[str]:
    hit = _READS.get(name)
    if hit is None:
        views = sqlfiles.views()
        refs = _relations(con, views[name])
        # a view whose text cannot be parsed: assume it reads every other view
        hit = _READS[name] = frozenset(views) - {name} if refs is None else refs & views.keys()
    return hit


def view_closure(con: duckdb.DuckDBPyConnection, names: Collection[str]) -> set[str]:
    """The views among ``names``, with every view they read, directly or not (parsed on ``con``)."""
    views = sqlfiles.views()
    todo = [n.lower() for n in names if n.lower() in views]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_reads(con, name) - seen)
    return seen


def statement_needs(con: duckdb.DuckDBPyConnection, sql: str) -> Needs:
    """What ``sql`` needs (see the module docstring): the views it reads, and no spatial extension
    (DuckDB's binder says otherwise with a catalog error, and the caller then opens everything)."""
    refs = _relations(con, sql)
    if refs is None:
        return EVERYTHING
    views = frozenset(view_closure(con, refs))
    return Needs(views, spatial=False)
