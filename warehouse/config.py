"""The lake's own configuration: what :class:`warehouse.lake.Lake` needs to open a lake, nothing more.

The warehouse layer never reads the application's settings: ``expedition.settings.Settings``
builds this object (``settings.lake_config()``), and any other caller can build it directly::

    lake = Lake.from_config(LakeConfig.local(Path("~/qe").expanduser()))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from warehouse.backend import S3Options
from warehouse.concurrency import RetryPolicy

__all__ = ["LAKE_ALIAS", "HasLakeConfig", "LakeConfig"]

#: The name the lake is attached under in every DuckDB connection (``USE lake``).
LAKE_ALIAS = "lake"


@dataclass(frozen=True)
class LakeConfig:
    """Where a lake lives and how its writer behaves.

    ``home`` holds ``lake/`` (catalog and data by default), the writer lock and DuckDB's
    extension directory; ``catalog_url`` is the DuckLake catalog without its ``ducklake:`` prefix
    (``sqlite:...`` or a PostgreSQL URL); ``data_path`` the directory (or object-store prefix) of the
    Parquet files; ``writer_wait_s`` how long a writer waits for the single-writer lock;
    ``bulk_append`` whether large appends are written as Parquet by pyarrow and registered;
    ``s3`` how to reach an ``s3://`` data path; ``retry`` how often a writer on a PostgreSQL
    catalog runs its transaction again after a write conflict (:mod:`warehouse.concurrency`).
    ``verify_extension_signatures`` whether DuckDB checks each extension's signature at every load
    (see :mod:`warehouse.extensions`).
    """

    home: Path
    catalog_url: str
    data_path: str
    writer_wait_s: float = 30.0
    bulk_append: bool = True
    s3: S3Options = field(default_factory=S3Options)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify_extension_signatures: bool = False

    @classmethod
    def local(cls, home: Path, *, writer_wait_s: float = 30.0, bulk_append: bool = True) -> LakeConfig:
        """A lake entirely under ``home``: SQLite catalog ``home/lake/catalog.sqlite``, data in ``home/lake/data``."""
        lake_dir = Path(home) / "lake"
        return cls(Path(home), f"sqlite:{lake_dir / 'catalog.sqlite'}", str(lake_dir / "data") + os.sep,
                   writer_wait_s, bulk_append)


class HasLakeConfig(Protocol):
    """Anything that can describe a lake (the application's settings object)."""

    def lake_config(self) -> LakeConfig:
        """The lake part of the configuration."""
        ...
