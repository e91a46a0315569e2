from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, run_cli

Cli = Callable[..., CliResult]


@pytest.mark.slow
def test_init_query_status(qe_home: Path, cli: Cli) -> None:
    r = cli(["init"])
    assert r.returncode == 0, r.stderr
    r = cli(["query", "SELECT 42 AS answer", "--format", "json"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"answer": 42}]
    r = cli(["status", "--json"])
    st = json.loads(r.stdout)
    assert {t["table"] for t in st["tables"]} >= {"events", "event_aliases", "event_revisions"}
    assert st["snapshot_id"] >= 1


def test_home_option_and_formats(tmp_path: Path, cli: Cli) -> None:
    home = tmp_path / "h"
    assert cli(["init", "--home", str(home)]).returncode == 0
    out = tmp_path / "r.parquet"
    r = cli(["query", "SELECT 1 AS a, 'x' AS b", "--home", str(home), "--format", "parquet", "--out", str(out)])
    assert r.returncode == 0, r.stderr
    import pyarrow.parquet as pq

    assert pq.read_table(out).to_pylist() == [{"a": 1, "b": "x"}]
    r = cli(["query", "SELECT 1 AS a", "--home", str(home), "--format", "csv"])
    assert r.stdout.splitlines() == ['"a"', "1"]


@pytest.mark.slow
def test_errors_are_one_line_without_traceback(qe_home: Path) -> None:
    """Smoke test of the real console script in a subprocess: one error line, exit code 2, no traceback."""
    r = run_cli(["query", "SELECT 1"])
    assert r.returncode == 2 and "expedition init" in r.stderr and "Traceback" not in r.stderr
    run_cli(["init"])
    r = run_cli(["query", "SELECT * FROM read_csv('/etc/passwd')"])
    assert r.returncode == 2 and "Traceback" not in r.stderr and "error:" in r.stderr


def test_every_command_has_help_with_example() -> None:
    from typer.main import get_command

    from expedition.delivery.cli.main import app

    root = get_command(app)

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    missing = [" ".join(p) for p, c in walk(root, []) if "Example" not in (c.help or "")]
    assert not missing, f"commands without a worked example in --help: {missing}"


@pytest.mark.slow
def test_in_process_errors_match_the_console_script(qe_home: Path, cli: Cli) -> None:
    r = cli(["query", "SELECT 1"])
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "expedition init" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert cli(["init"]).returncode == 0
    r = cli(["query", "DELETE FROM events"])
    assert r.returncode == 2 and "only SELECT is allowed, not DELETE" in r.stderr
    r = cli(["query"])  # a usage error is Click's: exit code 2 and the usage line
    assert r.returncode == 2 and r.stderr.startswith("Usage: expedition query") and "Missing argument" in r.stderr


def test_show_prints_people_per_mmi_in_intensity_order() -> None:
    from expedition.delivery.cli.response_cmd import people_per_mmi

    # keys as the stored JSON sorts them (as text): IV, IX, V, VI, VII, VIII, X
    stored = {"IV": 16742623, "IX": 6958, "V": 4786226, "VI": 2232780, "VII": 1001180, "VIII": 243025, "X": 8, "III": 0}
    assert people_per_mmi(stored) == (
        "IV 16,742,623, V 4,786,226, VI 2,232,780, VII 1,001,180, VIII 243,025, IX 6,958, X 8"
    )
    assert people_per_mmi({}) == ""
