"""Load DuckDB extensions from their PyPI wheels (no downloads, ever).

The ``duckdb-extension-*`` packages ship the binaries for one DuckDB version.
They are installed into an extension directory we choose (inside the data
root), then loaded by name. Auto-install and auto-load stay off so DuckDB never
tries the network.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

# DuckDB's extension name for each wheel name.
_LOAD_NAME = {"sqlite": "sqlite_scanner", "ducklake": "ducklake", "spatial": "spatial", "postgres": "postgres_scanner",
              "httpfs": "httpfs", "mysql": "mysql_scanner"}


class ExtensionUnavailable(RuntimeError):
    """The wheel for an extension is not installed, or built for another DuckDB."""


def _wheel_file(name: str) -> Path:
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError as exc:
        raise ExtensionUnavailable(
            f"DuckDB extension {name!r} needs the package duckdb-extension-{name}=={duckdb.__version__}"
        ) from exc
    path = Path(module.__file__ or "").parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise ExtensionUnavailable(
            f"duckdb-extension-{name} has no build for DuckDB {duckdb.__version__} (looked for {path})"
        )
    return path


def load_extensions(con: duckdb.DuckDBPyConnection, names: tuple[str, ...], ext_dir: Path) -> None:
    """Install (once, from the wheel) and load ``names`` into ``con``."""
    ext_dir.mkdir(parents=True, exist_ok=True)
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET extension_directory = ?", [str(ext_dir)])
    installed = {
        row[0]
        for row in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE installed"
        ).fetchall()
    }
    for name in names:
        load_name = _LOAD_NAME.get(name, name)
        if load_name not in installed:
            log.debug("installing DuckDB extension %s from its wheel", name)
            con.execute("INSTALL '" + str(_wheel_file(name)).replace("'", "''") + "'")  # no binding for INSTALL
        con.execute(f"LOAD {load_name}")
