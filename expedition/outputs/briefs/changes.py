"""What changed between two brief versions.

Each brief's context carries an *inventory*: the ids of what the brief is built from (assessments,
agency solutions, authoritative product versions, survey observation counts per kind, advice items with their
evidence hash, sign-offs).
The previous version's inventory is read again at that version's lake snapshot (``briefs`` records it),
so nothing extra is stored: :func:`changes_between` compares the two and returns structured change items
(``{"kind": "new_assessment", "count": 1}``...) that the brief and the web page write in words from the
message catalogue.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import duckdb

from warehouse import sqlfiles

if TYPE_CHECKING:
    from warehouse.lake import Lake

__all__ = ["changes_between", "inventory", "previous_inventory", "version_history"]

log = logging.getLogger(__name__)
CHANGE_KINDS = ("new_assessment", "new_product", "new_survey_rows", "new_advice", "changed_advice", "new_signoff")


def _fetch(con: duckdb.DuckDBPyConnection, name: str, params: list[Any]) -> list[tuple[Any, ...]]:
    try:
        return con.execute(sqlfiles.read_sql(f"briefs/{name}.sql"), params).fetchall()
    except duckdb.CatalogException:
        return []  # a lake without these tables yet


def inventory(con: duckdb.DuckDBPyConnection, expedition_id: str, event_id: str) -> dict[str, Any]:
    """The ids and counts a brief of ``expedition_id`` is built from, at the connection's snapshot."""
    head = _fetch(con, "inventory", [expedition_id, event_id])
    assessments, solutions, products = (list(head[0][0] or []), list(head[0][1] or []), list(head[0][2] or [])) \
        if head else ([], [], [])
    surveys = {str(k): int(n) for k, n in _fetch(con, "survey_counts", [expedition_id])}
    advice = _fetch(con, "advice_inventory", [expedition_id])
    return {
        "assessments": sorted(assessments),
        "solutions": sorted(solutions),
        "products": sorted(products),
        "surveys": surveys,
        "advice": sorted(k for kind, k in advice if kind == "item"),
        "approvals": sorted(k for kind, k in advice if kind == "approval"),
    }


def changes_between(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """Structured changes from inventory ``old`` (None: the first version) to ``new``."""
    if old is None:
        return [{"kind": "first_version"}]
    out: list[dict[str, Any]] = []
    added = sorted(set(new["assessments"]) - set(old.get("assessments", [])))
    if added:
        out.append({"kind": "new_assessment", "count": len(added)})
    sol = sorted(set(new["solutions"]) - set(old.get("solutions", [])))
    sol += sorted(set(new.get("products", [])) - set(old.get("products", [])))  # "USGS PAGER:<product id>"
    if sol:
        out.append({"kind": "new_product", "count": len(sol), "providers": sorted({s.split(":")[0] for s in sol})})
    for kind, n in sorted(new["surveys"].items()):
        before = int((old.get("surveys") or {}).get(kind, 0))
        if n != before:
            out.append({"kind": "new_survey_rows", "survey": kind, "count": n - before, "total": n})
    old_ids = {a.split(":")[0]: a for a in old.get("advice", [])}
    fresh = [a for a in new["advice"] if a.split(":")[0] not in old_ids]
    changed = [a for a in new["advice"] if a.split(":")[0] in old_ids and old_ids[a.split(":")[0]] != a]
    if fresh:
        out.append({"kind": "new_advice", "count": len(fresh)})
    if changed:
        out.append({"kind": "changed_advice", "count": len(changed)})
    signed = sorted(set(new["approvals"]) - set(old.get("approvals", [])))
    if signed:
        out.append({"kind": "new_signoff", "count": len(signed)})
    if not out:
        out.append({"kind": "no_change"})
    return out


def version_history(con: duckdb.DuckDBPyConnection, expedition_id: str) -> list[dict[str, Any]]:
    """Brief versions recorded at the connection's snapshot: version, snapshot, generation time, files (lang:format)."""
    rows = _fetch(con, "brief_versions_of", [expedition_id])
    return [{"version": int(v), "snapshot_id": int(s), "generated_utc": g, "context_sha256": h, "files": list(f)}
            for v, s, g, h, f in rows]


def previous_inventory(lake: Lake, history: list[dict[str, Any]], expedition_id: str, event_id: str,
                       context_sha256: str) -> tuple[int | None, dict[str, Any] | None]:
    """The version before the brief with ``context_sha256`` (in ``history``) and its inventory, read at its
    own snapshot."""
    same = [h for h in history if h["context_sha256"] == context_sha256]
    before = [h for h in history if not same or h["version"] < same[0]["version"]]
    if not before:
        return None, None
    prev = before[-1]
    con = lake.connect(read_only=True, snapshot=prev["snapshot_id"])
    try:
        return prev["version"], inventory(con, expedition_id, event_id)
    finally:
        con.close()


def history_with_changes(lake: Lake, history: list[dict[str, Any]], expedition_id: str,
                         event_id: str) -> list[dict[str, Any]]:
    """Each recorded version with what changed since the one before it (inventories read at their snapshots)."""
    out, prev = [], None
    for h in history:
        con = lake.connect(read_only=True, snapshot=h["snapshot_id"])
        try:
            inv = inventory(con, expedition_id, event_id)
        finally:
            con.close()
        out.append({**h, "changes": changes_between(prev, inv)})
        prev = inv
    return out
