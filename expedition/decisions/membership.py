"""Alliance membership with dates: who was a BRIDRREM member at an event's origin time.

The list is configuration, not code: a CSV with ``iso_a2, iso_a3, name, member_from, member_to,
note`` (``#`` lines are comments). The file shipped in ``expedition/data/`` is an APPROXIMATION built
from treaty signatories (see its header and ``docs/response.md``); the operator replaces it with the
Secretariat's list through ``membership_file`` (``qe.toml``, ``QE_MEMBERSHIP_FILE``) or a
``[membership] file = "..."`` section. Relative paths are taken from the data root.

Usage::

    members = load_membership(settings)
    members.is_member("CHN", event_time)          # judged at the event's origin time
    members.describe("AFG", datetime(2023, 10, 7, tzinfo=UTC))
    # 'Afghanistan was not yet a member on 2023-10-07 (member from 2023-11-16)'
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from expedition.errors import PolicyError

if TYPE_CHECKING:
    from expedition.settings import Settings

__all__ = ["MemberPeriod", "Membership", "load_membership", "membership_path", "SHIPPED_MEMBERSHIP"]

SHIPPED_MEMBERSHIP = "alliance_membership_APPROXIMATION.csv"
COLUMNS = ("iso_a2", "iso_a3", "name", "member_from", "member_to", "note")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_ISO2 = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class MemberPeriod:
    """One row of the membership file: a country and the days it was a member (both inclusive)."""

    iso_a2: str
    iso_a3: str
    name: str
    member_from: date | None  # None: listed but not a member
    member_to: date | None  # None: still a member
    note: str

    def covers(self, day: date) -> bool:
        if self.member_from is None or day < self.member_from:
            return False
        return self.member_to is None or day <= self.member_to


@dataclass(frozen=True)
class Membership:
    """The membership list: source, content hash and dated periods."""

    source: str
    sha256: str
    periods: tuple[MemberPeriod, ...]

    @property
    def is_approximation(self) -> bool:
        return "APPROXIMATION" in Path(self.source).name.upper()

    def _of(self, iso3: str) -> list[MemberPeriod]:
        return [p for p in self.periods if p.iso_a3 == (iso3 or "").upper()]

    def is_member(self, iso3: str, at: datetime | date) -> bool:
        """True when ``iso3`` was a member on the (UTC) day of ``at``."""
        day = _day(at)
        return any(p.covers(day) for p in self._of(iso3))

    def members_at(self, at: datetime | date) -> frozenset[str]:
        day = _day(at)
        return frozenset(p.iso_a3 for p in self.periods if p.covers(day))

    def known(self) -> frozenset[str]:
        """Every ISO3 the file lists (members or not)."""
        return frozenset(p.iso_a3 for p in self.periods)

    def name(self, iso3: str) -> str:
        rows = self._of(iso3)
        return rows[0].name if rows else iso3

    def member_since(self, iso3: str, at: datetime | date) -> date | None:
        """First day of the membership period that covers ``at`` (None when not a member then)."""
        day = _day(at)
        for p in self._of(iso3):
            if p.covers(day):
                return p.member_from
        return None

    def describe(self, iso3: str, at: datetime | date, name: str | None = None) -> str:
        """Membership of ``iso3`` at ``at`` in words, for decision reasons."""
        label = name or self.name(iso3)
        day = _day(at)
        rows = self._of(iso3)
        since = self.member_since(iso3, at)
        if since is not None:
            return f"{label} (member since {since.isoformat()})"
        which = "the shipped APPROXIMATE membership list" if self.is_approximation else f"the membership list {Path(self.source).name}"
        if not rows:
            return f"{label} is not a member under {which}"
        later = sorted(p.member_from for p in rows if p.member_from and p.member_from > day)
        if later:
            return f"{label} was not yet a member on {day.isoformat()} (member from {later[0].isoformat()})"
        ended = sorted(p.member_to for p in rows if p.member_to and p.member_to < day)
        if ended:
            return f"{label} was no longer a member on {day.isoformat()} (member until {ended[-1].isoformat()})"
        return f"{label} is listed but not a member under {which} ({rows[0].note})"


def _day(at: datetime | date) -> date:
    if isinstance(at, datetime):
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()
    return at


def _parse_date(value: str, where: str, column: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PolicyError(f"{where}, column {column!r}: expected a date YYYY-MM-DD, got {value!r}") from None


def parse_membership(text: str, source: str) -> Membership:
    """Parse membership CSV text; errors name the file, row and column."""
    lines = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise PolicyError(f"{source}: no header row (expected columns {', '.join(COLUMNS)})")
    reader = csv.reader(io.StringIO("\n".join(line for _, line in lines)))
    header = [h.strip().lower() for h in next(reader)]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise PolicyError(f"{source}, line {lines[0][0]}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    periods: list[MemberPeriod] = []
    for (lineno, _), values in zip(lines[1:], reader):
        where = f"{source}, line {lineno}"
        if len(values) != len(header):
            raise PolicyError(f"{where}: expected {len(header)} fields, got {len(values)}")
        row = dict(zip(header, (v.strip() for v in values)))
        iso3, iso2 = row["iso_a3"].upper(), row["iso_a2"].upper()
        if not _ISO3.match(iso3):
            raise PolicyError(f"{where}, column 'iso_a3': expected an ISO 3166 alpha-3 code such as CHN, got {row['iso_a3']!r}")
        if iso2 and not _ISO2.match(iso2):
            raise PolicyError(f"{where}, column 'iso_a2': expected an ISO 3166 alpha-2 code such as CN, got {row['iso_a2']!r}")
        start = _parse_date(row["member_from"], where, "member_from")
        end = _parse_date(row["member_to"], where, "member_to")
        if start and end and end < start:
            raise PolicyError(f"{where}, column 'member_to': {end} is before member_from {start}")
        periods.append(MemberPeriod(iso2, iso3, row["name"] or iso3, start, end, row["note"]))
    _check_overlaps(periods, source)
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Membership(source=source, sha256=sha, periods=tuple(periods))


def _check_overlaps(periods: Iterable[MemberPeriod], source: str) -> None:
    by: dict[str, list[MemberPeriod]] = {}
    for p in periods:
        if p.member_from is not None:
            by.setdefault(p.iso_a3, []).append(p)
    for iso3, rows in by.items():
        rows.sort(key=lambda p: p.member_from or date.min)
        for a, b in zip(rows, rows[1:]):
            if a.member_to is None or (b.member_from is not None and b.member_from <= a.member_to):
                raise PolicyError(f"{source}: membership periods of {iso3} overlap ({a.member_from} and {b.member_from})")


def membership_path(settings: Settings | None = None) -> Path | None:
    """The operator's membership file from settings (None: the shipped approximation)."""
    if settings is None:
        return None
    path = settings.membership_file
    section = settings.extra.get("membership") if settings.extra else None
    if path is None and isinstance(section, dict) and section.get("file"):
        path = Path(str(section["file"])).expanduser()
    if path is None:
        return None
    return path if path.is_absolute() else settings.home / path


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> Membership:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the membership file {path}: {exc}") from exc
    return parse_membership(text, path)


def load_membership(settings: Settings | None = None, path: Path | str | None = None) -> Membership:
    """The membership list: ``path``, else the settings' file, else the shipped APPROXIMATION."""
    chosen = Path(path) if path is not None else membership_path(settings)
    if chosen is None:
        ref = resources.files("expedition") / "data" / SHIPPED_MEMBERSHIP
        return parse_membership(ref.read_text(encoding="utf-8"), f"expedition/data/{SHIPPED_MEMBERSHIP}")
    if not chosen.is_file():
        raise PolicyError(f"membership file {chosen} does not exist (membership_file / [membership] file)")
    st = chosen.stat()
    return _load_cached(str(chosen), st.st_mtime_ns, st.st_size)
