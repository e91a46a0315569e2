"""Response commands: evaluate events, list and show expeditions, approve, advance, open by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Optional

import typer

from expedition.delivery.cli.common import HomeOpt, echo_json, lake_for, progress, settings_for


def people_per_mmi(population_by_mmi: dict[str, int]) -> str:
    """``"IV 20,189, V 1,741, ..., IX 6,958"``: the bins in intensity order, empty ones left out.

    The stored JSON has its keys sorted as text (IV, IX, V, ...), so the order is the exposure bins'.
    """
    from expedition.science.hazard.bins import MMI_BINS

    return ", ".join(f"{r} {population_by_mmi[r]:,}" for r in MMI_BINS if population_by_mmi.get(r))


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"--since must be a date or time like 2024-01-01 or 2024-01-01T12:00Z, got {value!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def evaluate(
    event: Optional[list[str]] = typer.Option(None, "--event", "-e", help="Evaluate only this event id (repeatable)."),
    since: Optional[str] = typer.Option(None, "--since", help="Only events at or after this origin time (UTC)."),
    as_json: bool = typer.Option(False, "--json", help="Print the decisions as JSON."),
    home: HomeOpt = None,
) -> None:
    """Judge every new or revised event against the trigger policy; open, join or update expeditions.

    Every evaluated event revision gets a decision with its reason in words (see `expedition show`
    and the `trigger_decisions` view). Rerunning changes nothing.

    Example: expedition evaluate --since 2024-01-01
    """
    from expedition.decisions.response.evaluate import evaluate_events

    settings = settings_for(home)
    with progress() as bar:
        task = bar.add_task("evaluating events", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        decisions = evaluate_events(lake_for(home), settings, event_ids=event or None, since=_since(since), on_progress=tick)
    if as_json:
        echo_json([d.__dict__ for d in decisions])
        return
    counts: dict[str, int] = {}
    for d in decisions:
        counts[d.decision] = counts.get(d.decision, 0) + 1
    typer.echo(f"{len(decisions)} decision(s): " + (", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "nothing new"))
    joined: dict[str, int] = {}
    for d in decisions:
        if d.decision == "joined" and not event:
            joined[str(d.expedition_id)] = joined.get(str(d.expedition_id), 0) + 1
        elif d.decision != "not_opened" or event:
            typer.echo(f"{d.decision:>18} {d.event_id} {d.expedition_id or '':<17} {d.reason}")
    if joined:
        typer.echo("joined sequences: " + ", ".join(f"{k} +{n}" for k, n in sorted(joined.items())))
    if not event and counts.get("not_opened"):
        typer.echo("reasons of every decision: expedition query \"SELECT * FROM trigger_decisions\" (or --json)")


def list_cmd(
    status: Optional[str] = typer.Option(None, "--status", help="Only this status (proposed, pending_review, approved, ...)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    home: HomeOpt = None,
) -> None:
    """List expeditions in their current state, oldest mainshock first.

    Example: expedition list --status pending_review
    """
    from expedition.decisions.records import list_expeditions

    items = [e.to_row() for e in list_expeditions(lake_for(home), status=status)]
    if as_json:
        echo_json(items)
        return
    if not items:
        typer.echo("no expeditions" + (f" with status {status}" if status else ""))
        return
    typer.echo(f"{'expedition':<17} {'status':<14} tier alert   {'countries':<12} {'M':>4} {'mainshock (UTC)':<16} title")
    for e in items:
        t = e["mainshock_origin_time_utc"]
        flag = " [REVIEW]" if e["review_flag"] else ""
        typer.echo(
            f"{e['expedition_id']:<17} {e['expedition_status']:<14} {e['expedition_tier']:>4} {e['alert_level'] or '-':<7} "
            f"{' '.join(e['country_iso3_list']):<12} {e['mainshock_magnitude_value'] or 0:>4.1f} "
            f"{t:%Y-%m-%d %H:%M} {e['expedition_title']}{flag}"
        )


def show(
    expedition_id: str = typer.Argument(..., help="Expedition id, e.g. EXP-2024-CHN-001."),
    as_json: bool = typer.Option(False, "--json", help="Print everything recorded as JSON."),
    home: HomeOpt = None,
) -> None:
    """Show an expedition: state, countries and why, sequence, assessments, decisions, audit log.

    Example: expedition show EXP-2024-CHN-001
    """
    from expedition.decisions.response.details import expedition_details

    info = expedition_details(lake_for(home), expedition_id)
    if as_json:
        echo_json(info)
        return
    e = info["expedition"]
    lines = [
        f"{e['expedition_id']}  {e['expedition_title']}",
        f"status:     {e['expedition_status']} (next: {', '.join(info['allowed_next']) or 'none'})"
        + ("  REVIEW: " + str(e["review_reason"]) if e["review_flag"] else ""),
        f"tier:       {e['expedition_tier']}   priority: {e['expedition_priority']}   alert: {e['alert_level']}",
        f"countries:  {' '.join(e['country_iso3_list'])} (primary {e['primary_country_iso3']})",
        f"mainshock:  {e['mainshock_event_id']} M {e['mainshock_magnitude_value']:.1f} {e['mainshock_magnitude_type']} "
        f"{e['mainshock_origin_time_utc']:%Y-%m-%d %H:%M:%S} UTC, {e['mainshock_depth_km']:.0f} km deep",
        f"sequence:   {len(info['events'])} event(s) within {e['sequence_radius_km']:.0f} km and "
        f"{e['sequence_window_days']:.0f} days "
        "(Gardner & Knopoff 1974)",
        f"team:       {', '.join(e['team_members']) or '-'}   dates: {e['start_date'] or '-'} .. {e['end_date'] or '-'}",
        f"policy:     {e['policy_version']} ({(e['policy_sha256'] or '')[:12]})",
        f"opened:     {e['opened_utc']:%Y-%m-%d %H:%M} UTC by {e['opened_by']}: {e['opened_reason']}",
    ]
    a = info["mainshock_assessment"]
    if a:
        people = people_per_mmi(a["population_by_mmi"])
        lines.append(
            f"shaking:    {a['rupture_method']} rupture {a['rupture_length_km']:.0f} km; "
            f"strongest MMI {a['mmi_max'] or 0:.1f} at "
            f"{a['mmi_max_place']}; people per MMI: {people or 'none above IV'}; PAGER {a['alert_level']} "
            f"({a['fatality_expected'] or 0:.1f} expected deaths)"
        )
    lines.append("audit log:")
    lines += [
        f"  v{r['expedition_version']} {r['audit_time_utc']:%Y-%m-%d %H:%M} {r['actor']}: {r['audit_action']} "
        f"{r['status_from'] or '-'} -> {r['status_to']} ({_short(r['audit_reason'])})"
        for r in info["log"]
    ]
    lines.append("decisions:")
    for d in info["decisions"]:
        text = d["decision_reason"] if d["decision"] != "joined" else _short(d["decision_reason"])
        lines.append(f"  {d['decision']:>18} {d['event_id']} rev {d['event_revision']}: {text}")
    typer.echo("\n".join(lines))


def _short(text: str | None, width: int = 110) -> str:
    text = text or ""
    return text if len(text) <= width else text[: width - 3] + "..."


def approve(
    expedition_id: str = typer.Argument(..., help="Expedition id."),
    by: str = typer.Option(..., "--by", help="Who approves (recorded in the audit log)."),
    note: Optional[str] = typer.Option(None, "--note", help="Why (recorded)."),
    home: HomeOpt = None,
) -> None:
    """Approve a proposed or pending-review expedition.

    Example: expedition approve EXP-2024-CHN-001 --by "Duty Officer Li"
    """
    from expedition.decisions.records import approve as approve_

    exp = approve_(lake_for(home), expedition_id, by=by, note=note)
    typer.echo(f"{exp.expedition_id}: {exp.expedition_status} (version {exp.expedition_version})")


def advance(
    expedition_id: str = typer.Argument(..., help="Expedition id."),
    to: str = typer.Option(..., "--to", help="New status: approved, deployed, reporting, closed or cancelled."),
    by: str = typer.Option(..., "--by", help="Who makes the change."),
    note: Optional[str] = typer.Option(None, "--note", help="Why (recorded in the audit log)."),
    home: HomeOpt = None,
) -> None:
    """Move an expedition along its lifecycle (invalid moves are refused with the allowed ones).

    Example: expedition advance EXP-2024-CHN-001 --to deployed --by "Duty Officer Li" --note "team of 6 on site"
    """
    from expedition.decisions.records import transition

    exp = transition(lake_for(home), expedition_id, to, by=by, note=note)
    typer.echo(f"{exp.expedition_id}: {exp.expedition_status} (version {exp.expedition_version})")


def open_cmd(
    event_id: str = typer.Argument(..., help="Event id (see `expedition query \"SELECT * FROM events\"`)."),
    reason: str = typer.Option(..., "--reason", help="Why a person opens it (recorded in the decision log)."),
    by: str = typer.Option(..., "--by", help="Who opens it."),
    home: HomeOpt = None,
) -> None:
    """Open an expedition for any event by hand (assessed like the automatic ones, logged as manual_open).

    Example: expedition open us7000ltf3 --reason "request from the national agency" --by "Duty Officer Li"
    """
    from expedition.decisions.response.evaluate import open_manually

    settings = settings_for(home)
    exp, created = open_manually(lake_for(home), event_id, reason=reason, by=by, settings=settings)
    if created:
        typer.echo(f"opened {exp.expedition_id}: {exp.expedition_status}, tier {exp.expedition_tier}, "
                   f"{' '.join(exp.country_iso3_list)}")
    else:
        typer.echo(f"{event_id} is already covered by {exp.expedition_id} ({exp.expedition_status}); nothing opened")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("evaluate")(evaluate)
    app.command("list")(list_cmd)
    app.command("show")(show)
    app.command("approve")(approve)
    app.command("advance")(advance)
    app.command("open")(open_cmd)
