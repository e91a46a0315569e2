"""The trigger policy: when an earthquake opens an expedition, which countries it covers, its tier.

The policy is a versioned TOML file (``expedition/data/trigger_policy.toml`` by default; the
operator's own through ``policy_file`` in ``qe.toml`` or ``QE_POLICY_FILE``). Its ``policy_version``
and the sha256 of its bytes are stored with every decision.

:func:`judge` is pure: it takes the facts established about one event (:class:`EventFacts`) and
returns a :class:`Verdict` with every rule's outcome. Rules (defaults in brackets):

* gates, all required: event type in ``event.types`` [earthquake]; depth <= ``max_depth_km`` [300];
  magnitude >= the floor of the country judged (``event.country_floors``, else ``magnitude_floor``) [5.5];
* triggers, either suffices: rule 1, magnitude >= ``trigger.magnitude`` [6.0] with the epicentre
  inside or within ``trigger.member_distance_km`` [50] of a member; rule 2, estimated MMI >=
  ``trigger.mmi`` [VI] at a populated place of a member country;
* countries: members with estimated MMI >= ``countries.mmi`` [VI] at a populated place, plus the
  near member when rule 1 fired; the primary country is the member containing the epicentre if
  covered, else the covered member shaken hardest;
* the alert level sets tier, priority and opening status (``[alert.*]``).

Intensity classes are centred on the integers (class VI is an estimate in [5.5, 6.5), as PAGER's
exposure bins, Jaiswal & Wald 2010), so ``MMI >= VI`` means an estimate >= 5.5.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expedition.errors import PolicyError
from expedition.science.hazard.ipe import to_roman

if TYPE_CHECKING:
    from expedition.settings import Settings

__all__ = [
    "AlertRule",
    "EventFacts",
    "RuleResult",
    "TriggerPolicy",
    "Verdict",
    "judge",
    "load_policy",
    "mmi_class_reached",
    "parse_policy",
]

SHIPPED_POLICY = "trigger_policy.toml"
ALERT_LEVELS = ("green", "yellow", "orange", "red", "unknown")
OPENING_STATUSES = ("proposed", "pending_review")


def mmi_class_reached(mmi: float | None, mmi_class: float) -> bool:
    """True when an MMI estimate falls in class ``mmi_class`` or above (classes centred on integers)."""
    return mmi is not None and mmi >= mmi_class - 0.5


@dataclass(frozen=True)
class AlertRule:
    tier: int
    priority: int
    status: str


@dataclass(frozen=True)
class TriggerPolicy:
    version: str
    sha256: str
    source: str
    description: str
    event_types: tuple[str, ...]
    max_depth_km: float
    magnitude_floor: float
    country_floors: dict[str, float]
    preferred_magnitude_types: tuple[str, ...]
    trigger_magnitude: float
    member_distance_km: float
    trigger_mmi: float
    country_mmi: float
    alerts: dict[str, AlertRule]

    def floor_for(self, iso3: str | None) -> float:
        return self.country_floors.get((iso3 or "").upper(), self.magnitude_floor)

    def alert_rule(self, level: str | None) -> AlertRule:
        return self.alerts.get(level or "unknown", self.alerts["unknown"])


@dataclass(frozen=True)
class EventFacts:
    """What is known about one event when the policy judges it (membership already applied)."""

    event_id: str
    origin_time: datetime
    magnitude: float | None
    magnitude_type: str | None
    depth_km: float | None
    event_type: str | None
    epicentre_iso3: str  # '' at sea
    near_member_iso3: str | None  # member containing the epicentre or nearest within reach
    near_member_distance_km: float | None  # 0 inside
    member_mmi: dict[str, tuple[float, str]] = field(default_factory=dict)  # iso3 -> (max MMI, place)
    alert_level: str | None = None


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    value: Any
    threshold: Any
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "value": self.value, "threshold": self.threshold, "text": self.text}


@dataclass(frozen=True)
class Verdict:
    opens: bool
    rules: tuple[RuleResult, ...]
    countries: tuple[str, ...]  # covered member countries, primary first
    primary_iso3: str | None
    floor: float
    tier: int
    priority: int
    status: str
    country_reasons: dict[str, str]

    @property
    def failed(self) -> list[RuleResult]:
        return [r for r in self.rules if not r.passed and r.rule.startswith("gate")]

    def rule(self, name: str) -> RuleResult:
        return next(r for r in self.rules if r.rule == name)


def judge(policy: TriggerPolicy, facts: EventFacts) -> Verdict:
    """Apply ``policy`` to ``facts``; the verdict records every rule (pure, no I/O)."""
    covered: dict[str, str] = {}
    for iso3, (mmi, place) in sorted(facts.member_mmi.items(), key=lambda kv: -kv[1][0]):
        if mmi_class_reached(mmi, policy.country_mmi):
            covered[iso3] = f"est. MMI {to_roman(mmi)} ({mmi:.1f}) at {place}"
    near_ok = (
        facts.near_member_iso3 is not None
        and facts.near_member_distance_km is not None
        and facts.near_member_distance_km <= policy.member_distance_km
    )
    strongest = max(facts.member_mmi.items(), key=lambda kv: kv[1][0], default=None)
    judged = (facts.near_member_iso3 if near_ok else None) or (strongest[0] if strongest else None)
    floor = policy.floor_for(judged)
    mag = facts.magnitude
    depth = facts.depth_km
    etype = (facts.event_type or "earthquake").lower()
    rules = [
        RuleResult("gate_event_type", etype in policy.event_types, etype, list(policy.event_types), f"event type {etype}"),
        RuleResult(
            "gate_depth", depth is None or depth <= policy.max_depth_km, depth, policy.max_depth_km,
            f"depth {depth:.0f} km vs limit {policy.max_depth_km:.0f} km" if depth is not None else "depth unknown",
        ),
        RuleResult(
            "gate_magnitude_floor", mag is not None and mag >= floor, mag, floor,
            f"M {mag:.1f} vs floor {floor:.1f}" + (f" for {judged}" if judged and judged in policy.country_floors else "")
            if mag is not None else "magnitude unknown",
        ),
        RuleResult(
            "trigger_magnitude_near_member",
            near_ok and mag is not None and mag >= policy.trigger_magnitude,
            {"magnitude": mag, "member": facts.near_member_iso3, "distance_km": facts.near_member_distance_km},
            {"magnitude": policy.trigger_magnitude, "distance_km": policy.member_distance_km},
            f"M >= {policy.trigger_magnitude:.1f} within {policy.member_distance_km:.0f} km of a member",
        ),
        RuleResult(
            "trigger_shaking_in_member",
            strongest is not None and mmi_class_reached(strongest[1][0], policy.trigger_mmi),
            {"member": strongest[0], "mmi": round(strongest[1][0], 2), "place": strongest[1][1]} if strongest else None,
            policy.trigger_mmi,
            f"est. MMI >= {policy.trigger_mmi:g} at a populated place of a member",
        ),
    ]
    gates = all(r.passed for r in rules if r.rule.startswith("gate"))
    triggered = rules[3].passed or rules[4].passed
    opens = gates and triggered
    if opens and rules[4].passed and strongest is not None and strongest[0] not in covered:
        covered[strongest[0]] = f"est. MMI {to_roman(strongest[1][0])} ({strongest[1][0]:.1f}) at {strongest[1][1]}"
    if opens and rules[3].passed and facts.near_member_iso3 and facts.near_member_iso3 not in covered:
        d = facts.near_member_distance_km or 0.0
        covered[facts.near_member_iso3] = "epicentre inside" if d == 0 else f"epicentre {d:.0f} km away"
    primary: str | None = None
    if covered:
        primary = facts.epicentre_iso3 if facts.epicentre_iso3 in covered else next(iter(covered))
    countries = tuple([primary, *[c for c in covered if c != primary]]) if primary else ()
    alert = policy.alert_rule(facts.alert_level)
    return Verdict(opens, tuple(rules), countries, primary, floor, alert.tier, alert.priority, alert.status, covered)


# -- loading -------------------------------------------------------------------------------------
def _get(data: dict[str, Any], path: str, kind: type | tuple[type, ...], source: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise PolicyError(f"{source}: missing key {path!r}")
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, kind):
        raise PolicyError(f"{source}: key {path!r} must be {_kind_name(kind)}, got {node!r}")
    return node


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({int: "a number", float: "a number", str: "text", list: "a list", dict: "a table"}.get(k, k.__name__) for k in kinds)


def parse_policy(text: str, source: str) -> TriggerPolicy:
    """Parse and validate policy TOML; errors name the file and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from exc
    num = (int, float)
    event = data.get("event")
    floors_raw = event.get("country_floors", {}) if isinstance(event, dict) else {}
    if not isinstance(floors_raw, dict):
        raise PolicyError(f"{source}: event.country_floors must be a table of ISO3 = magnitude")
    floors: dict[str, float] = {}
    for iso3, val in floors_raw.items():
        if len(iso3) != 3 or not iso3.isalpha() or isinstance(val, bool) or not isinstance(val, num):
            raise PolicyError(f"{source}: event.country_floors.{iso3} must be ISO3 = magnitude, got {val!r}")
        floors[iso3.upper()] = float(val)
    alerts: dict[str, AlertRule] = {}
    for level in ALERT_LEVELS:
        tier = int(_get(data, f"alert.{level}.tier", int, source))
        prio = int(_get(data, f"alert.{level}.priority", int, source))
        status = _get(data, f"alert.{level}.status", str, source)
        if tier not in (1, 2, 3) or prio not in (1, 2, 3):
            raise PolicyError(f"{source}: alert.{level}: tier and priority must be 1, 2 or 3, got {tier}, {prio}")
        if status not in OPENING_STATUSES:
            raise PolicyError(f"{source}: alert.{level}.status must be one of {OPENING_STATUSES}, got {status!r}")
        alerts[level] = AlertRule(tier, prio, status)
    types = _get(data, "event.types", list, source)
    prefer = _get(data, "event.preferred_magnitude_types", list, source)
    policy = TriggerPolicy(
        version=str(_get(data, "policy_version", str, source)),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=source,
        description=str(data.get("description", "")),
        event_types=tuple(str(t).lower() for t in types),
        max_depth_km=float(_get(data, "event.max_depth_km", num, source)),
        magnitude_floor=float(_get(data, "event.magnitude_floor", num, source)),
        country_floors=floors,
        preferred_magnitude_types=tuple(str(t).lower() for t in prefer),
        trigger_magnitude=float(_get(data, "trigger.magnitude", num, source)),
        member_distance_km=float(_get(data, "trigger.member_distance_km", num, source)),
        trigger_mmi=float(_get(data, "trigger.mmi", num, source)),
        country_mmi=float(_get(data, "countries.mmi", num, source)),
        alerts=alerts,
    )
    for name, value, lo, hi in (
        ("event.max_depth_km", policy.max_depth_km, 0, 800),
        ("event.magnitude_floor", policy.magnitude_floor, 0, 10),
        ("trigger.magnitude", policy.trigger_magnitude, 0, 10),
        ("trigger.member_distance_km", policy.member_distance_km, 0, 2000),
        ("trigger.mmi", policy.trigger_mmi, 1, 12),
        ("countries.mmi", policy.country_mmi, 1, 12),
    ):
        if not lo <= value <= hi:
            raise PolicyError(f"{source}: {name} = {value} is outside {lo}..{hi}")
    return policy


def policy_path(settings: Settings | None) -> Path | None:
    if settings is None or settings.policy_file is None:
        return None
    p = settings.policy_file
    return p if p.is_absolute() else settings.home / p


def load_policy(settings: Settings | None = None, path: Path | str | None = None) -> TriggerPolicy:
    """The trigger policy: ``path``, else ``settings.policy_file``, else the shipped default."""
    chosen = Path(path) if path is not None else policy_path(settings)
    if chosen is None:
        text = (resources.files("expedition") / "data" / SHIPPED_POLICY).read_text(encoding="utf-8")
        return parse_policy(text, f"expedition/data/{SHIPPED_POLICY}")
    try:
        text = chosen.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the policy file {chosen}: {exc}") from exc
    return parse_policy(text, str(chosen))
