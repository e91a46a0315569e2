"""Architecture rules: the three library layers never import Prefect; dependencies point one way."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "catalogs": {"prefect", "prefect_dask", "flows", "expedition"},
    "warehouse": {"prefect", "prefect_dask", "flows", "expedition", "catalogs"},
    "expedition": {"prefect", "prefect_dask"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_layer_imports() -> None:
    bad = []
    for pkg, forbidden in FORBIDDEN.items():
        for f in (ROOT / pkg).rglob("*.py"):
            if pkg == "expedition" and f.parts[-2] == "cli":
                continue  # the CLI may start flows (lazily)
            hit = _imports(f) & forbidden
            # TYPE_CHECKING-only import of expedition.settings by warehouse is allowed
            if pkg == "warehouse" and hit == {"expedition"} and "TYPE_CHECKING" in f.read_text():
                continue
            if hit:
                bad.append(f"{f.relative_to(ROOT)} imports {sorted(hit)}")
    assert not bad, bad


def test_library_layers_load_without_prefect() -> None:
    code = (
        "import sys, pkgutil, importlib\n"
        "for pkg in ('catalogs', 'warehouse', 'expedition'):\n"
        "    m = importlib.import_module(pkg)\n"
        "    for info in pkgutil.walk_packages(m.__path__, pkg + '.'):\n"
        "        if '.cli' in info.name: continue\n"
        "        importlib.import_module(info.name)\n"
        "print('prefect' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_cli_help_does_not_import_prefect() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from expedition.delivery.cli.main import app; print('prefect' in sys.modules)"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert out.stdout.strip() == "False", out.stderr
