"""The partner registry: alliance partners, their API tokens and survey publications.

A partner is an organisation of the alliance that reads data through the HTTP service
(:mod:`expedition.delivery.api`). Its scope is stored with it (table ``partners``):

* the member countries whose expeditions (and briefs and surveys) it sees (ISO 3166 alpha-3);
* further expeditions it sees by id;
* its survey embargo in days: a survey row becomes visible ``embargo_days`` after it was
  ingested, or at once when the expedition lead publishes the expedition's surveys
  (:func:`publish_surveys`, table ``survey_publications``).

Tokens look like ``qe_<token_id>_<secret>``: ``token_id`` is 8 random bytes (hex), public, and
finds the row; ``secret`` is 32 random bytes (256 bits, ``secrets.token_urlsafe``). Only
``sha256(secret)`` is stored. A slow password hash (scrypt, PBKDF2) protects *low-entropy*
secrets chosen by people against guessing; a 256-bit random secret cannot be guessed, so a
stolen table of SHA-256 digests gives nothing, and checking a token costs microseconds instead
of the ~50-100 ms of CPU a KDF would add to every request of a 200-client service. Digests are
compared with :func:`hmac.compare_digest`. The token is printed once and never stored.

Usage::

    issued = add_partner(lake, "ineter", countries=["NIC"], embargo_days=30)
    print(issued.token)                   # give it to the partner; it is not kept
    revoke_partner(lake, "ineter")        # every token of the partner stops working
    publish_surveys(lake, "EXP-2024-CHN-001", by="Lead Name")
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from expedition.errors import ExpeditionError, NotFound
from warehouse import sqlfiles
from warehouse.tables import spec as table_spec

if TYPE_CHECKING:
    from warehouse.lake import Lake, LakeWriter

log = logging.getLogger(__name__)

__all__ = [
    "IssuedToken",
    "Partner",
    "PartnerError",
    "Publication",
    "TokenRegistry",
    "add_partner",
    "add_partner_in",
    "issue_token",
    "list_partners",
    "parse_token",
    "publish_surveys",
    "revoke_partner",
    "revoke_partner_in",
    "rotate_token",
    "secret_sha256",
]

TOKEN_PREFIX = "qe"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,62}$")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_EXPEDITION = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,63}$")
_TOKEN = re.compile(r"^qe_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
MAX_EMBARGO_DAYS = 3650


class PartnerError(ExpeditionError):
    """A partner command cannot be carried out (bad name, scope, unknown or revoked partner)."""


@dataclass(frozen=True)
class Partner:
    """A partner and its scope (one row of ``partners``)."""

    name: str
    countries: tuple[str, ...]
    expedition_ids: tuple[str, ...]
    embargo_days: int
    created_utc: datetime
    revoked_utc: datetime | None = None
    note: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_utc is None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Partner:
        return cls(
            name=row["partner_name"],
            countries=tuple(row.get("partner_country_iso3_list") or ()),
            expedition_ids=tuple(row.get("partner_expedition_id_list") or ()),
            embargo_days=int(row["partner_embargo_days"]),
            created_utc=row["partner_created_utc"],
            revoked_utc=row.get("partner_revoked_utc"),
            note=row.get("partner_note"),
        )

    def to_row(self) -> dict[str, Any]:
        return {
            "partner_name": self.name,
            "partner_country_iso3_list": list(self.countries),
            "partner_expedition_id_list": list(self.expedition_ids),
            "partner_embargo_days": self.embargo_days,
            "partner_created_utc": self.created_utc,
            "partner_revoked_utc": self.revoked_utc,
            "partner_note": self.note,
        }


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token: ``token`` is shown once and is not stored anywhere."""

    partner: Partner
    token_id: str
    token: str


@dataclass(frozen=True)
class Publication:
    expedition_id: str
    published_utc: datetime
    published_by: str
    note: str | None
    newly_published: bool


# -- tokens ----------------------------------------------------------------------------------------
def secret_sha256(secret: str) -> str:
    """Hex SHA-256 of a token secret (what ``partner_tokens`` stores)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token() -> tuple[str, str, str]:
    """A new ``(token_id, token, sha256 of its secret)``; the secret has 256 random bits."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return token_id, f"{TOKEN_PREFIX}_{token_id}_{secret}", secret_sha256(secret)


def parse_token(token: str) -> tuple[str, str] | None:
    """``(token_id, secret)`` of a well-formed token, else ``None``."""
    m = _TOKEN.match(token.strip())
    return (m.group(1), m.group(2)) if m else None


