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
    partner_memory_limit = "256MB"   # DuckDB memory limit of each partner's database (below worker_memory)
    audit_flush_s = 10.0         # partner query audit rows are written to the lake in batches
    reviewers = ["bridrrem-review"]  # partner names holding the reviewer role (web page sign-off)
    audit_sql_chars = 2000       # SQL text kept per audit row (longer: cut; the sha256 of the whole text is kept)
    audit_retention_days = 90.0  # audit rows older than this are deleted (at most once an hour); 0 keeps all
    query_workers = 3            # pre-started worker processes running partner SQL (0: in-process, tests only)
    worker_memory = "512MB"      # RLIMIT_DATA of each worker (RLIMIT_AS: 4 GiB more); a query past it gets 413
    worker_threads = 1           # DuckDB threads per worker (CPU time is bounded per worker: timeout_s x threads)
    max_answer_bytes = 67108864  # encoded answer larger than this: 413 (ask for fewer rows or columns)
    max_body_bytes = 262144      # request bodies larger than this: 413 before anything is read or parsed
    queue_wait_s = 2.0           # wait at most this long for a free worker / partner slot, then 503 / 429
    partner_concurrency = 1      # queries of one partner running at once (more wait queue_wait_s, then 429)
    partner_rate_per_s = 20.0    # sustained requests/s per partner on /v1 (token bucket), 0: unlimited
    partner_burst = 40           # requests at once per partner before the rate applies
    auth_max_failures = 20       # failed token checks per client address or token id in auth_window_s: 429
    auth_window_s = 60.0
    public_base_url = ""         # e.g. "https://quakes.example.org": absolute links use it; empty: relative links

Defaults fall back to the general ``query_row_limit`` / ``query_timeout_s`` settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from expedition.settings import Settings, SettingsError
from warehouse.limits import parse_bytes

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
    partner_memory_limit: str = "256MB"
    audit_flush_s: float = 10.0
    reviewers: tuple[str, ...] = ()
    audit_sql_chars: int = 2000
    audit_retention_days: float = 90.0
    query_workers: int = 3
    worker_memory: str = "512MB"
    worker_threads: int = 1
    max_answer_bytes: int = 64 * 1024 * 1024
    max_body_bytes: int = 256 * 1024
    queue_wait_s: float = 2.0
    partner_concurrency: int = 1
    partner_rate_per_s: float = 20.0
    partner_burst: int = 40
    auth_max_failures: int = 20
    auth_window_s: float = 60.0
    public_base_url: str = ""

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
        if (cfg.row_limit < 1 or cfg.timeout_s <= 0 or cfg.max_sql_chars < 1 or cfg.fdsn_max_events < 1
                or cfg.max_answer_bytes < 1 or cfg.max_body_bytes < 1 or cfg.worker_threads < 1
                or cfg.query_workers < 0 or cfg.queue_wait_s < 0 or cfg.audit_sql_chars < 1):
            raise SettingsError(f"{settings.config_file}: [api] limits must be positive")
        try:
            parse_bytes(cfg.worker_memory)
        except ValueError as exc:
            raise SettingsError(f"{settings.config_file}: [api] worker_memory: {exc}") from exc
        if cfg.public_base_url and not cfg.public_base_url.startswith(("http://", "https://")):
            raise SettingsError(f"{settings.config_file}: [api] public_base_url must start with http:// or https://")
        return cfg

    def link(self, path: str) -> str:
        """A link to ``path`` of this service: under ``public_base_url`` when set, else relative.

        Never built from the request's ``Host`` header, which the client chooses."""
        return self.public_base_url.rstrip("/") + path if self.public_base_url else path

    @property
    def worker_memory_bytes(self) -> int:
        """``worker_memory`` in bytes."""
        return parse_bytes(self.worker_memory)


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
