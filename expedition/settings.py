"""One typed settings object for Quake Expedition.

Resolution order (later wins): built-in defaults, ``<home>/qe.toml``, ``QE_*``
environment variables, explicit keyword overrides (for example the ``--home``
command-line option).

The data root ("home") defaults to ``$QE_HOME`` or, when unset,
``$XDG_DATA_HOME/quake-expedition`` (``~/.local/share/quake-expedition``).
Nothing is read or created at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalogs.provider import Provider
from warehouse.backend import S3Options
from warehouse.concurrency import RetryPolicy
from warehouse.config import LakeConfig

__all__ = ["NotifyChannel", "Provider", "Settings", "SettingsError", "default_home", "load_settings"]


class SettingsError(ValueError):
    """A configuration value (file, environment or option) is invalid."""


@dataclass(frozen=True)
class NotifyChannel:
    """Where people are told about expedition decisions (``[[notify]]`` in ``qe.toml``, or the
    ``QE_NOTIFY`` environment variable holding a JSON list of the same tables).

    ``kind``: ``webhook`` (JSON POST), ``chat`` (Slack/Mattermost-style incoming webhook: ``{"text": ...}``)
    or ``email`` (SMTP). Filters: ``countries`` (ISO3; any of the decision's countries; empty: all),
    ``min_alert`` (green < yellow < orange < red; unset: all) and ``decisions`` (which kinds). An SMTP
    password may come from ``QE_NOTIFY_<NAME>_PASSWORD`` (name upper-cased, other characters as ``_``).
    """

    name: str
    kind: str
    url: str | None = None
    to: tuple[str, ...] = ()
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    from_addr: str = "quake-expedition@localhost"
    countries: tuple[str, ...] = ()
    min_alert: str | None = None
    decisions: tuple[str, ...] = ("opened", "manual_open", "updated", "flagged_for_review")
    enabled: bool = True


DEFAULT_PROVIDERS: tuple[Provider, ...] = (
    Provider("USGS", priority=10, supports_updatedafter=True),
    Provider("EMSC", priority=20, supports_updatedafter=True),
    Provider("GFZ", priority=30, supports_updatedafter=False),
    Provider("ISC", priority=40, supports_updatedafter=False, max_events_per_request=10_000),
)


def default_home() -> Path:
    """The data root used when neither ``--home`` nor ``QE_HOME`` is given."""
    env = os.environ.get("QE_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "quake-expedition"


@dataclass(frozen=True)
class Settings:
    """Every knob of Quake Expedition, with its default.

    Paths that are ``None`` are derived from ``home`` (see the properties).
    """

    home: Path
    # Lake: catalog URL for DuckLake and the directory holding its Parquet files.
    lake_catalog: str | None = None
    lake_data_path: str | None = None
    # S3-compatible storage for an ``s3://`` data path (unset: the AWS_* environment variables)
    lake_s3_endpoint: str | None = None  # host:port of a non-AWS server (MinIO, Ceph, moto)
    lake_s3_region: str | None = None
    lake_s3_access_key_id: str | None = None
    lake_s3_secret_access_key: str | None = None
    lake_s3_session_token: str | None = None
    lake_s3_url_style: str | None = None  # "path" for most non-AWS servers
    lake_s3_use_ssl: bool = True
    writer_wait_s: float = 30.0
    # Concurrent writers on a PostgreSQL catalog: attempts of one transaction, jittered backoff
    writer_max_attempts: int = 8
    writer_retry_base_s: float = 0.05
    writer_retry_cap_s: float = 2.0
    # Large appends (survey files) write Parquet with pyarrow and register it (warehouse.bulk)
    bulk_append: bool = True
    query_row_limit: int = 100_000
    query_timeout_s: float = 30.0
    # `expedition query` bounds its own process (warehouse.limits): RLIMIT_DATA, and CPU = timeout x 4
    query_memory_limit: str = "4GB"
    # True: DuckDB checks each extension's signature at every load (about 0.2 s of CPU per extension
    # and process); False: the binaries of the installed wheels are trusted like the rest of the
    # Python environment (see warehouse.extensions)
    duckdb_extension_signatures: bool = False
    # Catalog pulls
    providers: tuple[Provider, ...] = DEFAULT_PROVIDERS
    user_agent: str = "QuakeExpedition/0.1 (+https://github.com/quake-expedition; BRIDRREM expeditions)"
    overlap_days: float = 2.0
    association_dt_s: float = 16.0
    association_distance_km: float = 100.0
    association_dmag: float = 0.5
    # Response
    policy_file: Path | None = None
    membership_file: Path | None = None
    watch_interval_s: int = 300
    # Impact: gridded population (QE_POPULATION_RASTER, GeoTIFF or ASCII grid) and site model (Vs30)
    population_raster: Path | None = None
    vs30_raster: Path | None = None
    vs30_default_mps: float = 300.0
    # Flows and scale-out
    dask_address: str | None = None
    dask_workers: int = 2
    # Notifications to people (expedition.delivery.notify): channels, the briefs' public address, retries
    notify_channels: tuple[NotifyChannel, ...] = ()
    brief_base_url: str | None = None  # e.g. https://qe.example.org/briefs -> <url>/<expedition>/
    notify_attempts: int = 4
    notify_retry_base_s: float = 0.5
    notify_timeout_s: float = 10.0
    # Process: Arrow's memory pool (see expedition.process; applied by the CLI, flows and API)
    arrow_memory_pool: str = "auto"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def catalog_url(self) -> str:
        """DuckLake catalog (``ducklake:`` prefix omitted): SQLite by default."""
        return self.lake_catalog or f"sqlite:{self.lake_dir / 'catalog.sqlite'}"

    @property
    def data_path(self) -> str:
        return self.lake_data_path or str(self.lake_dir / "data") + os.sep

    def lake_config(self) -> LakeConfig:
        """The warehouse's configuration of this lake (``warehouse.lake.Lake.from_settings`` calls it)."""
        s3 = S3Options(
            endpoint=self.lake_s3_endpoint, region=self.lake_s3_region, access_key_id=self.lake_s3_access_key_id,
            secret_access_key=self.lake_s3_secret_access_key, session_token=self.lake_s3_session_token,
            url_style=self.lake_s3_url_style, use_ssl=self.lake_s3_use_ssl,
        )
        retry = RetryPolicy(self.writer_max_attempts, self.writer_retry_base_s, self.writer_retry_cap_s)
        return LakeConfig(home=self.home, catalog_url=self.catalog_url, data_path=self.data_path,
                          writer_wait_s=self.writer_wait_s, bulk_append=self.bulk_append, s3=s3, retry=retry,
                          verify_extension_signatures=self.duckdb_extension_signatures)

    @property
    def raw_dir(self) -> Path:
        """Archive of every raw input file, by content hash."""
        return self.home / "raw"

    @property
    def briefs_dir(self) -> Path:
        return self.home / "briefs"

    @property
    def config_file(self) -> Path:
        return self.home / "qe.toml"


_SIMPLE_FIELDS = {
    f.name: f for f in dataclasses.fields(Settings) if f.name not in {"home", "providers", "extra", "notify_channels"}
}


def _coerce(name: str, value: Any, origin: str) -> Any:
    f = _SIMPLE_FIELDS[name]
    typ = str(f.type)
    try:
        if value is None:
            return None
        if typ.startswith("bool"):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if "Path" in typ:
            return Path(str(value)).expanduser()
        if typ.startswith("float"):
            return float(value)
        if typ.startswith("int"):
            return int(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{origin}: {name} must be {typ}, got {value!r}") from exc


def _providers_from(raw: Any, origin: str) -> tuple[Provider, ...]:
    if not isinstance(raw, list):
        raise SettingsError(f"{origin}: [[providers]] must be a list of tables")
    out = []
    known = {f.name for f in dataclasses.fields(Provider)}
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "name" not in item:
            raise SettingsError(f"{origin}: providers[{i}] needs at least a name")
        unknown = set(item) - known
        if unknown:
            raise SettingsError(f"{origin}: providers[{i}] has unknown keys {sorted(unknown)}")
        out.append(Provider(**item))
    return tuple(out)


def _channels_from(raw: Any, origin: str) -> tuple[NotifyChannel, ...]:
    if not isinstance(raw, list):
        raise SettingsError(f"{origin}: notify must be a list of tables ([[notify]])")
    known = {f.name for f in dataclasses.fields(NotifyChannel)}
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "name" not in item or "kind" not in item:
            raise SettingsError(f"{origin}: notify[{i}] needs at least a name and a kind")
        unknown = set(item) - known
        if unknown:
            raise SettingsError(f"{origin}: notify[{i}] has unknown keys {sorted(unknown)}")
        if item["kind"] not in ("webhook", "chat", "email"):
            raise SettingsError(f"{origin}: notify[{i}].kind must be webhook, chat or email, not {item['kind']!r}")
        if item.get("min_alert") not in (None, "green", "yellow", "orange", "red"):
            raise SettingsError(f"{origin}: notify[{i}].min_alert must be green, yellow, orange or red")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}
        if values["kind"] == "email" and not values.get("smtp_password"):
            env_name = "".join(c if c.isalnum() else "_" for c in str(values["name"])).upper()
            values["smtp_password"] = os.environ.get(f"QE_NOTIFY_{env_name}_PASSWORD") or None
        out.append(NotifyChannel(**values))
    if len({c.name for c in out}) != len(out):
        raise SettingsError(f"{origin}: notify channel names must be unique")
    return tuple(out)


def load_settings(home: Path | str | None = None, **overrides: Any) -> Settings:  # noqa: C901  # one step per source
    """Build the settings: defaults < ``qe.toml`` < ``QE_*`` environment < ``overrides``."""
    # absolute: the lake's catalog stores its data path, and `--home qe` must mean the same lake
    # from every working directory
    root = (Path(home).expanduser() if home is not None else default_home()).absolute()
    values: dict[str, Any] = {}
    providers: tuple[Provider, ...] = DEFAULT_PROVIDERS
    channels: tuple[NotifyChannel, ...] = ()
    extra: dict[str, Any] = {}
    cfg = root / "qe.toml"
    if cfg.is_file():
        try:
            data = tomllib.loads(cfg.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{cfg}: not valid TOML: {exc}") from exc
        for key, val in data.items():
            if key in _SIMPLE_FIELDS:
                values[key] = _coerce(key, val, str(cfg))
            elif key == "providers":
                providers = _providers_from(val, str(cfg))
            elif key == "notify":
                channels = _channels_from(val, str(cfg))
            else:
                extra[key] = val  # sections owned by other modules (membership, policy, ...)
    for key in _SIMPLE_FIELDS:
        env = os.environ.get(f"QE_{key.upper()}")
        if env is not None and env != "":
            values[key] = _coerce(key, env, f"environment QE_{key.upper()}")
    if os.environ.get("QE_NOTIFY"):
        try:
            channels = _channels_from(json.loads(os.environ["QE_NOTIFY"]), "environment QE_NOTIFY")
        except json.JSONDecodeError as exc:
            raise SettingsError(f"environment QE_NOTIFY: not valid JSON: {exc}") from exc
    for key, val in overrides.items():
        if key == "providers":
            providers = tuple(val)
        elif key == "notify_channels":
            channels = tuple(val)
        elif key in _SIMPLE_FIELDS:
            values[key] = _coerce(key, val, "override")
        else:
            raise SettingsError(f"unknown setting {key!r}")
    return Settings(home=root, providers=providers, notify_channels=channels, extra=extra, **values)