class TokenRegistry:
    """Partners and token digests at one lake snapshot; answers "who holds this token?"."""

    def __init__(self, partners: pa.Table, tokens: pa.Table) -> None:
        self.partners: dict[str, Partner] = {
            r["partner_name"]: Partner.from_row(r) for r in partners.to_pylist()
        }
        self._tokens: dict[str, tuple[str, str]] = {
            r["token_id"]: (r["partner_name"], r["token_sha256"])
            for r in tokens.to_pylist()
            if r["token_revoked_utc"] is None
        }

    def authenticate(self, token: str) -> Partner | None:
        """The active partner holding ``token``, or ``None`` (unknown, revoked or malformed)."""
        parsed = parse_token(token)
        if parsed is None:
            return None
        token_id, secret = parsed
        entry = self._tokens.get(token_id)
        if entry is None:
            return None
        name, digest = entry
        if not hmac.compare_digest(digest, secret_sha256(secret)):
            return None
        partner = self.partners.get(name)
        return partner if partner is not None and partner.active else None


# -- validation ------------------------------------------------------------------------------------
def _check_name(name: str) -> str:
    clean = name.strip()
    if not _NAME.match(clean):
        raise PartnerError(
            f"partner name {name!r} is not valid: use 2-63 lower-case letters, digits, '.', '_' or '-' "
            "(e.g. 'ineter' or 'csn-chile')"
        )
    return clean


def _check_countries(countries: Iterable[str]) -> tuple[str, ...]:
    out = []
    for c in countries:
        code = c.strip().upper()
        if not code:
            continue
        if not _ISO3.match(code):
            raise PartnerError(f"country {c!r} is not an ISO 3166 alpha-3 code (e.g. NPL, CHN, PAK)")
        out.append(code)
    return tuple(sorted(set(out)))


def _check_expeditions(ids: Iterable[str]) -> tuple[str, ...]:
    out = []
    for e in ids:
        eid = e.strip()
        if not eid:
            continue
        if not _EXPEDITION.match(eid):
            raise PartnerError(f"expedition id {e!r} is not valid (expected e.g. EXP-2024-CHN-001)")
        out.append(eid)
    return tuple(sorted(set(out)))


