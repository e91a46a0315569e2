"""``expedition query`` start-to-finish: the whole process, as a seismologist at the shell runs it.

Setup (not timed): a lake holding the 4,118 events of the ComCat export in ``../shared/data``
(``expedition init`` + ``expedition catalog import``), under ``bench/.work/``.

* ours: ``expedition query "SELECT count(*) FROM events"`` in a fresh process (the console script),
  best wall time of 7 runs (child CPU time reported too);
* baseline: the same statement in a fresh process opened the way every query was before
  (``open_query_connection`` without the statement: every view defined, the spatial extension
  loaded, DuckDB's signature check of every extension), the same output code;
* floor (for information): ``python -c "import duckdb; duckdb.connect()"``;
* for information, the same command through the Typer application (what the console script ran
  before its quick start of ``query``: ``expedition.delivery.cli.main.main``).

Where the remaining time goes: a child process times each step of the command in-process (imports,
settings, opening the lake, parsing the statement, views, lock-down, the query, the output), and a
``python -X importtime`` run of the command lists the largest imports and says whether pandas, pyarrow,
obspy and rich were imported. Target: under 0.4 s wall for the whole process.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, WORK, BenchResult, shared

CSV = "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv"
SQL = "SELECT count(*) FROM events"
TARGET_S = 0.4
RUNS = 7

#: The baseline: the same statement, opened as before this work (see the module docstring).
_BASELINE = """
import sys
from expedition.delivery.cli.common import emit_table, settings_for
from warehouse.lake import Lake
from warehouse.query import open_query_connection, run_query
settings = settings_for(sys.argv[1])
con = open_query_connection(Lake.from_settings(settings))
try:
    res = run_query(con, sys.argv[2], row_limit=settings.query_row_limit, timeout_s=settings.query_timeout_s)
finally:
    con.close()
emit_table(res.table, "table")
"""

#: Each step of ``expedition query`` timed in one process (mirrors expedition/delivery/cli/entry.py:
#: the console script's quick start, then querying.answer and output.write_table).
_STEPS = """
import json, sys, time
t0 = time.perf_counter(); steps = {}
def mark(name):
    global t0
    t = time.perf_counter(); steps[name] = round(t - t0, 4); t0 = t
from expedition.delivery.cli.entry import parse_quick_query
q = parse_quick_query(["query", "--home", sys.argv[1], sys.argv[2]])
mark("import the console script's entry, read the arguments")
from expedition.process import configure_process
from expedition.settings import load_settings
mark("import the settings and process set-up (duckdb)")
from warehouse.lake import Lake
from warehouse.needs import statement_needs
from warehouse.query import GRACE_S, _Limits, _run, lock_down
mark("import warehouse (table specs, query checks)")
settings = load_settings(q.home); configure_process(settings); lake = Lake.from_settings(settings)
mark("settings")
con = lake.connect(read_only=True, views=False, own=True)
mark("open: extensions loaded, lake attached")
need = statement_needs(con, q.sql)
mark("parse the statement (views it reads)")
lake.define_views(con, need.views)
mark(f"define {len(need.views or ())} views")
lock_down(con, lake.local_dirs())
mark("lock down")
res = _run(con, q.sql, None, None, _Limits(settings.query_row_limit, settings.query_timeout_s, None, GRACE_S), plain=True)
con.close()
mark("run the query (" + type(res).__name__ + ")")
from expedition.delivery.cli.output import write_result
write_result(res, "table")
mark("print the table (rich)")
sys.stderr.write(json.dumps(steps) + "\\n")
"""


def _lake(home: Path, csv: Path) -> None:
    exe = str(Path(sys.executable).parent / "expedition")
    if (home / "lake" / "catalog.sqlite").is_file():
        return
    shutil.rmtree(home, ignore_errors=True)
    for args in (["init"], ["catalog", "import", str(csv), "--provider", "USGS"]):
        subprocess.run([exe, *args, "--home", str(home)], check=True, capture_output=True, timeout=600)


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall s, child CPU s, stdout) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {proc.stderr[-1000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def _best(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    runs = [_timed(cmd, env) for _ in range(RUNS)]
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]


def _imports(cmd: list[str]) -> dict[str, Any]:
    """The largest imports of one run (cumulative microseconds) and which heavy packages came in."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *cmd], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=False)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), len(m.group(3)), m.group(4)))
    top = [name for cum, depth, name in sorted((r for r in rows if r[1] <= 3), reverse=True)[:10]]
    names = {r[2] for r in rows}
    return {"largest_imports_cumulative": top,
            "imported": {p: p in names for p in ("pandas", "pyarrow", "pyarrow.compute", "numpy", "obspy", "rich.console",
                                                 "pydantic", "typer", "prefect")}}


def run(quick: bool = False) -> list[BenchResult]:
    csv = shared(CSV)
    if csv is None:
        return []
    home = WORK / "query-home"
    _lake(home, csv)
    exe = str(Path(sys.executable).parent / "expedition")
    ours_cmd = [exe, "query", "--home", str(home), SQL]
    env = dict(os.environ, QE_DUCKDB_EXTENSION_SIGNATURES="true")
    base_cmd = [sys.executable, "-c", _BASELINE, str(home), SQL]
    ours_wall, ours_cpu, out = _best(ours_cmd)
    base_wall, base_cpu, base_out = _best(base_cmd, env)
    if "4118" not in out or "4118" not in base_out:
        raise RuntimeError(f"expected 4118 events, got {out!r} / {base_out!r}")
    typer_cmd = [sys.executable, "-c", "import sys; from expedition.delivery.cli.main import main; main()",
                 "query", "--home", str(home), SQL]
    typer_wall, typer_cpu, typer_out = _best(typer_cmd)
    if typer_out != out:
        raise RuntimeError(f"the Typer application printed {typer_out!r}, the console script {out!r}")
    floor_wall, floor_cpu, _ = _best([sys.executable, "-c", "import duckdb; duckdb.connect().execute('SELECT 1')"])
    steps = subprocess.run([sys.executable, "-c", _STEPS, str(home), SQL], capture_output=True, text=True,
                           timeout=120, cwd=ROOT, check=True).stderr.strip().splitlines()[-1]
    details = {
        "runs": RUNS, "ours_cpu_s": round(ours_cpu, 3), "baseline_cpu_s": round(base_cpu, 3),
        "typer_app_wall_s": round(typer_wall, 3), "typer_app_cpu_s": round(typer_cpu, 3),
        "floor_python_duckdb_wall_s": round(floor_wall, 3), "floor_python_duckdb_cpu_s": round(floor_cpu, 3),
        "steps_s": json.loads(steps), **_imports([exe, "query", "--home", str(home), SQL]),
    }
    print(f"  expedition query count: {ours_wall:.3f} s wall ({ours_cpu:.3f} s CPU); as before: {base_wall:.3f} s "
          f"({base_cpu:.3f} s CPU); through Typer {typer_wall:.3f} s ({typer_cpu:.3f} s CPU); "
          f"python+duckdb floor {floor_wall:.3f} s", file=sys.stderr)
    return [BenchResult(
        what="expedition query count(*) on 4,118 events, whole process",
        baseline="same query, lake opened as before (all)",
        ours_s=ours_wall, baseline_s=base_wall, ratio=base_wall / ours_wall,
        target=f"< {TARGET_S} s wall", passed=ours_wall < TARGET_S, details=details,
    )]


if __name__ == "__main__":  # pragma: no cover
    for r in run(quick="--quick" in sys.argv):
        print(json.dumps(r.as_dict(), indent=2, default=str))
