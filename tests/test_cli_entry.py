"""The console script's quick start of ``expedition query`` (expedition.delivery.cli.entry): which calls
it runs itself, and that those give what the Typer application gives (output, errors, exit codes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from expedition.delivery.cli.entry import QuickQuery, parse_quick_query
from tests.conftest import ROOT

#: Both ways of running the command in a process of its own: the console script's entry, and the
#: Typer application alone (what the console script ran before the quick start).
_ENTRY = "import sys; sys.argv[0] = 'expedition'; from expedition.delivery.cli.entry import main; main(); {after}"
_TYPER = "import sys; sys.argv[0] = 'expedition'; from expedition.delivery.cli.main import main; main()"
_NO_TYPER = "sys.stderr.write('typer imported: %s' % ('typer' in sys.modules))"


def test_plain_query_forms_are_read() -> None:
    assert parse_quick_query(["query", "SELECT 1"], {}) == QuickQuery("SELECT 1")
    q = parse_quick_query(["-v", "query", "--home", "h", "SELECT 1", "-f", "JSON", "--out=o.json",
                           "--snapshot", "3", "--explain", "plan"], {})
    assert q == QuickQuery("SELECT 1", home=Path("h"), fmt="JSON", out=Path("o.json"), snapshot=3, explain="plan",
                           verbose=True)


@pytest.mark.parametrize("argv", [
    [], ["status"], ["query"], ["query", "--help"], ["--help", "query", "SELECT 1"], ["query", "SELECT 1", "SELECT 2"],
    ["query", "SELECT 1", "-fjson"], ["query", "SELECT 1", "-f=json"], ["query", "SELECT 1", "--format", "xml"],
    ["query", "SELECT 1", "--explain", "analyse"], ["query", "SELECT 1", "--snapshot", "two"],
    ["query", "SELECT 1", "--home", "a", "--home", "b"], ["query", "SELECT 1", "--home"], ["query", "SELECT 1", "-v"],
    ["query", "SELECT 1", "--home", "--format"], ["query", "SELECT 1", "--home", ""], ["query", "--", "SELECT 1"],
    ["query", "-1"], ["query", "SELECT 1", "--limit", "3"],
])
def test_every_other_form_goes_to_typer(argv: list[str]) -> None:
    assert parse_quick_query(argv, {}) is None


def test_shell_completion_goes_to_typer() -> None:
    assert parse_quick_query(["query", "SELECT 1"], {"_EXPEDITION_COMPLETE": "bash_complete"}) is None


def _run(code: str, args: list[str], home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "QE_HOME": str(home), **(env or {})}, check=False)


@pytest.fixture(scope="module")
def lake_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    home = tmp_path_factory.mktemp("entry")
    Lake.from_settings(load_settings(home)).init()
    return home


@pytest.mark.parametrize("args", [
    ["query", "SELECT count(*) AS n, 'x' AS s FROM events"],
    ["query", "SELECT 42 AS answer, [1, 2] AS l", "--format", "json"],
    ["query", "SELECT 1 AS a, 'x' AS b", "-f", "csv"],
    ["query", "SELECT * FROM range(5)", "--explain", "plan", "--format", "json"],
    ["query", "DELETE FROM events"],
    ["query", "SELECT * FROM query('DELETE FROM events')"],
    ["query", "SELECT * FROM read_csv('/etc/passwd')"],
    ["query", "SELECT 1", "--format", "xml"],
    ["query", "SELECT 1", "--explain", "everything"],
    ["query", "--help"],
])
@pytest.mark.slow
def test_quick_start_answers_as_the_typer_application(lake_home: Path, args: list[str]) -> None:
    quick = _run(_ENTRY.format(after=_NO_TYPER), args, lake_home)
    typer = _run(_TYPER, args, lake_home)
    err = quick.stderr.removesuffix("typer imported: True").removesuffix("typer imported: False")
    assert (quick.returncode, quick.stdout, err) == (typer.returncode, typer.stdout, typer.stderr)
    plain = "--help" not in args and "xml" not in args and "everything" not in args
    if plain and quick.returncode == 0:  # the plain forms ran without the command-line framework
        assert quick.stderr.endswith("typer imported: False"), quick.stderr
    if args[1].startswith(("DELETE", "SELECT * FROM query", "SELECT * FROM read_csv")):
        assert quick.returncode == 2 and quick.stderr.startswith("error: "), quick.stderr


def test_quick_start_reports_a_missing_lake_and_the_row_limit(tmp_path: Path, lake_home: Path) -> None:
    missing = _run(_ENTRY.format(after=""), ["query", "SELECT 1"], tmp_path / "none")
    assert missing.returncode == 2 and missing.stderr.startswith("error: ") and "expedition init" in missing.stderr
    cut = _run(_ENTRY.format(after=""), ["query", "SELECT * FROM range(10)", "-f", "json"], lake_home,
               env={"QE_QUERY_ROW_LIMIT": "3"})
    assert cut.returncode == 0 and len(json.loads(cut.stdout)) == 3 and "(truncated at 3 rows)" in cut.stderr


@pytest.mark.slow
def test_quick_start_bounds_its_process(lake_home: Path) -> None:
    """The console script owns its process: the memory rlimit applies on the quick start too."""
    mem = _run(_ENTRY.format(after=""), ["query", "SELECT len(range(400000000)) AS n"], lake_home,
               env={"QE_QUERY_MEMORY_LIMIT": "1GB"})
    assert mem.returncode != 0 and "memory" in mem.stderr, mem.stderr