def _check_scope(
    name: str, countries: Iterable[str], expedition_ids: Iterable[str], embargo_days: int
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    clean = _check_name(name)
    ctry = _check_countries(countries)
    exps = _check_expeditions(expedition_ids)
    if not 0 <= embargo_days <= MAX_EMBARGO_DAYS:
        raise PartnerError(f"embargo days must be between 0 and {MAX_EMBARGO_DAYS}, got {embargo_days}")
    return clean, ctry, exps


def _rows(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    try:
        return con.execute(sqlfiles.query(name).sql, params).to_arrow_table().to_pylist()
    except duckdb.Error as exc:
        raise PartnerError(f"reading the partner registry failed ({name}): {exc}") from exc


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=table_spec(name).schema)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _token_row(token_id: str, name: str, digest: str, now: datetime) -> dict[str, Any]:
    return {
        "token_id": token_id,
        "partner_name": name,
        "token_sha256": digest,
        "token_created_utc": now,
        "token_revoked_utc": None,
    }


# -- registry commands -----------------------------------------------------------------------------
def add_partner(
    lake: Lake,
    name: str,
    countries: Iterable[str] = (),
    expedition_ids: Iterable[str] = (),
    embargo_days: int = 30,
    note: str | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """Register a partner and issue its first token (one lake transaction).

    Raises :class:`PartnerError` when the name is taken (also by a revoked partner: names are
    never reused, so audit rows stay unambiguous) or the scope is invalid."""
    _check_scope(name, countries, expedition_ids, embargo_days)  # before taking the writer lock
    # run again from the start after a write conflict (PostgreSQL catalog): it re-reads the names taken
    issued = lake.run_writer(lambda w: add_partner_in(w, name, countries, expedition_ids, embargo_days, note, now),
                             what=f"add partner {name}")
    log.info("partner %s added (countries %s, expeditions %s)", issued.partner.name,
             issued.partner.countries, issued.partner.expedition_ids)
    return issued


def add_partner_in(
    w: LakeWriter,
    name: str,
    countries: Iterable[str] = (),
    expedition_ids: Iterable[str] = (),
    embargo_days: int = 30,
    note: str | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """:func:`add_partner` inside the caller's lake transaction ``w``."""
    clean, ctry, exps = _check_scope(name, countries, expedition_ids, embargo_days)
    if not ctry and not exps:
        log.info("partner %s sees the public catalog only (no countries, no expeditions)", clean)
    ts = _now(now)
    partner = Partner(clean, ctry, exps, int(embargo_days), ts, None, note)
    token_id, token, digest = issue_token()
    existing = _rows(w.con, "partner_by_name", partner_name=clean)
    if existing:
        old = Partner.from_row(existing[0])
        state = f"revoked on {old.revoked_utc:%Y-%m-%d}" if old.revoked_utc else "active"
        raise PartnerError(
            f"partner {clean!r} already exists ({state}); names are not reused — "
            f"use `expedition partners rotate {clean}` for a new token or pick another name"
        )
    w.write("partners", _table("partners", [partner.to_row()]), mode="insert_new")
    w.write("partner_tokens", _table("partner_tokens", [_token_row(token_id, clean, digest, ts)]), mode="insert_new")
    w.set_commit_message("partners", f"add partner {clean}")
    return IssuedToken(partner, token_id, token)


def _active_partner(con: duckdb.DuckDBPyConnection, name: str) -> Partner:
    rows = _rows(con, "partner_by_name", partner_name=name)
    if not rows:
        raise PartnerError(f"no partner {name!r} (see `expedition partners list`)")
    partner = Partner.from_row(rows[0])
    if not partner.active:
        raise PartnerError(f"partner {name!r} was revoked on {partner.revoked_utc:%Y-%m-%d %H:%M} UTC")
    return partner


def _revoke_tokens(con: duckdb.DuckDBPyConnection, name: str, ts: datetime) -> pa.Table:
    rows = _rows(con, "partner_active_tokens", partner_name=name)
    for r in rows:
        r["token_revoked_utc"] = ts
    return _table("partner_tokens", rows)


def rotate_token(lake: Lake, name: str, now: datetime | None = None) -> IssuedToken:
    """Revoke the partner's current tokens and issue a new one (one transaction)."""
    clean = _check_name(name)
    ts = _now(now)
    token_id, token, digest = issue_token()

    def rotate(w: LakeWriter) -> Partner:  # run again from the start after a write conflict
        partner = _active_partner(w.con, clean)
        old = _revoke_tokens(w.con, clean, ts)
        if old.num_rows:
            w.write("partner_tokens", old, mode="upsert")
        w.write("partner_tokens", _table("partner_tokens", [_token_row(token_id, clean, digest, ts)]), mode="insert_new")
        w.set_commit_message("partners", f"rotate token of {clean}")
        return partner

    return IssuedToken(lake.run_writer(rotate, what=f"rotate token of {clean}"), token_id, token)


def revoke_partner(lake: Lake, name: str, now: datetime | None = None) -> Partner:
    """Revoke a partner and every token it holds (its requests get 401 from then on)."""
    revoked = lake.run_writer(lambda w: revoke_partner_in(w, name, now), what=f"revoke partner {name}")
    log.info("partner %s revoked", revoked.name)
    return revoked


def revoke_partner_in(w: LakeWriter, name: str, now: datetime | None = None) -> Partner:
    """:func:`revoke_partner` inside the caller's lake transaction ``w``."""
    clean = _check_name(name)
    ts = _now(now)
    partner = _active_partner(w.con, clean)
    revoked = replace(partner, revoked_utc=ts)
    w.write("partners", _table("partners", [revoked.to_row()]), mode="upsert")
    old = _revoke_tokens(w.con, clean, ts)
    if old.num_rows:
        w.write("partner_tokens", old, mode="upsert")
    w.set_commit_message("partners", f"revoke partner {clean}")
    return revoked


def list_partners(lake: Lake) -> list[tuple[Partner, int]]:
    """Every partner (revoked ones too) with its number of active tokens, by name."""
    con = lake.connect(read_only=True)
    try:
        rows = _rows(con, "partner_overview")
    finally:
        con.close()
    return [(Partner.from_row(r), int(r["active_token_count"])) for r in rows]


def publish_surveys(
    lake: Lake, expedition_id: str, by: str, note: str | None = None, now: datetime | None = None
) -> Publication:
    """Release an expedition's survey data to every partner that sees the expedition, before the
    embargo ends. Idempotent: publishing again keeps the first publication."""
    from expedition.decisions.records import current_in

    eid = expedition_id.strip()
    who = by.strip()
    if not who:
        raise PartnerError("--by needs the name of the person publishing (the expedition lead)")
    ts = _now(now)

    def publish(w: LakeWriter) -> Publication:  # run again from the start after a write conflict
        if current_in(w.con, eid) is None:
            raise NotFound(f"no expedition {eid!r} (see `expedition list`)")
        rows = _rows(w.con, "survey_publication_of", expedition_id=eid)
        if rows:
            r = rows[0]
            return Publication(eid, r["published_utc"], r["published_by"], r["publication_note"], False)
        row = {"expedition_id": eid, "published_utc": ts, "published_by": who, "publication_note": note}
        w.write("survey_publications", _table("survey_publications", [row]), mode="insert_new")
        w.set_commit_message(who, f"publish surveys of {eid}")
        return Publication(eid, ts, who, note, True)

    pub = lake.run_writer(publish, what=f"publish surveys of {eid}")
    if pub.newly_published:
        log.info("surveys of %s published by %s", eid, who)
    return pub
