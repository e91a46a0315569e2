"""Parsed reference data (GeoNames places, Natural Earth countries) kept as Parquet between processes.

The packages ship JSON and a zipped shapefile; parsing them costs seconds of CPU, which every
fresh data root (the demo, each test's data root) paid again. A parsed table is therefore kept in
two places, both keyed in the file name by the source package's version and a format number:

* the data root's own cache directory, when the caller gives one (``<home>/cache``);
* a per-user cache shared by every data root: ``$QE_REFERENCE_CACHE_DIR`` when set (``off``: none),
  else ``$XDG_CACHE_HOME/quake-expedition/reference`` (``~/.cache/quake-expedition/reference``).

Files are written atomically (a reader sees the old file or the new one, never a part); an
unreadable file is logged, ignored and rewritten.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.atomic import write_parquet_atomic

__all__ = ["CACHE_ENV", "cached", "cache_dirs", "user_cache_dir"]

log = logging.getLogger(__name__)

CACHE_ENV = "QE_REFERENCE_CACHE_DIR"
T = TypeVar("T")


def user_cache_dir() -> Path | None:
    """The per-user reference cache (see the module notes); ``None`` when switched off."""
    env = os.environ.get(CACHE_ENV, "").strip()
    if env.lower() == "off":
        return None
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "quake-expedition" / "reference"


def cache_dirs(cache_dir: Path | None) -> list[Path]:
    """Where a parsed table is looked for and kept: ``cache_dir`` (if any), then the per-user cache."""
    dirs = [Path(cache_dir)] if cache_dir is not None else []
    user = user_cache_dir()
    if user is not None and user not in dirs:
        dirs.append(user)
    return dirs


def cached(file_name: str, cache_dir: Path | None, parse: Callable[[], pa.Table], use: Callable[[pa.Table], T],
           what: str) -> T:
    """``use(table)`` of the first readable ``file_name`` in :func:`cache_dirs`, else of ``parse()``
    (then written to each of them; a file found in a later one is copied
    into the earlier ones). ``use`` failing with ``ValueError`` on a cached table counts as
    an unreadable file. ``what`` names the data in log lines."""
    dirs = cache_dirs(cache_dir)
    for k, d in enumerate(dirs):
        path = d / file_name
        if not path.is_file():
            continue
        try:
            table = pq.read_table(path)
            out = use(table)
        except (OSError, ValueError, pa.ArrowException) as exc:
            log.warning("ignoring unreadable %s cache %s: %s", what, path, exc)
            continue
        _keep(table, [m / file_name for m in dirs[:k]], what)  # the data root's cache: self-contained
        return out
    table = parse()
    _keep(table, [d / file_name for d in dirs], what)
    return use(table)


def _keep(table: pa.Table, paths: list[Path], what: str) -> None:
    for path in paths:
        try:
            write_parquet_atomic(table, path)
        except (OSError, pa.ArrowException) as exc:
            log.warning("could not write %s cache %s: %s", what, path, exc)
