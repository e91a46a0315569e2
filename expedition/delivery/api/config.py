"""Settings of the partner service: the ``[api]`` section of ``qe.toml``.

Every key is optional::

    [api]
    row_limit = 100000           # rows per SQL/named query answer (more rows: truncated, header says so)
    timeout_s = 30.0             # time limit per query; the query is interrupted (con.interrupt)
    max_sql_chars = 20000        # longer SQL texts are refused (413)
    refresh_s = 2.0              # how often the service looks for a new lake snapshot
    fdsn_requires_token = false  # the FDSN event service is public catalog data: open by default
    fdsn_max_events = 20000      # larger FDSN answers are refused with 413 (ask with limit/offset)
    visible_statuses = ["approved", "deployed", "reporting", "closed"]
    partner_memory_limit = "512MB"   # DuckDB memory limit of each partner's in-memory database
    audit_flush_s = 10.0         # partner query audit rows are written to the lake in batches
    reviewers = ["bridrrem-review"]  # partner names holding the reviewer role (web page sign-off)

Defaults fall back to the general ``query_row_limit`` / ``query_timeout_s`` settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from expedition.settings import Settings, SettingsError

DEFAULT_VISIBLE_STATUSES = ("approved", "deployed", "reporting", "closed")


@dataclass(frozen=True)
class ApiConfig:
    row_limit: int = 100_000
    timeout_s: float = 30.0
    max_sql_chars: int = 20_000
    refresh_s: float = 2.0
    fdsn_requires_token: bool = False
    fdsn_max_events: int = 20_000
    visible_statuses: tuple[str, ...] = DEFAULT_VISIBLE_STATUSES
    partner_memory_limit: str = "512MB"
    audit_flush_s: float = 10.0
    reviewers: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiConfig:
        raw: Any = settings.extra.get("api", {})
        if not isinstance(raw, Mapping):
            raise SettingsError(f"{settings.config_file}: [api] must be a table")
        values: dict[str, Any] = {"row_limit": settings.query_row_limit, "timeout_s": settings.query_timeout_s}
        known = {f.name: f for f in fields(cls)}
        for key, val in raw.items():
            if key not in known:
                raise SettingsError(f"{settings.config_file}: [api] has an unknown key {key!r}; known: {sorted(known)}")
            values[key] = _coerce(key, val, str(known[key].type), settings)
        cfg = cls(**values)
        if cfg.row_limit < 1 or cfg.timeout_s <= 0 or cfg.max_sql_chars < 1 or cfg.fdsn_max_events < 1:
            raise SettingsError(f"{settings.config_file}: [api] limits must be positive")
        return cfg


def _coerce(key: str, val: Any, typ: str, settings: Settings) -> Any:
    try:
        if typ.startswith("bool"):
            if isinstance(val, bool):
                return val
            raise TypeError(val)
        if typ.startswith("int"):
            return int(val)
        if typ.startswith("float"):
            return float(val)
        if typ.startswith("tuple"):
            if isinstance(val, str) or not all(isinstance(v, str) for v in val):
                raise TypeError(val)
            return tuple(v.strip().lower() for v in val)
        return str(val)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{settings.config_file}: [api] {key} must be {typ}, got {val!r}") from exc
