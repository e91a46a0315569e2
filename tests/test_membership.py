"""Dated alliance membership: the shipped approximation, judging at an event's time, overrides, bad files."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from expedition.decisions.membership import load_membership, parse_membership
from expedition.errors import PolicyError
from expedition.settings import load_settings

FOUNDED = date(2023, 11, 16)  # 2023 Joint Statement, founding of BRIDRREM (science.md section 7)
COUNCIL_2025 = date(2025, 11, 6)  # Council in Sanya admitting seven states


def test_shipped_file_is_marked_as_an_approximation() -> None:
    members = load_membership()
    assert members.is_approximation
    text = (Path(__file__).resolve().parents[1] / "expedition" / "data" / "alliance_membership_APPROXIMATION.csv").read_text()
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any("APPROXIMATION" in line for line in header)
    assert any("Secretariat" in line for line in header)
    assert len(members.sha256) == 64


def test_shipped_dates_follow_the_documented_rules(shared_data: Path) -> None:
    """Every row of the staged approximation gets the date its status implies (science.md section 7)."""
    members = load_membership()
    with (shared_data / "alliance" / "bridrrem_countries_APPROXIMATION.csv").open(encoding="utf-8") as fh:
        source = list(csv.DictReader(fh))
    assert {r["iso_a3"] for r in source} == members.known()
    for r in source:
        iso3 = r["iso_a3"]
        if r["admitted_2025_council"] == "1":
            first = COUNCIL_2025
        elif r["signed_2023_joint_statement"] == "1":
            first = FOUNDED
        else:  # 2021 Beijing Declaration only: unverified, not treated as members
            assert not members.is_member(iso3, date(2099, 1, 1)), iso3
            continue
        assert members.member_since(iso3, date(2030, 1, 1)) == first, iso3
        assert not members.is_member(iso3, date.fromordinal(first.toordinal() - 1)), iso3
    # the seven admitted in 2025 (science.md) are all there, Comoros included despite signing in 2023
    for iso3 in ("TON", "ZWE", "GEO", "MWI", "GMB", "COM", "HND"):
        assert members.member_since(iso3, COUNCIL_2025) == COUNCIL_2025


def test_membership_is_judged_at_the_event_time() -> None:
    members = load_membership()
    herat = datetime(2023, 10, 7, 6, 41, tzinfo=UTC)
    assert not members.is_member("AFG", herat)
    assert members.is_member("AFG", datetime(2023, 11, 16, 0, 0, tzinfo=UTC))
    assert members.describe("AFG", herat) == "Afghanistan was not yet a member on 2023-10-07 (member from 2023-11-16)"
    assert members.describe("CHN", date(2024, 1, 22)) == "China (member since 2023-11-16)"
    assert "not a member under the shipped APPROXIMATE membership list" in members.describe("TUR", date(2023, 2, 6), "Türkiye")
    assert "not a member" in members.describe("RUS", date(2024, 1, 1)) and "2021" in members.describe("RUS", date(2024, 1, 1))
    # a naive datetime is taken as UTC; 23:30 UTC the day before admission is not yet a member
    assert not members.is_member("COM", datetime(2025, 11, 5, 23, 30))
    assert "CHN" in members.members_at(date(2024, 1, 1)) and "COM" not in members.members_at(date(2024, 1, 1))


def test_operator_file_overrides_with_periods(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "members.csv").write_text(
        "# the Secretariat's list\n"
        "iso_a2,iso_a3,name,member_from,member_to,note\n"
        "AF,AFG,Afghanistan,2022-01-01,2023-12-31,left\n"
        "AF,AFG,Afghanistan,2025-01-01,,rejoined\n",
        encoding="utf-8",
    )
    (home / "qe.toml").write_text('[membership]\nfile = "members.csv"\n', encoding="utf-8")
    members = load_membership(load_settings(home))
    assert not members.is_approximation
    assert members.is_member("AFG", date(2023, 12, 31)) and not members.is_member("AFG", date(2024, 6, 1))
    assert members.describe("AFG", date(2024, 6, 1)) == "Afghanistan was not yet a member on 2024-06-01 (member from 2025-01-01)"
    assert not members.is_member("CHN", date(2024, 1, 1))
    monkeypatch.setenv("QE_MEMBERSHIP_FILE", str(tmp_path / "absent.csv"))
    with pytest.raises(PolicyError, match="absent.csv does not exist"):
        load_membership(load_settings(home))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("AF,AFGX,Afghanistan,2023-11-16,,x", "line 3, column 'iso_a3': expected an ISO 3166 alpha-3"),
        ("AF,AFG,Afghanistan,16/11/2023,,x", "line 3, column 'member_from': expected a date YYYY-MM-DD, got '16/11/2023'"),
        ("AF,AFG,Afghanistan,2024-01-01,2023-01-01,x", "line 3, column 'member_to'"),
        ("AF,AFG,Afghanistan,2023-11-16,,x\nAF,AFG,Afghanistan,2024-01-01,,y", "periods of AFG overlap"),
        ("AF,AFG,Afghanistan,2023-11-16", "line 3: expected 6 fields, got 4"),
    ],
)
def test_bad_membership_files_name_line_and_column(body: str, message: str) -> None:
    text = "# comment\niso_a2,iso_a3,name,member_from,member_to,note\n" + body + "\n"
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        parse_membership(text, "members.csv")
    assert str(info.value).startswith("members.csv")


def test_missing_columns_are_named() -> None:
    with pytest.raises(PolicyError, match="missing column"):
        parse_membership("iso_a3,name\nAFG,Afghanistan\n", "m.csv")
