"""Advice items and their sign-off, in the lake.

* :func:`generate_advice` evaluates the rule set on the expedition's analytics views and writes the
  advice items in one transaction. Ids derive from (expedition, rule id, rule version, subject), so a
  rerun never duplicates; changed evidence replaces the row; advice whose rule no longer fires stays,
  marked inactive.
* :func:`approve_advice` appends a sign-off for the evidence the item has now.
* :func:`advice_of` lists the items with their status: ``approved`` when a sign-off covers the current
  evidence, else ``draft`` (also when the evidence changed after an approval).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from expedition.errors import ExpeditionError, NotFound
from expedition.outputs.advice.rules import AdviceDraft, RuleSet, evaluate, load_rule_set
from warehouse import sqlfiles
from warehouse.tables.briefs import ADVICE_APPROVALS, ADVICE_ITEMS

if TYPE_CHECKING:
    from expedition.settings import Settings
    from warehouse.lake import Lake, LakeWriter

__all__ = ["AdviceItem", "advice_of", "approve_advice", "generate_advice", "rule_set_for", "rows_for_rules"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdviceItem:
    advice_id: str
    expedition_id: str
    rule_id: str
    rule_version: int
    rule_set_version: str
    category: str
    subject: str
    text_en: str
    text_zh: str
    source: str
    evidence: dict[str, Any]
    evidence_sha256: str
    active: bool
    status: str  # draft | approved
    approved_by: list[str] = field(default_factory=list)

    def text(self, lang: str) -> str:
        return self.text_zh if lang == "zh" else self.text_en


def rule_set_for(settings: Settings | None) -> RuleSet:
    """The rule set named by ``[advice] rules_file`` in ``qe.toml``, else the shipped one."""
    section = settings.extra.get("advice") if settings is not None else None
    path = section.get("rules_file") if isinstance(section, dict) else None
    return load_rule_set(path)


def advice_id(expedition_id: str, rule_id: str, rule_version: int, subject: str) -> str:
    return hashlib.sha1(f"{expedition_id}\x1f{rule_id}\x1f{rule_version}\x1f{subject}".encode()).hexdigest()[:20]


def rows_for_rules(con: duckdb.DuckDBPyConnection, rule_set: RuleSet, expedition_id: str) -> dict[str, list[dict[str, Any]]]:
    """Rows of every view the rules read, for one expedition, in a stable order."""
    known = sqlfiles.views()
    out: dict[str, list[dict[str, Any]]] = {}
    for source in rule_set.sources:
        if source not in known:
            raise ExpeditionError(f"{rule_set.path}: source {source!r} is not an analytics view (warehouse/sql/views)")
        try:  # identifiers come from the checked list of views; the value is bound
            cur = con.execute(f'SELECT * FROM "{source}" WHERE expedition_id = ? ORDER BY ALL', [expedition_id])
        except duckdb.CatalogException:
            out[source] = []  # its tables are not in this lake yet
            continue
        cols = [d[0] for d in cur.description]
        out[source] = [dict(zip(cols, r)) for r in cur.fetchall()]
    return out


def generate_advice(lake: Lake, expedition_id: str, rule_set: RuleSet | None = None,
                    now: dt.datetime | None = None) -> list[AdviceDraft]:
    """Evaluate the rules on the expedition's analytics and store the advice (one transaction)."""
    from expedition.decisions.records import get_expedition

    get_expedition(lake, expedition_id)  # NotFound for an unknown id
    rs = rule_set or load_rule_set()
    now = now or dt.datetime.now(dt.UTC)

    def store(w: LakeWriter) -> tuple[list[AdviceDraft], int]:  # run again from the start after a write conflict
        snapshot = lake.current_snapshot(w.con)
        drafts = evaluate(rs, rows_for_rules(w.con, rs, expedition_id))
        fresh = {advice_id(expedition_id, d.rule_id, d.rule_version, d.subject): d for d in drafts}
        old = w.con.execute(
            "SELECT * FROM advice_items WHERE expedition_id = ? ORDER BY advice_id", [expedition_id]
        ).to_arrow_table().to_pylist()
        rows = []
        for aid, d in fresh.items():
            prev = next((o for o in old if o["advice_id"] == aid), None)
            if prev and prev["evidence_sha256"] == d.evidence_sha256 and prev["advice_active"]:
                continue  # unchanged: keep its generation time
            rows.append({
                "advice_id": aid, "expedition_id": expedition_id, "rule_id": d.rule_id, "rule_version": d.rule_version,
                "rule_set_version": d.rule_set_version, "rule_set_sha256": d.rule_set_sha256,
                "advice_category": d.category, "advice_subject": d.subject, "advice_text_en": d.text_en,
                "advice_text_zh": d.text_zh, "evidence_source": d.source, "evidence_json": d.evidence_json,
                "evidence_sha256": d.evidence_sha256, "generated_utc": now, "generated_snapshot_id": snapshot,
                "advice_active": True,
            })
        for o in old:
            if o["advice_id"] not in fresh and o["advice_active"]:
                rows.append({**o, "advice_active": False, "generated_utc": now, "generated_snapshot_id": snapshot})
        if rows:
            w.write(ADVICE_ITEMS.name, pa.Table.from_pylist(rows, schema=ADVICE_ITEMS.schema), mode="upsert")
            w.set_commit_message("advice", f"advice for {expedition_id}: rule set {rs.version}, {len(drafts)} items")
        return drafts, len(rows)

    drafts, written = lake.run_writer(store, what=f"advice for {expedition_id}")
    log.info("advice for %s: %d items (%d written)", expedition_id, len(drafts), written)
    return drafts


