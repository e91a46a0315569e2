"""Which catalog database and which storage a lake uses, and what each needs.

A DuckLake has two parts: the *catalog* (metadata: snapshots, tables, the list of data files) and
the *data path* (the Parquet files). This module reads both from their URLs:

* catalog ``sqlite:/path/catalog.sqlite`` (default): one machine, one writer at a time (the file lock
  of :mod:`warehouse.writer`);
* catalog ``postgres:dbname=... host=... user=...`` (libpq key/value string; ``PG*`` environment
  variables such as ``PGPASSWORD`` are honoured by libpq): several writers on several machines,
  DuckLake's optimistic concurrency (:mod:`warehouse.concurrency`);
* data path: a local or shared folder (NFS, SMB), or ``s3://bucket/prefix/`` on any S3-compatible
  store, through DuckDB's ``httpfs`` extension and a DuckDB secret (:func:`s3_secret_sql`).

Every extension comes from its PyPI wheel (:mod:`warehouse.extensions`); nothing is downloaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from warehouse.sqlfiles import sql_literal

__all__ = ["Backend", "S3Options", "backend_of", "redact", "s3_secret_sql"]

_REMOTE_PREFIXES = ("s3://", "s3a://", "gs://", "gcs://", "az://", "abfss://", "http://", "https://")
# ``password=...`` in a libpq key/value string, or ``user:password@`` in a URI
_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)|(://[^:/@\s]+:)([^@\s]+)(@)", re.IGNORECASE)


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for status lines and logs)."""
    return _PASSWORD.sub(lambda m: f"{m.group(1)}***" if m.group(1) else f"{m.group(3)}***{m.group(5)}", url)


@dataclass(frozen=True)
class S3Options:
    """How to reach an S3-compatible store. Unset values fall back to the usual ``AWS_*`` environment
    variables (:meth:`with_environment`); an unset endpoint means AWS itself."""

    endpoint: str | None = None  # host[:port] of an S3-compatible server, without the scheme
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    url_style: str | None = None  # "path" (MinIO, moto, Ceph) or "vhost" (AWS)
    use_ssl: bool = True

    def with_environment(self, env: Mapping[str, str] | None = None) -> S3Options:
        """Fill unset credentials and region from ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
        ``AWS_SESSION_TOKEN``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` and ``AWS_ENDPOINT_URL``."""
        e = os.environ if env is None else env
        endpoint = self.endpoint
        use_ssl = self.use_ssl
        if endpoint is None and e.get("AWS_ENDPOINT_URL"):
            raw = e["AWS_ENDPOINT_URL"]
            use_ssl = not raw.startswith("http://")
            endpoint = raw.split("://", 1)[-1].rstrip("/")
        return S3Options(
            endpoint=endpoint,
            region=self.region or e.get("AWS_REGION") or e.get("AWS_DEFAULT_REGION"),
            access_key_id=self.access_key_id or e.get("AWS_ACCESS_KEY_ID"),
            secret_access_key=self.secret_access_key or e.get("AWS_SECRET_ACCESS_KEY"),
            session_token=self.session_token or e.get("AWS_SESSION_TOKEN"),
            url_style=self.url_style,
            use_ssl=use_ssl,
        )


@dataclass(frozen=True)
class Backend:
    """The kind of catalog and storage of one lake."""

    catalog_kind: str  # "sqlite", "postgres", "duckdb" or "mysql"
    storage_kind: str  # "local" or "s3" (or another remote scheme, unsupported offline)
    catalog_url: str
    data_path: str

    @property
    def concurrent_writers(self) -> bool:
        """True when writers on several machines commit at once (optimistic concurrency), False when
        the lake keeps one writer at a time under a file lock."""
        return self.catalog_kind in ("postgres", "mysql")

    @property
    def is_remote_storage(self) -> bool:
        return self.storage_kind != "local"

    @property
    def extensions(self) -> tuple[str, ...]:
        """The DuckDB extensions (wheel names) a connection to this lake loads, in load order."""
        names = ["ducklake"]
        if self.catalog_kind == "sqlite":
            names.insert(0, "sqlite")
        elif self.catalog_kind == "postgres":
            names.insert(0, "postgres")
        elif self.catalog_kind == "mysql":
            names.insert(0, "mysql")
        if self.storage_kind != "local":
            names.insert(0, "httpfs")
        return tuple(names)

    def describe(self) -> str:
        """One line for ``expedition init`` and ``status`` (passwords hidden)."""
        catalog = {
            "sqlite": "SQLite catalog (one writer at a time, file lock)",
            "postgres": "PostgreSQL catalog (concurrent writers, optimistic)",
            "duckdb": "DuckDB-file catalog (one process at a time)",
            "mysql": "MySQL catalog (concurrent writers, optimistic)",
        }.get(self.catalog_kind, f"{self.catalog_kind} catalog")
        storage = "S3-compatible object storage" if self.storage_kind == "s3" else (
            "local or shared folder" if self.storage_kind == "local" else f"{self.storage_kind} storage")
        return f"{catalog} {redact(self.catalog_url)}; data on {storage} {self.data_path}"


def backend_of(catalog_url: str, data_path: str) -> Backend:
    """Read the kind of catalog and storage from their URLs (the catalog URL without ``ducklake:``)."""
    head = catalog_url.split(":", 1)[0].lower() if ":" in catalog_url else ""
    if head in ("postgres", "postgresql"):
        kind = "postgres"
    elif head == "sqlite":
        kind = "sqlite"
    elif head == "mysql":
        kind = "mysql"
    else:
        kind = "duckdb"
    lower = data_path.lower()
    if lower.startswith(("s3://", "s3a://")):
        storage = "s3"
    elif lower.startswith(_REMOTE_PREFIXES):
        storage = lower.split("://", 1)[0]
    else:
        storage = "local"
    return Backend(kind, storage, catalog_url, data_path)


def s3_secret_sql(opts: S3Options, scope: str | None = None) -> str:
    """``CREATE OR REPLACE TEMPORARY SECRET`` for ``opts`` (DuckDB binds no parameters in CREATE SECRET:
    values are quoted as literals; the statement is never logged)."""
    fields = ["TYPE s3"]
    pairs = [
        ("KEY_ID", opts.access_key_id), ("SECRET", opts.secret_access_key), ("SESSION_TOKEN", opts.session_token),
        ("REGION", opts.region), ("ENDPOINT", opts.endpoint), ("URL_STYLE", opts.url_style), ("SCOPE", scope),
    ]
    fields += [f"{name} {sql_literal(value)}" for name, value in pairs if value]
    fields.append(f"USE_SSL {'true' if opts.use_ssl else 'false'}")
    return f"CREATE OR REPLACE TEMPORARY SECRET qe_lake_s3 ({', '.join(fields)})"
