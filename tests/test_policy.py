"""The trigger policy: the shipped file, every rule of `judge`, overrides and bad files."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from expedition.decisions.policy import EventFacts, judge, load_policy, mmi_class_reached, parse_policy
from expedition.errors import PolicyError
from expedition.settings import load_settings

SHIPPED = Path(__file__).resolve().parents[1] / "expedition" / "data" / "trigger_policy.toml"
T = datetime(2024, 1, 22, 18, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_policy()


def _facts(policy, **kw):  # type: ignore[no-untyped-def]
    base = EventFacts(
        event_id="e1", origin_time=T, magnitude=policy.trigger_magnitude, magnitude_type="mww", depth_km=10.0,
        event_type="earthquake", epicentre_iso3="CHN", near_member_iso3="CHN", near_member_distance_km=0.0,
        member_mmi={}, alert_level="green",
    )
    return replace(base, **kw)


def test_shipped_policy_is_versioned_and_hashed(policy) -> None:  # type: ignore[no-untyped-def]
    assert policy.version
    assert policy.sha256 == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert policy.event_types == ("earthquake",)
    assert policy.preferred_magnitude_types[0].startswith("mw")
    assert policy.alert_rule("orange").status == policy.alert_rule("red").status == "pending_review"
    assert policy.alert_rule("green").tier < policy.alert_rule("yellow").tier < policy.alert_rule("orange").tier


def test_intensity_classes_are_centred_on_integers() -> None:
    assert mmi_class_reached(5.5, 6) and not mmi_class_reached(5.49, 6) and not mmi_class_reached(None, 6)


def test_magnitude_near_a_member_opens(policy) -> None:  # type: ignore[no-untyped-def]
    v = judge(policy, _facts(policy))
    assert v.opens and v.countries == ("CHN",) and v.primary_iso3 == "CHN"
    assert v.rule("trigger_magnitude_near_member").passed and not v.rule("trigger_shaking_in_member").passed
    rule = policy.alert_rule("green")
    assert (v.tier, v.priority, v.status) == (rule.tier, rule.priority, rule.status)
    far = judge(policy, _facts(policy, epicentre_iso3="", near_member_distance_km=policy.member_distance_km + 1))
    assert not far.opens and far.countries == ()


def test_shaking_in_a_member_opens_below_the_trigger_magnitude(policy) -> None:  # type: ignore[no-untyped-def]
    m = policy.magnitude_floor
    facts = _facts(
        policy, magnitude=m, epicentre_iso3="", near_member_iso3=None, near_member_distance_km=None,
        member_mmi={"KGZ": (policy.trigger_mmi - 0.4, "Karakol")},
    )
    v = judge(policy, facts)
    assert v.opens and v.countries == ("KGZ",)
    assert v.rule("trigger_shaking_in_member").passed and not v.rule("trigger_magnitude_near_member").passed
    weak = judge(policy, replace(facts, member_mmi={"KGZ": (policy.trigger_mmi - 0.6, "Karakol")}))
    assert not weak.opens


def test_gates(policy) -> None:  # type: ignore[no-untyped-def]
    below = judge(policy, _facts(policy, magnitude=policy.magnitude_floor - 0.2))
    assert not below.opens and [r.rule for r in below.failed] == ["gate_magnitude_floor"]
    deep = judge(policy, _facts(policy, depth_km=policy.max_depth_km + 1))
    assert not deep.opens and [r.rule for r in deep.failed] == ["gate_depth"]
    blast = judge(policy, _facts(policy, event_type="explosion"))
    assert not blast.opens and [r.rule for r in blast.failed] == ["gate_event_type"]
    unknown = judge(policy, _facts(policy, magnitude=None))
    assert not unknown.opens


def test_country_floor_applies_to_the_country_judged(policy) -> None:  # type: ignore[no-untyped-def]
    iso3, floor = next(iter(policy.country_floors.items()))
    m = (policy.magnitude_floor + floor) / 2
    facts = _facts(policy, magnitude=m, epicentre_iso3=iso3, near_member_iso3=iso3, member_mmi={iso3: (7.0, "Town")})
    v = judge(policy, facts)
    assert v.floor == floor and not v.opens
    other = judge(policy, replace(facts, epicentre_iso3="CHN", near_member_iso3="CHN", member_mmi={"CHN": (7.0, "Town")}))
    assert other.floor == policy.magnitude_floor and other.opens


def test_border_quake_covers_members_by_shaking(policy) -> None:  # type: ignore[no-untyped-def]
    c = policy.country_mmi
    facts = _facts(
        policy, magnitude=7.0, member_mmi={"KGZ": (c + 0.1, "Barskoon"), "CHN": (c + 2, "Aksu"), "KAZ": (c - 0.8, "Kegen")},
        alert_level="orange",
    )
    v = judge(policy, facts)
    assert v.opens and v.countries == ("CHN", "KGZ") and "KAZ" not in v.country_reasons
    assert "Barskoon" in v.country_reasons["KGZ"]
    assert v.status == "pending_review" and v.tier == policy.alert_rule("orange").tier
    offshore = judge(policy, replace(facts, epicentre_iso3="", near_member_iso3="KGZ", near_member_distance_km=30.0))
    assert offshore.primary_iso3 == "CHN"  # the member shaken hardest when the epicentre is at sea


def test_policy_file_override_and_errors(tmp_path: Path) -> None:
    own = tmp_path / "policy.toml"
    own.write_text(SHIPPED.read_text().replace('policy_version = "', 'policy_version = "ops-'), encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    (home / "qe.toml").write_text(f'policy_file = "{own}"\n', encoding="utf-8")
    p = load_policy(load_settings(home))
    assert p.version.startswith("ops-") and p.sha256 != load_policy().sha256
    text = SHIPPED.read_text()
    cases = {
        text.replace("tier = 3", "tier = 4", 1): "alert.orange: tier and priority must be 1, 2 or 3",
        text.replace('status = "pending_review"', 'status = "approved"', 1): "alert.orange.status must be one of",
        text.replace("max_depth_km = 300.0", "max_depth_km = 'deep'"): "key 'event.max_depth_km' must be a number",
        text.replace("magnitude = 6.0", "magnitude = 12.0"): "trigger.magnitude = 12.0 is outside 0..10",
        text.replace("PHL = 6.0", "PHIL = 6.0"): "event.country_floors.PHIL must be ISO3 = magnitude",
        text.replace("[trigger]", "[trigger"): "not valid TOML",
        text.replace("mmi = 6\n", "", 1): "missing key 'trigger.mmi'",
    }
    for bad, message in cases.items():
        assert bad != text, message
        with pytest.raises(PolicyError, match=message.replace(".", r"\.")) as info:
            parse_policy(bad, "ops.toml")
        assert str(info.value).startswith("ops.toml")
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(path=tmp_path / "missing.toml")
