from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_init_query_status(qe_home: Path) -> None:
    r = run_cli(["init"])
    assert r.returncode == 0, r.stderr
    r = run_cli(["query", "SELECT 42 AS answer", "--format", "json"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [{"answer": 42}]
    r = run_cli(["status", "--json"])
    st = json.loads(r.stdout)
    assert {t["table"] for t in st["tables"]} >= {"events", "event_aliases", "event_revisions"}
    assert st["snapshot_id"] >= 1


def test_home_option_and_formats(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert run_cli(["init", "--home", str(home)]).returncode == 0
    out = tmp_path / "r.parquet"
    r = run_cli(["query", "SELECT 1 AS a, 'x' AS b", "--home", str(home), "--format", "parquet", "--out", str(out)])
    assert r.returncode == 0, r.stderr
    import pyarrow.parquet as pq

    assert pq.read_table(out).to_pylist() == [{"a": 1, "b": "x"}]
    r = run_cli(["query", "SELECT 1 AS a", "--home", str(home), "--format", "csv"])
    assert r.stdout.splitlines() == ['"a"', "1"]


def test_errors_are_one_line_without_traceback(qe_home: Path) -> None:
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