def advice_of(con: duckdb.DuckDBPyConnection, expedition_id: str, include_inactive: bool = False) -> list[AdviceItem]:
    """The advice items of an expedition with their status, in rule and subject order."""
    try:
        items = con.execute(
            "SELECT * FROM advice_items WHERE expedition_id = ? ORDER BY rule_id, rule_version, advice_subject",
            [expedition_id],
        ).to_arrow_table().to_pylist()
        approvals = con.execute(
            "SELECT advice_id, evidence_sha256, approved_by FROM advice_approvals WHERE expedition_id = ? "
            "ORDER BY approved_utc, approval_id", [expedition_id],
        ).fetchall()
    except duckdb.CatalogException:
        return []  # a lake created before these tables existed
    out = []
    for r in items:
        if not (r["advice_active"] or include_inactive):
            continue
        by = [a[2] for a in approvals if a[0] == r["advice_id"] and a[1] == r["evidence_sha256"]]
        out.append(AdviceItem(
            r["advice_id"], r["expedition_id"], r["rule_id"], r["rule_version"], r["rule_set_version"],
            r["advice_category"], r["advice_subject"], r["advice_text_en"], r["advice_text_zh"], r["evidence_source"],
            json.loads(r["evidence_json"]), r["evidence_sha256"], bool(r["advice_active"]),
            "approved" if by else "draft", sorted(set(by)),
        ))
    return out


def approve_advice(lake: Lake, advice_id_or_prefix: str, by: str, note: str | None = None,
                   now: dt.datetime | None = None) -> AdviceItem:
    """Sign off one advice item (a unique id prefix is enough) for the evidence it has now."""
    reviewer = (by or "").strip()
    if not reviewer:
        raise ExpeditionError("an approval needs the reviewer's name (--by NAME)")
    key = advice_id_or_prefix.strip()
    if len(key) < 6:
        raise ExpeditionError(f"advice id {key!r} is too short: give at least 6 characters")
    now = now or dt.datetime.now(dt.UTC)

    def approve(w: LakeWriter) -> tuple[str, str]:  # run again from the start after a write conflict
        found = w.con.execute(
            "SELECT advice_id, expedition_id, evidence_sha256, advice_active FROM advice_items "
            "WHERE starts_with(advice_id, ?) ORDER BY advice_id", [key],
        ).fetchall()
        if not found:
            raise NotFound(f"no advice item {key!r} (see `expedition advice list --expedition ID`)")
        if len(found) > 1:
            raise ExpeditionError(f"advice id {key!r} is ambiguous: {', '.join(f[0] for f in found)}")
        aid, exp_id, evidence_sha, active = found[0]
        if not active:
            raise ExpeditionError(f"advice {aid} is withdrawn (its rule no longer fires); regenerate and review again")
        approval_id = hashlib.sha1(f"{aid}\x1f{evidence_sha}\x1f{reviewer}".encode()).hexdigest()[:24]
        row = {"approval_id": approval_id, "advice_id": aid, "expedition_id": exp_id, "evidence_sha256": evidence_sha,
               "approved_by": reviewer, "approved_utc": now, "approval_note": note}
        w.write(ADVICE_APPROVALS.name, pa.Table.from_pylist([row], schema=ADVICE_APPROVALS.schema), mode="insert_new")
        w.set_commit_message(reviewer, f"approve advice {aid} of {exp_id}")
        return aid, exp_id

    aid, exp_id = lake.run_writer(approve, what=f"approve advice {key}")
    con = lake.connect(read_only=True)
    try:
        return next(i for i in advice_of(con, exp_id) if i.advice_id == aid)
    finally:
        con.close()
