"""How ``make test`` spreads the test files over its pytest-xdist workers (a pytest plugin, registered in
tests/conftest.py; holds no tests).

``--dist loadfile`` sends whole files to workers, by default the files with the most tests first, so
the files of one or two long tests (the crash soak, the Prefect work pool, the demo flow, the browser)
came last and one worker ran them while the other had nothing left. Two changes (issue 15):

* the test files that ask for one of the costly session fixtures of :data:`SHARED` are one unit of
  work per fixture, so a single worker builds it: ``prefect_harness`` (Prefect's test server, about 15 s
  of CPU to start: server imports, database migrations, block registration) and ``myanmar`` (the
  Myanmar expedition of the brief and browser tests) instead of each worker its own;
* the workers list the tests longest-expected first (:func:`order_for_workers`): the Prefect unit, then
  the other units and files by their number of tests marked ``slow``, then by their number of tests, and the
  scheduler keeps that order (``loadscopereorder`` off), so the short files fill the end of the run.

Without xdist (``TEST_WORKERS=0``) nothing changes: the order is pytest's.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Session fixtures worth building once per run rather than once per worker (see the module notes).
SHARED = ("prefect_harness", "myanmar")


@cache
def unit_of(path: str) -> str:
    """The unit of work of the test file at ``path`` (relative to the repository root, as in a node id):
    ``shared:<fixture>`` for the first fixture of :data:`SHARED` that one of its functions takes as a
    parameter, else the file itself."""
    file = ROOT / path
    if file.suffix == ".py" and file.name.startswith("test_") and file.is_file():
        text = file.read_text(encoding="utf-8")
        for name in SHARED:
            if re.search(rf"\b{name}\s*:", text):
                return f"shared:{name}"
    return path


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def order_for_workers(items: list[pytest.Item]) -> list[pytest.Item]:
    """``items`` with each unit's tests kept together and in order, the units longest-expected first
    (see the module notes). Deterministic: every worker must list the same tests in the same order."""
    slow: Counter[str] = Counter()
    count: Counter[str] = Counter()
    first: dict[str, int] = {}
    for k, item in enumerate(items):
        unit = unit_of(file_of(item.nodeid))
        first.setdefault(unit, k)
        count[unit] += 1
        slow[unit] += item.get_closest_marker("slow") is not None

    def key(item: pytest.Item) -> tuple[int, int, int, int]:
        unit = unit_of(file_of(item.nodeid))
        return (0 if unit == "shared:prefect_harness" else 1, -slow[unit], -count[unit], first[unit])

    return sorted(items, key=key)  # stable: a file's own tests keep their order


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, list the tests in :func:`order_for_workers` order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items[:] = order_for_workers(items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` with the files of each :data:`SHARED` fixture as one unit, in the order the
    workers listed."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(file_of(nodeid))

    config.option.loadscopereorder = False
    return Scheduling(config, log)
