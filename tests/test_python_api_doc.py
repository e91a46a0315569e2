"""The examples of docs/python-api.md run as doctests, from the repository root (they read the demo's
bundled sample files and make their data root in a temporary directory); and the package roots stay
cheap to import."""

from __future__ import annotations

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "python-api.md"


@pytest.mark.slow  # a data root end to end: import, evaluate, survey, brief (about 25 s of CPU)
def test_python_api_page_examples_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(
        str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False,
        report=True,
    )
    assert result.attempted >= 40  # the page's examples were found
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {DOC.name} failed (see stdout)"


@pytest.mark.parametrize("package", ["catalogs", "expedition", "warehouse"])
def test_public_names_resolve_and_are_listed(package: str) -> None:
    import importlib

    mod = importlib.import_module(package)
    exported = mod.__all__
    assert all(getattr(mod, name) is not None for name in exported)
    assert set(exported) <= set(dir(mod))
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        _ = mod.no_such_name
    assert (ROOT / package / "py.typed").is_file()


def test_package_roots_import_no_heavy_dependency() -> None:
    code = (
        "import sys, catalogs, expedition, warehouse\n"
        "heavy = [m for m in ('pandas', 'obspy', 'prefect', 'duckdb', 'pyarrow', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "", f"importing the package roots loaded {done.stdout.strip()}"
