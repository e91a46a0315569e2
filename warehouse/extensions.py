"""Load DuckDB extensions from their PyPI wheels (no downloads, ever).

The ``duckdb-extension-*`` packages ship the binaries for one DuckDB version. Auto-install and
auto-load stay off so DuckDB never tries the network.

Two ways to load them (:func:`connect`):

* ``verify_signatures=False`` (the default, setting ``duckdb_extension_signatures``): the binary is
  loaded straight from the installed wheel, through a symbolic link named as DuckDB expects, in a
  private temporary directory of this process. The binary is then trusted exactly like every other
  file of the Python environment (DuckDB's own ``.so`` is not signature-checked either), so the
  instance is opened with ``allow_unsigned_extensions``. This is what makes opening the lake cheap:
  DuckDB's signature check hashes the whole binary at every load, in every process (sqlite and
  ducklake: about 35 MB each, spatial 81 MB; 0.15-0.45 s of CPU each here, see
  ``bench/bench_query.py``). Nothing else can use the permission: query mode refuses ``LOAD``
  statements and turns ``enable_external_access`` off (which refuses every ``LOAD``) before any user
  SQL runs, and internal connections run only our own statements.
* ``verify_signatures=True``: the binaries are installed (once, from the wheel) into the data root's
  extension directory and loaded by name with DuckDB's signature check, as before.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb

from warehouse.sqlfiles import sql_literal

log = logging.getLogger(__name__)

#: DuckDB's extension name for each wheel name.
_LOAD_NAME = {"sqlite": "sqlite_scanner", "ducklake": "ducklake", "spatial": "spatial", "postgres": "postgres_scanner",
              "httpfs": "httpfs", "mysql": "mysql_scanner"}
_BASE_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


class ExtensionUnavailable(RuntimeError):
    """The wheel for an extension is not installed, or built for another DuckDB."""


def wheel_file(name: str) -> Path:
    """The extension binary shipped by the ``duckdb-extension-<name>`` wheel for this DuckDB.

    Found without importing the package (``find_spec``): nothing of it runs."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionUnavailable(
            f"DuckDB extension {name!r} needs the package duckdb-extension-{name}=={duckdb.__version__}"
        )
    base = Path(next(iter(spec.submodule_search_locations)))
    path = base / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise ExtensionUnavailable(
            f"duckdb-extension-{name} has no build for DuckDB {duckdb.__version__} (looked for {path})"
        )
    return path


def connect(names: Iterable[str], ext_dir: Path, verify_signatures: bool = False) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB instance with the extensions ``names`` (wheel names) loaded."""
    names = tuple(names)
    config: dict[str, object] = dict(_BASE_CONFIG)
    if not verify_signatures:
        config["allow_unsigned_extensions"] = True
    con = duckdb.connect(config=config)  # type: ignore[arg-type]
    try:
        if verify_signatures:
            load_extensions(con, names, ext_dir)
        else:
            _load_from_wheels(con, names)
    except BaseException:
        con.close()
        raise
    return con


def _load_from_wheels(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> None:
    """LOAD each wheel's binary through a link named ``<load name>.duckdb_extension`` (DuckDB derives
    the entry point from the file name) in a private directory removed right after."""
    if not names:
        return
    links = Path(tempfile.mkdtemp(prefix="qe-ext-"))  # mode 0700: nobody else can swap the links
    try:
        for name in names:
            load_name = _LOAD_NAME.get(name, name)
            link = links / f"{load_name}.duckdb_extension"
            os.symlink(wheel_file(name), link)
            con.execute(f"LOAD {sql_literal(str(link))}")  # no binding for LOAD
    finally:
        shutil.rmtree(links, ignore_errors=True)


def load_extensions(con: duckdb.DuckDBPyConnection, names: tuple[str, ...], ext_dir: Path) -> None:
    """Install (once, from the wheel) and load ``names`` into ``con`` with DuckDB's signature check."""
    ext_dir.mkdir(parents=True, exist_ok=True)
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET extension_directory = ?", [str(ext_dir)])
    for name in names:
        load_name = _LOAD_NAME.get(name, name)
        try:
            con.execute(f"LOAD {load_name}")
        except duckdb.IOException:  # not installed yet (listing the installed ones costs more than trying)
            log.debug("installing DuckDB extension %s from its wheel", name)
            con.execute(f"INSTALL {sql_literal(str(wheel_file(name)))}")  # no binding for INSTALL
            con.execute(f"LOAD {load_name}")
