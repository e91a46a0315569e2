"""Architecture rules, with no exemptions: dependencies point one way and no modules import each other in a circle.

Layers (lowest first): ``warehouse`` (the lake) <- ``catalogs`` (parsing, association, pulls into the lake)
<- ``expedition`` (science, decisions, surveys, outputs, delivery) <- ``flows`` (Prefect). ``catalogs``
writes events into the lake, so it may import ``warehouse``; ``warehouse`` imports none of the others.
Every import counts: absolute and relative, at module level or inside functions, and in
``TYPE_CHECKING`` blocks.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("catalogs", "warehouse", "expedition", "flows")
#: top-level names each package must never import
FORBIDDEN = {
    "warehouse": {"catalogs", "expedition", "flows", "prefect", "prefect_dask"},
    "catalogs": {"expedition", "flows", "prefect", "prefect_dask"},
    "expedition": {"flows", "prefect", "prefect_dask"},
}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the four packages: dotted name -> (file, is a package ``__init__``)."""
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


MODULES = _modules()


def _imported_names(name: str, source: str, is_pkg: bool) -> Iterator[str]:
    """Dotted names imported by module ``name`` (text ``source``), relative imports resolved;
    ``from m import x`` gives ``m.x`` when that is a module of ours, else ``m``."""
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                module = ".".join(anchor + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                yield sub if sub in MODULES else module


def _own_module(dotted: str) -> str | None:
    """The longest prefix of ``dotted`` that is one of our modules."""
    parts = dotted.split(".")
    while parts:
        if ".".join(parts) in MODULES:
            return ".".join(parts)
        parts.pop()
    return None


IMPORTS = {
    name: set(_imported_names(name, path.read_text(encoding="utf-8"), is_pkg)) for name, (path, is_pkg) in MODULES.items()
}


def _graph() -> dict[str, set[str]]:
    return {
        name: {own for dotted in imported if (own := _own_module(dotted)) is not None and own != name}
        for name, imported in IMPORTS.items()
    }


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (Tarjan 1972, SIAM J. Comput. 1(2):146-160)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                out.append(sorted(component))
    return out


def test_every_package_is_scanned() -> None:
    for pkg in PACKAGES:
        assert pkg in MODULES, pkg
    assert len(MODULES) > 100  # a wrong root would make every rule below pass vacuously
    assert "flows.cli" in MODULES and "expedition.delivery.cli.main" in MODULES


def test_layer_imports() -> None:
    bad = []
    for name, imported in IMPORTS.items():
        forbidden = FORBIDDEN.get(name.split(".")[0], set())
        hit = sorted(d for d in imported if d.split(".")[0] in forbidden)
        if hit:
            bad.append(f"{name} imports {hit}")
    assert not bad, "\n".join(bad)


def test_only_flows_imports_prefect() -> None:
    users = {name.split(".")[0] for name, imported in IMPORTS.items()
             if any(d.split(".")[0] in ("prefect", "prefect_dask") for d in imported)}
    assert users <= {"flows"}, users
    assert "flows" in users  # the scan sees the flows' own Prefect imports


def test_no_import_cycles() -> None:
    cycles = [c for c in _strongly_connected(_graph()) if len(c) > 1]
    assert not cycles, cycles


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert sorted(map(tuple, _strongly_connected(graph))) == [("a", "b", "c"), ("d",), ("e",)]


def test_import_scan_sees_every_form() -> None:
    """Relative, function-level and TYPE_CHECKING imports are all seen."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import records\n"
        "from .response.evaluate import evaluate_events\n"
        "from .. import settings\n"
        "if TYPE_CHECKING:\n"
        "    from flows.env import prepare_prefect_env\n"
        "def f():\n"
        "    import prefect.client\n"
    )
    seen = set(_imported_names("expedition.decisions.policy", source, is_pkg=False))
    assert seen == {"typing", "expedition.decisions.records", "expedition.decisions.response.evaluate",
                    "expedition.settings", "flows.env", "prefect.client"}
    assert {"flows", "prefect"} <= {d.split(".")[0] for d in seen}
    # in the real code: a function-level import (flows.cli imports flows.env inside a command)
    assert "flows.env" in IMPORTS["flows.cli"]


def test_survey_kinds_one_list() -> None:
    """The view of all landed keys covers every kind of the one list (SQL cannot import it)."""
    from warehouse.tables.surveys import OBSERVATION_TABLES

    view = (ROOT / "warehouse" / "sql" / "views" / "survey_observation_keys.sql").read_text(encoding="utf-8")
    for kind, table in OBSERVATION_TABLES.items():
        assert f"'{kind}'" in view and table.name in view, kind


@pytest.mark.slow
def test_library_layers_load_without_prefect() -> None:
    """Every module of the three library packages imports without Prefect (the CLI included: its
    plugins from ``flows`` register their commands without importing Prefect)."""
    code = (
        "import sys, pkgutil, importlib\n"
        "for pkg in ('catalogs', 'warehouse', 'expedition'):\n"
        "    m = importlib.import_module(pkg)\n"
        "    for info in pkgutil.walk_packages(m.__path__, pkg + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print('prefect' in sys.modules, 'prefect_dask' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False False"


def test_cli_help_does_not_import_prefect() -> None:
    code = (
        "import sys; from expedition.delivery.cli.main import app, register_plugins; "
        "print('prefect' in sys.modules, 'flows.cli' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    # the flow commands are registered (through the entry point) without importing Prefect
    assert out.stdout.strip() == "False True", out.stderr
