"""Evaluate events against the trigger policy, open and update expeditions, log every decision.

:func:`evaluate_events` reads and writes in one lake transaction, so two evaluations at once cannot
open two expeditions for one sequence: on a SQLite catalog the second waits for the single-writer
lock; on a PostgreSQL catalog both run, the second to commit conflicts on the decision log's fence
and runs again (``Lake.run_writer``), then finds nothing left to decide. Decisions are keyed by (event, event
revision, policy hash, source), so a rerun writes nothing.

For each event revision, oldest first:

1. an event already in an expedition (a revision): re-judged; an upgrade raises the alert or adds
   countries (``updated``), a mainshock revised below the policy flags the expedition for review
   (``flagged_for_review``); nothing is deleted;
2. an event inside the Gardner-Knopoff window of an expedition's mainshock joins it (``joined``),
   raising its alert, adding countries or becoming the new mainshock when stronger; it never opens
   a second expedition;
3. otherwise the policy judges it: ``opened`` (a new expedition, countries decided by estimated
   shaking) or ``not_opened``, with the reason in words.

Authoritative products (:mod:`expedition.decisions.response.products`): when an event has a ShakeMap grid,
exposure comes from the grid; when it has a USGS PAGER alert, that is the alert we act on (ours is
recorded beside it and the reason says which drove the decision). A new product version gives the
decision a new source (``policy:products:<fingerprint>``), so ``evaluate_events(event_ids=...)``
after a products pull judges the event again: an upgrade raises alert and tier with its reason, a
PAGER downgrade of an expedition's mainshock is flagged for a person, never applied. Every decision
with an impact estimate also writes its ``event_assessments`` row, opened or not.

At the end, expeditions touched by the batch are re-assessed with the rupture traced by the first
24 h of aftershocks in the lake, once there are enough of them (countries and alert can only grow).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from expedition.decisions import records
from expedition.decisions.policy import Verdict, judge
from expedition.decisions.records import Expedition, Status
from expedition.decisions.response import decisions as dec
from expedition.decisions.response.assess import (
    Assessment,
    Context,
    Location,
    assess,
    load_context,
    locate,
    locate_many,
    search_radius_km,
)
from expedition.decisions.response.events import EventRow, events_by_id, pending_events, prefer_moment_magnitudes, rows
from expedition.decisions.response.judge import event_facts, gates_pass
from expedition.decisions.response.products import Authoritative, load_authoritative
from expedition.decisions.response.sequences import (
    ZONE_HOURS,
    SequenceMatch,
    aftershock_rupture,
    alert_rank,
    mainshock_fields,
    match_sequence,
    merge_assessment,
)
from expedition.errors import ExpeditionError, NotFound
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.rupture import RuptureModel
from warehouse.tables import spec as table_spec

if TYPE_CHECKING:
    from expedition.settings import Settings
    from warehouse.lake import Lake, LakeWriter

log = logging.getLogger(__name__)

__all__ = ["evaluate_events", "open_expedition", "open_manually"]

POLICY = "policy"
#: The views the evaluation reads (the named queries expedition_list and expedition_current)
_VIEWS = ("expeditions",)


class _Run:
    """One evaluation inside one writer transaction: current state in memory, rows batched."""

    def __init__(self, w: LakeWriter, ctx: Context) -> None:
        self.w, self.ctx, self.now = w, ctx, datetime.now(UTC)
        self.expeditions = {e.expedition_id: e for e in records.list_in(w.con)}
        self.event_exp = {r["event_id"]: r["expedition_id"] for r in rows(w.con, "response_sequence_members")}
        self.decisions: list[dec.Decision] = []
        self.out: dict[str, list[dict[str, Any]]] = {
            name: [] for name in (
                "expedition_versions", "expedition_audit", "expedition_events", "trigger_decision_log", "expedition_assessments",
                "event_assessments",
            )
        }
        self.touched: set[str] = set()
        self.locations: dict[tuple[str, int], Location] = {}
        self.products: dict[str, Authoritative] = {}
        self.products_read: set[str] = set()

    def load_products(self, event_ids: Sequence[str]) -> None:
        """Authoritative products (PAGER alert, ShakeMap grid, finite fault) of these events (one
        query for all of them; each event is read once per run)."""
        missing = [e for e in dict.fromkeys(event_ids) if e not in self.products_read]
        if missing:
            self.products.update(load_authoritative(self.w.con, missing))
            self.products_read.update(missing)

    def policy_source(self, ev: EventRow) -> str:
        """``policy``, or ``policy:products:<fingerprint>`` when authoritative products exist: a new
        product version makes a new decision (a rerun with the same versions writes nothing)."""
        fp = self.products[ev.event_id].fingerprint if ev.event_id in self.products else ""
        return f"{POLICY}:products:{fp}" if fp else POLICY

    # -- facts -------------------------------------------------------------------------------
    def gates_pass(self, ev: EventRow) -> bool:
        return gates_pass(self.ctx.policy, ev)

    def radius(self, ev: EventRow) -> float:
        return search_radius_km(self.ctx.policy, ev.magnitude) if self.gates_pass(ev) else 0.0

    def locate(self, ev: EventRow) -> Location:
        hit = self.locations.get((ev.event_id, ev.event_revision))
        return hit if hit is not None else locate(self.ctx, ev, self.radius(ev))

    def locate_all(self, events: Sequence[EventRow]) -> None:
        found = locate_many(self.ctx, events, [self.radius(e) for e in events])
        self.locations.update({(e.event_id, e.event_revision): loc for e, loc in zip(events, found)})

    def assess(self, ev: EventRow, rupture: RuptureModel | None = None) -> Assessment | None:
        self.load_products([ev.event_id])
        try:
            return assess(self.ctx, ev, rupture, products=self.products.get(ev.event_id))
        except HazardInputError as exc:
            log.warning("event %s: no shaking estimate: %s", ev.event_id, exc)
            return None

    def judge(self, ev: EventRow, loc: Location, a: Assessment | None) -> Verdict:
        return judge(self.ctx.policy, event_facts(ev, loc, a))

    # -- recording ---------------------------------------------------------------------------
    def record(  # noqa: PLR0913
        self, ev: EventRow, kind: str, reason: str, *, loc: Location | None, verdict: Verdict | None,
        a: Assessment | None, exp: Expedition | None, source: str = POLICY, by: str = POLICY,
    ) -> dec.Decision:
        if source == POLICY:
            self.load_products([ev.event_id])
            source = self.policy_source(ev)
        did = dec.decision_id(ev.event_id, ev.event_revision, self.ctx.policy.sha256, source)
        d = dec.Decision(
            did, ev.event_id, ev.event_revision, kind, exp.expedition_id if exp else None, reason,
            (a.alert_level if a else None) or (exp.alert_level if exp else None),
            exp.expedition_tier if exp else (verdict.tier if verdict and verdict.opens else None),
            tuple(exp.country_iso3_list) if exp else (verdict.countries if verdict else ()),
        )
        self.out["trigger_decision_log"].append(
            dec.decision_row(self.ctx, decision=d, ev=ev, loc=loc, verdict=verdict, assessment=a,
                             source=source.split(":")[0], decided_by=by, decided_utc=self.now)
        )
        if a is not None:
            self.out["event_assessments"].append(
                dec.event_assessment_row(self.ctx, decision=d, ev=ev, a=a, assessed_utc=self.now)
            )
        if a is not None and exp is not None:
            self.out["expedition_assessments"].append(
                dec.assessment_row(self.ctx, expedition_id=exp.expedition_id, ev=ev, a=a, decision_id_=did, assessed_utc=self.now)
            )
        self.decisions.append(d)
        log.info("%s %s: %s", ev.event_id, kind, reason)
        return d

    def version(
        self, exp: Expedition, changes: dict[str, Any], *, action: str, reason: str, by: str = POLICY,
        previous: Expedition | None = None,
    ) -> Expedition:
        """Queue a new version of ``exp`` (written at :meth:`flush`) and make it the current state."""
        count = sum(1 for x in self.event_exp.values() if x == exp.expedition_id)
        new, audit = records.version_rows(
            exp.evolve(**changes, sequence_event_count=max(count, 1)), actor=by, action=action, reason=reason,
            previous=previous, now=self.now,
        )
        self.out["expedition_versions"].append(new.to_row())
        self.out["expedition_audit"].append(audit)
        self.expeditions[new.expedition_id] = new
        self.touched.add(new.expedition_id)
        return new

    def add_event(self, exp_id: str, ev: EventRow, role: str, did: str, distance_km: float, hours: float) -> None:
        self.event_exp[ev.event_id] = exp_id
        self.out["expedition_events"].append({
            "expedition_id": exp_id, "event_id": ev.event_id, "sequence_role": role, "joined_utc": self.now,
            "decision_id": did, "mainshock_distance_km": distance_km, "mainshock_delay_hours": hours,
        })

    def flush(self) -> None:
        for name, data in self.out.items():
            if data:
                self.w.write(name, pa.Table.from_pylist(data, schema=table_spec(name).schema), mode="insert_new")

    # -- the three paths ---------------------------------------------------------------------
    def evaluate(self, ev: EventRow) -> dec.Decision:
        loc = self.locate(ev)
        if ev.event_id in self.event_exp:
            return self.revision(ev, loc, self.expeditions[self.event_exp[ev.event_id]])
        match = match_sequence(list(self.expeditions.values()), ev)
        if match is not None:
            return self.join(ev, loc, match)
        a = self.assess(ev) if self.gates_pass(ev) and loc.near_member_iso3 else None
        verdict = self.judge(ev, loc, a)
        if verdict.opens:
            return self.open(ev, loc, verdict, a)
        parts = [dec.describe_event(self.ctx, ev, loc)]
        if a is not None:
            parts.append(dec.describe_shaking(self.ctx, a))
        parts.append(dec.describe_verdict(self.ctx, verdict))
        return self.record(ev, "not_opened", "; ".join(parts), loc=loc, verdict=verdict, a=a, exp=None)

    def open(
        self, ev: EventRow, loc: Location, verdict: Verdict, a: Assessment | None, *,
        source: str = POLICY, by: str = POLICY, note: str = "", countries: Sequence[str] = (),
    ) -> dec.Decision:
        chosen = list(verdict.countries or countries)
        if not chosen:
            raise ExpeditionError(f"event {ev.event_id}: no country to attach the expedition to")
        exp_id = records.next_id_from(self.expeditions, ev.origin_time_utc.year, chosen[0])
        exp = _new_expedition(self.ctx, exp_id, ev, verdict, a, chosen, by=by, now=self.now)
        parts = [dec.describe_event(self.ctx, ev, loc)]
        if a is not None:
            parts.append(dec.describe_shaking(self.ctx, a))
        parts.append(dec.describe_countries(self.ctx, verdict, a) if verdict.countries else "")
        parts.append(note or dec.describe_verdict(self.ctx, verdict, exp_id))
        reason = "; ".join(p for p in parts if p)
        self.event_exp[ev.event_id] = exp_id
        exp = self.version(exp, {"opened_reason": reason}, action="open", reason=reason, by=by)
        kind = "opened" if source.split(":")[0] == POLICY else "manual_open"
        d = self.record(ev, kind, reason, loc=loc, verdict=verdict, a=a, exp=exp, source=source, by=by)
        self.add_event(exp_id, ev, "opening" if source.split(":")[0] == POLICY else "manual", d.decision_id, 0.0, 0.0)
        return d

    def join(self, ev: EventRow, loc: Location, match: SequenceMatch) -> dec.Decision:
        exp = match.expedition
        floor = self.ctx.policy.floor_for(exp.primary_country_iso3)
        a = self.assess(ev) if self.gates_pass(ev) and (ev.magnitude or 0) >= floor else None
        changes: dict[str, Any] = {}
        notes: list[str] = []
        if (ev.magnitude or 0) > (exp.mainshock_magnitude_value or 0):
            changes.update(mainshock_fields(ev))
            notes.append(f"M {ev.magnitude:.1f} is now the largest event of the sequence (new mainshock)")
        verdict = None
        if a is not None:
            verdict = self.judge(ev, loc, a)
            more, words = merge_assessment(exp, verdict, a.alert_level, self.ctx.policy, self.ctx.country_name)
            changes.update(more)
            notes.extend(words)
            if not exp.is_active and verdict.opens:
                changes.update(review_flag=True, review_reason=f"{ev.event_id} would open an expedition on its own")
                notes.append(f"{exp.expedition_id} is {exp.expedition_status}: flagged for review")
        parts = [dec.describe_event(self.ctx, ev, loc), match.describe()]
        if a is not None:
            parts.append(dec.describe_shaking(self.ctx, a))
        parts.append("; ".join(notes) if notes else "no change to the expedition")
        reason = "; ".join(parts)
        self.event_exp[ev.event_id] = exp.expedition_id
        if changes:
            exp = self.version(exp, changes, action="join", reason=reason, previous=exp)
        if 0 < match.delay_hours <= ZONE_HOURS:
            self.touched.add(exp.expedition_id)  # the aftershock zone may have grown: refine at the end
        d = self.record(ev, "joined", reason, loc=loc, verdict=verdict, a=a, exp=exp)
        self.add_event(exp.expedition_id, ev, "sequence", d.decision_id, match.distance_km, match.delay_hours)
        return d

    def revision(self, ev: EventRow, loc: Location, exp: Expedition) -> dec.Decision:
        a = self.assess(ev) if self.gates_pass(ev) else None
        verdict = self.judge(ev, loc, a)
        is_main = exp.mainshock_event_id == ev.event_id
        changes: dict[str, Any] = mainshock_fields(ev) if is_main else {}
        notes: list[str] = []
        kind = "updated"
        if is_main and not verdict.opens and exp.opened_by == POLICY:
            kind = "flagged_for_review"
            why = dec.describe_verdict(self.ctx, verdict)
            changes.update(review_flag=True, review_reason=f"revision {ev.event_revision}: {why}")
            notes.append(
                f"the revised mainshock no longer meets the policy ({why}); {exp.expedition_id} flagged for review, "
                "nothing deleted"
            )
        elif a is not None:
            more, words = merge_assessment(exp, verdict, a.alert_level, self.ctx.policy, self.ctx.country_name)
            changes.update(more)
            notes.extend(words)
            auth = a.authoritative_alert_level
            if is_main and auth and alert_rank(auth) < alert_rank(exp.alert_level):
                kind = "flagged_for_review"
                label = a.authoritative.pager_label if a.authoritative else "USGS PAGER"
                why = f"{label} alert is now {auth}, below the expedition's {exp.alert_level}"
                changes.update(review_flag=True, review_reason=f"{why}: a person decides whether to lower it")
                notes.append(f"{why}; not applied: {exp.expedition_id} flagged for review")
        parts = [f"revision {ev.event_revision} of an event of {exp.expedition_id}", dec.describe_event(self.ctx, ev, loc)]
        if a is not None:
            parts.append(dec.describe_shaking(self.ctx, a))
        parts.append("; ".join(notes) if notes else "no change to the expedition")
        reason = "; ".join(parts)
        if any(exp.to_row().get(k) != v for k, v in changes.items()):
            action = "flag" if kind == "flagged_for_review" else "update"
            exp = self.version(exp, changes, action=action, reason=reason, previous=exp)
        return self.record(ev, kind, reason, loc=loc, verdict=verdict, a=a, exp=exp)

    def refine(self, exp_id: str) -> None:
        """Re-assess a mainshock with the rupture traced by its first day of aftershocks."""
        exp = self.expeditions[exp_id]
        if not exp.is_active:
            return
        zone = aftershock_rupture(self.w.con, exp)
        found = events_by_id(self.w.con, [exp.mainshock_event_id]) if zone is not None else []
        if zone is None or not found:
            return
        main = prefer_moment_magnitudes(self.w.con, found, self.ctx.policy.preferred_magnitude_types)[0]
        a = self.assess(main, zone)
        if a is None:
            return
        self.out["expedition_assessments"].append(
            dec.assessment_row(self.ctx, expedition_id=exp_id, ev=main, a=a, decision_id_=None, assessed_utc=self.now)
        )
        verdict = self.judge(main, self.locate(main), a)
        changes, notes = merge_assessment(exp, verdict, a.alert_level, self.ctx.policy, self.ctx.country_name)
        if changes:
            reason = f"rupture re-estimated from the aftershock zone ({zone.source}, {zone.length_km:.0f} km): " + "; ".join(
                [dec.describe_shaking(self.ctx, a), *notes]
            )
            self.version(exp, changes, action="update", reason=reason, previous=exp)


def _new_expedition(
    ctx: Context, exp_id: str, ev: EventRow, verdict: Verdict, a: Assessment | None, countries: list[str], *,
    by: str, now: datetime,
) -> Expedition:
    where = ev.region_name or ctx.country_name(countries[0])
    title = f"M {ev.magnitude or 0:.1f} {where}, {ev.origin_time_utc:%Y-%m-%d}"
    fields = mainshock_fields(ev)
    return Expedition(
        expedition_id=exp_id, expedition_version=0, recorded_utc=now, expedition_status=verdict.status,
        expedition_tier=verdict.tier, expedition_priority=verdict.priority, alert_level=a.alert_level if a else None,
        review_flag=False, review_reason=None, expedition_title=title, primary_country_iso3=countries[0],
        country_iso3_list=countries, sequence_event_count=1, team_members=[], objectives=None, start_date=None,
        end_date=None, opened_utc=now, opened_by=by, opened_reason=None, policy_version=ctx.policy.version,
        policy_sha256=ctx.policy.sha256, changed_by=by, change_note=None, **fields,
    )


def evaluate_events(
    lake: Lake,
    settings: Settings,
    event_ids: Sequence[str] | None = None,
    *,
    since: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[dec.Decision]:
    """Judge ``event_ids`` (default: every event whose current revision has no decision yet, or that
    got a new PAGER, ShakeMap, finite-fault or mechanism version since its last decision).

    Returns the decisions written by this call (empty on a rerun)."""
    ctx = load_context(settings)

    def attempt(w: LakeWriter) -> list[dec.Decision]:
        # run again from the start (re-reading the lake) when a concurrent writer committed first
        run = _Run(w, ctx)
        if event_ids is not None:
            evs = events_by_id(w.con, event_ids)
            missing = sorted(set(event_ids) - {e.event_id for e in evs})
            if missing:
                raise NotFound(f"no event(s) {', '.join(missing)} in the lake (import the catalog first)")
        else:
            evs = pending_events(w.con, since)
        # already decided with these product versions (a rerun, or a product that changes nothing)
        run.load_products([e.event_id for e in evs])
        ids = [dec.decision_id(e.event_id, e.event_revision, ctx.policy.sha256, run.policy_source(e)) for e in evs]
        done = {r["decision_id"] for r in rows(w.con, "response_existing_decisions", decision_ids=ids)}
        evs = [e for e, i in zip(evs, ids) if i not in done]
        evs = prefer_moment_magnitudes(w.con, evs, ctx.policy.preferred_magnitude_types)
        run.locate_all(evs)
        for i, ev in enumerate(evs, start=1):
            run.evaluate(ev)
            if on_progress:
                on_progress(i, len(evs))
        for exp_id in sorted(run.touched):
            run.refine(exp_id)
        run.flush()
        if run.decisions:
            w.set_commit_message(POLICY, f"evaluate: {len(run.decisions)} decision(s), policy {ctx.policy.version}")
        return run.decisions

    return lake.run_writer(attempt, what="evaluate", views=_VIEWS)


def open_manually(
    lake: Lake, event_id: str, *, reason: str, by: str, settings: Settings | None = None
) -> tuple[Expedition, bool]:
    """Open an expedition for ``event_id`` by a person's decision; ``(expedition, created)``.

    An event already in an expedition's sequence returns that expedition (``created`` False)."""
    from expedition.settings import load_settings

    by, reason = by.strip(), reason.strip()
    if not by or not reason:
        raise ExpeditionError("a manual open needs who (--by NAME) and why (--reason TEXT)")
    ctx = load_context(settings or load_settings(lake.home))

    def attempt(w: LakeWriter) -> tuple[Expedition, bool]:
        run = _Run(w, ctx)
        found = events_by_id(w.con, [event_id])
        if not found:
            raise NotFound(f"no event {event_id!r} in the lake (import the catalog first)")
        ev = prefer_moment_magnitudes(w.con, found, ctx.policy.preferred_magnitude_types)[0]
        known = run.expeditions.get(run.event_exp.get(ev.event_id, ""))
        if known is not None and known.status != Status.CANCELLED:
            return known, False
        match = match_sequence(list(run.expeditions.values()), ev)
        if match is not None:
            return match.expedition, False
        loc = locate(ctx, ev, search_radius_km(ctx.policy, ev.magnitude))
        a = run.assess(ev) if ev.magnitude is not None else None
        verdict = run.judge(ev, loc, a)
        fallback = [loc.epicentre_iso3 or loc.nearest_iso3]
        policy_view = (
            "the policy would open it too" if verdict.opens
            else dec.describe_verdict(ctx, verdict).replace("not opened", "the policy alone would not open it")
        )
        source = f"manual:{event_id}:{len(run.expeditions)}"
        d = run.open(ev, loc, verdict, a, source=source, by=by, countries=fallback,
                     note=f"opened by {by}: {reason} ({policy_view})")
        run.flush()
        w.set_commit_message(by, f"manual open of {event_id}: {d.expedition_id}")
        return run.expeditions[str(d.expedition_id)], True

    return lake.run_writer(attempt, what=f"open {event_id}")


def open_expedition(lake: Lake, event_id: str, reason: str, by: str, settings: Settings | None = None) -> Expedition:
    """Open an expedition for any event by a person's decision (recorded in the decision log).

    The event's shaking, exposure and alert are assessed as for an automatic decision; if the event
    already belongs to an expedition, that expedition is returned unchanged.
    """
    return open_manually(lake, event_id, reason=reason, by=by, settings=settings)[0]
