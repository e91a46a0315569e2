"""SQL that lives in ``.sql`` files under ``warehouse/sql/``.

* ``views/NAME.sql``: one ``SELECT`` each, created as temporary view ``NAME`` on every connection.
* ``queries/NAME.sql``: named, parameterised queries (``$param`` placeholders, bound, never formatted).
  The first comment lines document the query; ``-- param: NAME TYPE description`` lines declare parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["NamedQuery", "views", "queries", "query", "read_sql", "sql_literal"]

_PARAM = re.compile(r"^--\s*param:\s*(\w+)\s+(\w+)(?:\s+(.*))?$")


def sql_literal(value: str) -> str:
    """A SQL string literal, for the few statements that cannot take (or must not pay for) a bound
    parameter: ATTACH, INSTALL, LOAD, SET lists, and text given to a parser function."""
    return "'" + value.replace("'", "''") + "'"


def read_sql(relpath: str) -> str:
    """Text of ``warehouse/sql/<relpath>``."""
    return (resources.files("warehouse") / "sql" / relpath).read_text(encoding="utf-8")


def _dir(sub: str) -> dict[str, str]:
    base = resources.files("warehouse") / "sql" / sub
    if not base.is_dir():
        return {}
    out = {}
    for entry in sorted(base.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            out[entry.name[:-4]] = entry.read_text(encoding="utf-8").strip().rstrip(";")
    return out


@cache
def views() -> dict[str, str]:
    """View name -> SELECT text, in name order."""
    return _dir("views")


@dataclass(frozen=True)
class NamedQuery:
    name: str
    sql: str
    description: str
    params: dict[str, tuple[str, str]]  # name -> (type, description)


@cache
def queries() -> dict[str, NamedQuery]:
    out = {}
    for name, sql in _dir("queries").items():
        desc, params = [], {}
        for line in sql.splitlines():
            if not line.startswith("--"):
                break
            m = _PARAM.match(line)
            if m:
                params[m.group(1)] = (m.group(2).lower(), m.group(3) or "")
            else:
                desc.append(line.lstrip("-").strip())
        out[name] = NamedQuery(name, sql, " ".join(d for d in desc if d), params)
    return out


def query(name: str) -> NamedQuery:
    try:
        return queries()[name]
    except KeyError:
        raise KeyError(f"no named query {name!r}; known: {sorted(queries())}") from None
