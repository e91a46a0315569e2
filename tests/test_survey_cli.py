"""The ``expedition survey`` commands as a user runs them, in-process (same exit codes and output as the console script)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from expedition.delivery.cli.main import app
from tests.conftest import invoke_cli
from tests.survey_support import (
    DATA,
    seed_expedition,
    write_csv,
)


@pytest.mark.slow
def test_ingest_errors_export_and_template(survey_lake: Any, tmp_path: Path) -> None:
    lake = survey_lake
    qe_home = lake.home
    exp = seed_expedition(lake)
    bad = write_csv(tmp_path / "day1.csv", """
building_id,latitude,longitude,damage_grade,surveyed_time
C-1,27.70,85.32,2,2015-05-02T10:00:00Z
C-2,27.71,85.33,9,2015-05-02T10:05:00Z
""")
    r = invoke_cli(["survey", "ingest", str(bad), "--expedition", exp, "--home", str(qe_home)])
    assert r.returncode == 0, r.stderr
    assert f"day1.csv -> buildings of {exp}: 2 rows read, 1 landed, 0 unchanged, 1 quarantined (1 errors)" in r.stdout
    assert "day1.csv, row 3, column 'damage_grade': error range: value '9', expected a whole number between 0 and 5" in r.stdout
    assert "Traceback" not in r.stderr

    runner = CliRunner()
    out = runner.invoke(app, ["survey", "errors", "--expedition", exp, "--format", "csv", "--home", str(qe_home)])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["raw_file_name"], r["raw_row_number"], r["issue_column"], r["issue_value"]) for r in rows] == [
        ("day1.csv", "3", "damage_grade", "9")]

    gj = tmp_path / "b.geojson"
    out = runner.invoke(app, ["survey", "export", "--expedition", exp, "--kind", "buildings", "--format", "geojson",
                              "--out", str(gj), "--home", str(qe_home)])
    assert out.exit_code == 0, out.output
    features = json.loads(gj.read_text())["features"]
    assert [(f["properties"]["building_id"], f["geometry"]["coordinates"]) for f in features] == [("C-1", [85.32, 27.7])]

    xlsx = tmp_path / "forms" / "buildings.xlsx"
    out = runner.invoke(app, ["survey", "template", "--kind", "buildings", "--out", str(xlsx), "--home", str(qe_home)])
    assert out.exit_code == 0 and xlsx.is_file(), out.output


def test_unknown_expedition_and_strict_are_one_line_errors(survey_lake: Any, capsys: Any, monkeypatch: Any) -> None:
    import pytest

    from expedition.delivery.cli.main import main

    lake = survey_lake
    qe_home = lake.home

    def run(args: list[str]) -> tuple[int, str]:
        monkeypatch.setattr("sys.argv", ["expedition", *args])
        with pytest.raises(SystemExit) as info:
            main()
        return int(info.value.code or 0), capsys.readouterr().err

    code, err = run(["survey", "ingest", str(DATA / "lifelines.csv"), "--expedition", "EXP-2015-NPL-998",
                     "--home", str(qe_home)])
    assert code == 2 and err.strip().splitlines()[-1] == (
        "error: unknown expedition ID 'EXP-2015-NPL-998' (see `expedition list`)")
    exp = seed_expedition(lake)
    bad = DATA / "buildings_odk_export.csv"
    code, err = run(["survey", "ingest", str(bad), "--expedition", exp, "--kind", "stations", "--strict",
                     "--home", str(qe_home)])
    assert code == 2 and "error: buildings_odk_export.csv: rejected (--strict)" in err
    assert "Traceback" not in err
