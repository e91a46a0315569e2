"""The bad-input corpus (``tests/data/bad/``) through the real ``expedition`` command.

Every file of the corpus is listed in ``tests/data/bad/MANIFEST.toml`` with its entry point and what
it must produce. One lake holds a catalog, an expedition (Gorkha 2015, opened by hand) and a good
survey before anything bad arrives; every rejected file must leave it exactly as it was (same
snapshot id, same row counts). No traceback may reach a user: a rejected file ends with exit code 2
and one ``error: ...`` line naming the file (and, for a bad value, its row and column); a survey
with bad rows quarantines them with file, row and column and lands the others.

Big or run-dependent cases are generated here: a 10 MB single field, dates in next year, external
entities aimed at a canary file and at a loopback server that records every hit, entity bombs inside
an XLSX, odd file names and path traversal.

The command runs in subprocesses, as a user runs it. To keep well over a hundred invocations within
the suite's time budget, each subprocess is a *batch*: it calls the console-script entry point
(``expedition.delivery.cli.main:main``) once per case with its own ``argv``, working directory and stdout/stderr
file descriptors, and reports an uncaught exception exactly as the interpreter would (a
``Traceback`` on stderr, exit code 1). ``test_batch_and_fresh_processes_agree`` checks a sample of
cases in one fresh ``expedition`` process each (``run_cli``) gives the same answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import tomllib
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

# The corpus runs as one batch in a module fixture (about 30 s): the whole module is in the slow lane.
pytestmark = pytest.mark.slow
BAD = Path(__file__).parent / "data" / "bad"
MANIFEST: list[dict[str, Any]] = tomllib.loads((BAD / "MANIFEST.toml").read_text(encoding="utf-8"))["case"]
GOOD_SURVEY = Path(__file__).parent / "data" / "surveys" / "buildings_odk_export.csv"
GORKHA_CSV = (
    "time,latitude,longitude,depth,mag,magType,nst,gap,dmin,rms,net,id,updated,place,type,"
    "horizontalError,depthError,magError,magNst,status,locationSource,magSource\n"
    '2015-04-25T06:11:25.950Z,28.2305,84.7314,8.22,7.8,mww,,,,,us,us20002926,2022-05-03T21:18:32.380Z,'
    '"36 km E of Khudi, Nepal",earthquake,,,,,reviewed,us,us\n'
)
CANARY = "QE-CANARY-7f3a9c"
WAIT = {"QE_WRITER_WAIT_S": "600"}  # batches write at once and queue on the writer lock
ODD_NAMES = ["name with spaces.csv", "ünïcødé-χ.csv", "semi;colon&amp|pipe.csv", "$(touch pwned).csv",
             "-leading-dash.csv", "quote'and\"double.csv"]
ODD_SURVEY = "relevé de terrain; n°1.csv"

#: Runs console-script entry point once per job of a JSON list (argv, cwd), each with its own fds 1/2.
BATCH = r"""
import json, os, sys, tempfile, traceback
from expedition.delivery.cli.main import main
spec, target = sys.argv[1], sys.argv[2]
jobs = json.load(open(spec, encoding="utf-8"))
results = []
for job in jobs:
    os.chdir(job["cwd"])
    files = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
    sys.stdout.flush(); sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    os.dup2(files[0].fileno(), 1); os.dup2(files[1].fileno(), 2)
    sys.argv = ["expedition", *job["args"]]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()  # what the interpreter prints for an uncaught exception
        code = 1
    finally:
        sys.stdout.flush(); sys.stderr.flush()
        os.dup2(saved[0], 1); os.dup2(saved[1], 2)
        os.close(saved[0]); os.close(saved[1])
    out = []
    for f in files:
        f.seek(0); out.append(f.read().decode("utf-8", "replace")); f.close()
    results.append({"code": code, "stdout": out[0], "stderr": out[1]})
json.dump(results, open(target, "w", encoding="utf-8"))
"""


@dataclass(frozen=True)
class Home:
    path: Path
    expedition_id: str


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Job:
    key: str
    entry: str
    path: str
    cwd: Path | None = None


def args_for(entry: str, path: str, home: Home) -> list[str]:
    if entry == "catalog":
        return ["catalog", "import", path, "--home", str(home.path)]
    return ["survey", "ingest", path, "--expedition", home.expedition_id, "--kind", "buildings", "--home", str(home.path)]


def run_batch(jobs: list[Job], home: Home, work: Path) -> dict[str, Run]:
    """``jobs`` in two batch processes side by side (two cores)."""
    def one(chunk: list[Job], n: int) -> dict[str, Run]:
        if not chunk:
            return {}
        spec, out = work / f"jobs-{n}.json", work / f"results-{n}.json"
        spec.write_text(json.dumps([{"args": args_for(j.entry, j.path, home), "cwd": str(j.cwd or work)} for j in chunk]),
                        encoding="utf-8")
        done = subprocess.run([sys.executable, "-c", BATCH, str(spec), str(out)], capture_output=True, text=True,
                              env={**os.environ, **WAIT}, timeout=1800, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        results = json.loads(out.read_text(encoding="utf-8"))
        return {j.key: Run(r["code"], r["stdout"], r["stderr"]) for j, r in zip(chunk, results)}

    work.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(one, [jobs[0::2], jobs[1::2]], [len(work.name), len(work.name) + 1]))
    return {**parts[0], **parts[1]}


def lake_state(home: Home) -> tuple[int, dict[str, int]]:
    """Snapshot id and the row count of every table."""
    from expedition.settings import load_settings
    from warehouse.lake import Lake
    from warehouse.tables import ALL_TABLES

    lake = Lake.from_settings(load_settings(home.path))
    con = lake.connect(read_only=True)
    try:
        counts = {t.name: int(con.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0])  # type: ignore[index]
                  for t in ALL_TABLES}
        return lake.current_snapshot(con), counts
    finally:
        con.close()


def query(home: Home, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    con = Lake.from_settings(load_settings(home.path)).connect(read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def corpus_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", BAD / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MK = corpus_module()


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = f'<!ENTITY leak "{CANARY}">'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def recorder() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that answers anything (with a canary entity) and records every request."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    finally:
        server.shutdown()
        server.server_close()


# --- the lake the corpus is thrown at -------------------------------------------------------------
@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A lake with a catalog, the Gorkha 2015 expedition and a good survey already in it."""
    from catalogs.ingest import import_file
    from expedition.decisions.response.evaluate import open_manually
    from expedition.settings import load_settings
    from expedition.surveys.ingest import ingest_survey_file
    from warehouse.lake import Lake

    root = tmp_path_factory.mktemp("bad-input")
    path = root / "home"
    settings = load_settings(path)
    lake = Lake.from_settings(settings)
    lake.init()
    import_file(lake, settings, Path(__file__).parent / "data" / "catalogs" / "comcat_bom.csv")
    gorkha = root / "gorkha.csv"
    gorkha.write_text(GORKHA_CSV, encoding="utf-8")
    import_file(lake, settings, gorkha)
    event_id = lake.read_table("event_aliases", "WHERE provider_event_id = ?", ["us20002926"]).column("event_id")[0].as_py()
    exp, created = open_manually(lake, event_id, reason="bad-input corpus tests", by="test_bad_input", settings=settings)
    assert created
    report = ingest_survey_file(lake, settings, exp.expedition_id, GOOD_SURVEY, kind="buildings")
    assert report.rows_landed > 0
    return Home(path, exp.expedition_id)


def with_sheet_prolog(xlsx: bytes, prolog: str, old: str, new: str) -> bytes:
    """``xlsx`` with ``prolog`` before its first sheet's XML and ``old`` replaced by ``new`` in it."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = (prolog + data.decode("utf-8").replace(old, new, 1)).encode("utf-8")
            dst.writestr(info.filename, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, recorder: tuple[str, list[str]]) -> dict[str, Any]:
    """The cases generated at run time: files, and the jobs that feed them to the command."""
    url, _ = recorder
    root = tmp_path_factory.mktemp("generated")
    canary = root / "canary.txt"
    canary.write_text(CANARY, encoding="utf-8")
    year = dt.datetime.now(dt.UTC).year + 1
    region = "      <description><text>{}</text><type>region name</type></description>\n"
    include = '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{}" parse="text"/>'
    texts: dict[str, tuple[str, str]] = {  # name -> (entry, content); rejected unless listed in `writes`
        "ten_mb_place.csv": ("catalog", MK.CSV_HEADER + MK.csv_row("us1") + MK.csv_row("us2", place="x" * 10_000_000)),
        "ten_mb_region.txt": ("catalog", MK.TXT_HEADER + MK.txt_row("ev1") + MK.txt_row("ev2", region="x" * 10_000_000)),
        "survey_ten_mb_notes.csv": ("survey", MK.survey("{p}-0009,2015-05-02T09:10:00+05:45,27.7,85.3,2,2,MUR,"
                                                        + "x" * 10_000_000 + "\n", prefix="TEN_MB")),
        "next_year.csv": ("catalog", MK.CSV_HEADER + MK.csv_row("us1", time=f"{year}-02-01T00:00:00.000Z")),
        "next_year.txt": ("catalog", MK.TXT_HEADER + MK.txt_row("ev1", time=f"{year}-02-01T00:00:00")),
        "next_year.xml": ("catalog", MK.qml(MK.qev("1", time=f"{year}-02-01T00:00:00Z"))),
        "survey_next_year.csv": ("survey", MK.survey(f"{{p}}-0009,{year}-02-01T09:10:00+05:45,27.7,85.3,2,2,MUR,\n",
                                                     prefix="NEXT_YEAR")),
        "xxe_file.xml": ("catalog", MK.qml(MK.qev("1", extra=region.format("&xxe;")),
                                           prolog=f'<!DOCTYPE q [<!ENTITY xxe SYSTEM "file://{canary}">]>\n')),
        "xxe_http.xml": ("catalog", MK.qml(MK.qev("1", extra=region.format("&xxe;")),
                                           prolog=f'<!DOCTYPE q [<!ENTITY xxe SYSTEM "{url}/entity">]>\n')),
        "xxe_dtd.xml": ("catalog", MK.qml(MK.qev("1"), prolog=f'<!DOCTYPE q SYSTEM "{url}/quakeml.dtd">\n')),
        "xxe_param.xml": ("catalog", MK.qml(MK.qev("1", extra=region.format("&leak;")),
                                            prolog=f'<!DOCTYPE q [<!ENTITY % p SYSTEM "{url}/param.dtd"> %p;]>\n')),
        "xinclude.xml": ("catalog", MK.qml(
            MK.qev("77", time="2019-05-05T05:05:05Z", extra=region.format(include.format(f"file://{canary}"))),
            MK.qev("78", time="2019-05-06T05:05:05Z", extra=region.format(include.format(f"{url}/xinclude"))))),
    }
    jobs: list[Job] = []
    for name, (entry, text) in texts.items():
        (root / name).write_text(text, encoding="utf-8")
        jobs.append(Job(name, entry, str(root / name)))
    base = MK.xlsx_bytes([MK.XLSX_HEADER, ["XXE-0001", "2015-05-02T09:10:00+05:45", 27.7, 85.3, 3, 2, "MUR"]])
    bomb = ('<!DOCTYPE worksheet [<!ENTITY a "AAAAAAAAAA">'
            + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi")) + "]>")
    for name, dtd, entity in (("xxe_file.xlsx", f'<!DOCTYPE worksheet [<!ENTITY e SYSTEM "file://{canary}">]>', "&e;"),
                              ("xxe_http.xlsx", f'<!DOCTYPE worksheet [<!ENTITY e SYSTEM "{url}/sheet">]>', "&e;"),
                              ("bomb.xlsx", bomb, "&i;")):
        (root / name).write_bytes(with_sheet_prolog(base, dtd, "MUR", entity))
        jobs.append(Job(name, "survey", str(root / name)))
    odd = root / "odd"
    odd.mkdir()
    for name in ODD_NAMES:  # given as ./<name>, as typed in a shell
        shutil.copyfile(BAD / "csv_latitude_91.csv", odd / name)
        jobs.append(Job(f"odd:{name}", "catalog", f"./{name}", odd))
    (odd / ODD_SURVEY).write_text(MK.survey("{p}-0009,2015-05-02T09:10:00+05:45,91.0,85.3,2,2,MUR,\n", prefix="ODD_NAME"),
                                  encoding="utf-8")
    jobs.append(Job(f"odd:{ODD_SURVEY}", "survey", f"./{ODD_SURVEY}", odd))
    deep = root / "trav" / "a" / "b"
    deep.mkdir(parents=True)
    (root / "trav" / "x.csv").write_text(MK.CSV_HEADER + MK.csv_row("usTRAVERSAL1", time="2019-09-09T09:09:09.000Z"),
                                         encoding="utf-8")
    shutil.copyfile(BAD / "csv_magnitude_15.csv", root / "trav" / "a" / "bad.csv")
    jobs.append(Job("traversal:good", "catalog", "../../x.csv", deep))
    jobs.append(Job("traversal:bad", "catalog", "../bad.csv", deep))
    (root / "a_directory.csv").mkdir()  # a directory where a file is expected
    jobs += [Job("dir:catalog", "catalog", str(root / "a_directory.csv")),
             Job("dir:survey", "survey", str(root / "a_directory.csv"))]
    writes = {"survey_next_year.csv", "xinclude.xml", f"odd:{ODD_SURVEY}", "traversal:good"}
    return {"root": root, "jobs": jobs, "writes": writes, "year": year, "canary": canary, "odd": odd}


@pytest.fixture(scope="module")
def results(home: Home, generated: dict[str, Any]) -> dict[str, Any]:
    """Every case through the command: the rejected files first (the lake must not move meanwhile),
    then the quarantined surveys, accepted files and known gaps (they write)."""
    corpus = [Job(c["file"], c["entry"], str(BAD / c["file"])) for c in MANIFEST]
    rejected_files = {c["file"] for c in MANIFEST if c["outcome"] == "error" and not c.get("gap")}
    rejected = [j for j in corpus if j.key in rejected_files]
    rejected += [j for j in generated["jobs"] if j.key not in generated["writes"]]
    writing = [j for j in corpus if j.key not in rejected_files] + [j for j in generated["jobs"] if j.key in generated["writes"]]
    out: dict[str, Any] = {"before": lake_state(home)}
    raw_before = {p for p in (home.path / "raw").rglob("*")}
    out.update(run_batch(rejected, home, generated["root"] / "batch-rejected"))
    out["after_errors"] = lake_state(home)
    out.update(run_batch(writing, home, generated["root"] / "batch-writing"))
    out["raw_created"] = {p for p in (home.path / "raw").rglob("*")} - raw_before
    return out


def cases(*outcomes: str) -> list[Any]:
    out = []
    for c in MANIFEST:
        if c["outcome"] not in outcomes:
            continue
        marks = [pytest.mark.xfail(strict=True, reason=c["gap"])] if c.get("gap") else []
        out.append(pytest.param(c, id=c["file"], marks=marks))
    return out


def assert_one_error_line(r: Run, name: str, *needles: str) -> str:
    """Exit code 2, no traceback, and exactly one ``error:`` line (the last one) holding ``needles``."""
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], r.stderr
    line = errors[0]
    assert name in line, f"the message must name the file {name!r}: {line}"
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def assert_quarantined(r: Run, home: Home, name: str, quarantined: int, landed: int,
                       problems: list[tuple[int, str, str]], sha: str) -> None:
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert f"{quarantined} quarantined" in r.stdout and f"{landed} landed" in r.stdout, r.stdout
    for row, column, check in problems:  # the command shows each problem with file, row and column
        assert f"{name}, row {row}, column {column!r}: error {check}" in r.stdout, r.stdout
    issues = query(home, "SELECT raw_row_number, issue_column, issue_check FROM survey_issues "
                         "WHERE raw_sha256 = ? AND issue_severity = 'error'", [sha])
    for problem in problems:
        assert problem in issues
    assert len({row for row, _, _ in issues}) == quarantined
    rows = query(home, "SELECT raw_row_number FROM survey_buildings_obs WHERE raw_sha256 = ?", [sha])
    assert len(rows) == landed
    assert not {row for (row,) in rows} & {p[0] for p in problems}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the corpus -------------------------------------------------------------------------------------
def test_the_manifest_lists_every_file_of_the_corpus() -> None:
    files = {p.name for p in BAD.iterdir() if p.name not in ("MANIFEST.toml", "make_corpus.py") and p.is_file()}
    listed = [c["file"] for c in MANIFEST]
    assert sorted(listed) == sorted(files) and len(set(listed)) == len(listed)
    assert len(files) >= 60
    assert {c["entry"] for c in MANIFEST} == {"catalog", "survey"}
    for c in MANIFEST:
        assert c["outcome"] in ("error", "quarantine", "accepted") and c.get("what"), c
        if c["outcome"] == "error":
            assert c["raises"] in ("ParseError", "UnknownFormat", "SurveyInputError") and c["message"], c


def test_the_corpus_files_are_what_make_corpus_writes() -> None:
    made = MK.cases()
    assert sorted(made) == sorted(c["file"] for c in MANIFEST)
    for name, data in made.items():
        assert (BAD / name).read_bytes() == data, f"{name} differs from make_corpus.py: rerun it"


@pytest.mark.parametrize("case", cases("error"))
def test_rejected_file_gives_one_clear_error_line(case: dict[str, Any], results: dict[str, Any]) -> None:
    needles = list(case["message"])
    if case.get("row") is not None:
        needles.append(f"row {case['row']}")
    if case.get("column") is not None:
        needles.append(f"column {case['column']!r}")
    assert_one_error_line(results[case["file"]], case["file"], *needles)


@pytest.mark.parametrize("case", cases("error"))
def test_rejected_file_raises_the_documented_error(case: dict[str, Any]) -> None:
    from catalogs import errors as catalog_errors
    from catalogs.detect import read_catalog_file
    from expedition.surveys import errors as survey_errors
    from expedition.surveys.readers import read_survey_file

    expected = getattr(catalog_errors if case["entry"] == "catalog" else survey_errors, case["raises"])
    with pytest.raises(expected) as info:
        if case["entry"] == "catalog":
            read_catalog_file(BAD / case["file"])
        else:
            read_survey_file(BAD / case["file"])
    if case.get("row") is not None:
        assert info.value.row == case["row"]  # type: ignore[attr-defined]
    if case.get("column") is not None:
        assert info.value.column == case["column"]  # type: ignore[attr-defined]


def test_rejected_files_leave_the_lake_exactly_as_it_was(results: dict[str, Any]) -> None:
    snapshot_before, counts_before = results["before"]
    snapshot_after, counts_after = results["after_errors"]
    assert counts_before["events"] > 0 and counts_before["survey_buildings_obs"] > 0  # there was something to lose
    assert snapshot_after == snapshot_before
    assert counts_after == counts_before


@pytest.mark.parametrize("case", cases("quarantine"))
def test_bad_survey_rows_are_quarantined_with_file_row_and_column(
    case: dict[str, Any], results: dict[str, Any], home: Home
) -> None:
    problems = [(p["row"], p["column"], p["check"]) for p in case["problems"]]
    assert_quarantined(results[case["file"]], home, case["file"], case["quarantined"], case["landed"], problems,
                       sha256(BAD / case["file"]))


@pytest.mark.parametrize("case", cases("accepted"))
def test_odd_but_valid_file_is_read_without_side_effects(case: dict[str, Any], results: dict[str, Any], home: Home) -> None:
    r = results[case["file"]]
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    regions = query(home, "SELECT region_name FROM event_solutions WHERE region_name IS NOT NULL", [])
    assert not any("root:" in (name or "") for (name,) in regions)  # /etc/passwd was never included


def test_batch_and_fresh_processes_agree(results: dict[str, Any], home: Home) -> None:
    """A sample of rejected files, each in its own fresh ``expedition`` process: the same answer."""
    sample = [c for c in MANIFEST if c["outcome"] == "error" and not c.get("gap")][::12]
    assert {c["entry"] for c in sample} == {"catalog", "survey"}
    for c in sample:
        done = run_cli(args_for(c["entry"], str(BAD / c["file"]), home))
        fresh = Run(done.returncode, done.stdout, done.stderr)
        assert fresh.returncode == results[c["file"]].returncode == 2
        last = [line for line in fresh.stderr.splitlines() if line.startswith("error: ")]
        assert last == [line for line in results[c["file"]].stderr.splitlines() if line.startswith("error: ")]


# --- generated cases ----------------------------------------------------------------------------------
def test_a_10_mb_single_field_is_refused(results: dict[str, Any]) -> None:
    assert_one_error_line(results["ten_mb_place.csv"], "ten_mb_place.csv", "row 2", "exceeds the limit of 131,072 bytes")
    assert_one_error_line(results["ten_mb_region.txt"], "ten_mb_region.txt", "row 2", "column 'EventLocationName'",
                          "10,000,000 bytes")
    assert_one_error_line(results["survey_ten_mb_notes.csv"], "survey_ten_mb_notes.csv", "field larger than field limit")


def test_dates_in_next_year_are_refused_or_quarantined(results: dict[str, Any], generated: dict[str, Any],
                                                       home: Home) -> None:
    year = generated["year"]
    for name in ("next_year.csv", "next_year.txt", "next_year.xml"):
        assert_one_error_line(results[name], name, "row 1", f"{year}-02-01", "between 1900-01-01 and now")
    assert_quarantined(results["survey_next_year.csv"], home, "survey_next_year.csv", 1, 3,
                       [(3, "surveyed_time", "time_window")], sha256(generated["root"] / "survey_next_year.csv"))


def test_external_entities_are_neither_read_nor_fetched(results: dict[str, Any], home: Home,
                                                         recorder: tuple[str, list[str]]) -> None:
    _, hits = recorder
    for name in ("xxe_file.xml", "xxe_http.xml", "xxe_dtd.xml", "xxe_param.xml"):
        line = assert_one_error_line(results[name], name, "refusing an XML document that declares a DOCTYPE")
        assert CANARY not in line
    for name in ("xxe_file.xlsx", "xxe_http.xlsx", "bomb.xlsx"):  # the same inside a survey workbook
        line = assert_one_error_line(results[name], name, "not a readable XLSX workbook")
        assert CANARY not in line
    r = results["xinclude.xml"]  # XInclude is never processed: valid QuakeML otherwise, imported as is
    assert r.returncode == 0 and CANARY not in r.stdout + r.stderr, r.stderr
    stored = query(home, "SELECT count(*), count(*) FILTER (WHERE contains(coalesce(region_name, ''), ?)) "
                         "FROM event_solutions WHERE provider_event_id IN ('77', '78')", [CANARY])
    assert stored == [(2, 0)]
    assert hits == []  # nothing was fetched from the loopback server


def test_odd_file_names_are_named_as_given(results: dict[str, Any], generated: dict[str, Any], home: Home) -> None:
    for name in ODD_NAMES:
        assert_one_error_line(results[f"odd:{name}"], name, "row 3", "column 'latitude'")
    path = generated["odd"] / ODD_SURVEY
    assert_quarantined(results[f"odd:{ODD_SURVEY}"], home, ODD_SURVEY, 1, 3, [(3, "latitude", "range")], sha256(path))
    assert query(home, "SELECT DISTINCT raw_file_name FROM survey_issues WHERE raw_sha256 = ?", [sha256(path)]) == [(ODD_SURVEY,)]
    assert sorted(p.name for p in generated["odd"].iterdir()) == sorted([*ODD_NAMES, ODD_SURVEY])  # nothing else appeared
    assert not any(p.name == "pwned" for p in generated["root"].rglob("*"))


def test_a_directory_instead_of_a_file_is_one_clear_error(results: dict[str, Any]) -> None:
    for key in ("dir:catalog", "dir:survey"):
        assert_one_error_line(results[key], "a_directory.csv", "no such file")


def test_path_traversal_stays_out_of_the_archive_layout(results: dict[str, Any], generated: dict[str, Any],
                                                        home: Home) -> None:
    """``../../x.csv`` is read where it points, and archived by content under its base name only."""
    r = results["traversal:good"]
    assert r.returncode == 0 and "x.csv: 1 rows -> 1 new" in r.stdout, r.stderr
    raw = home.path / "raw"
    sha = sha256(generated["root"] / "trav" / "x.csv")
    assert [p for p in results["raw_created"] if p.is_file() and sha in p.parts] == [raw / sha[:2] / sha / "x.csv"]
    assert all(p.is_relative_to(raw) for p in results["raw_created"])
    assert sorted(p.name for p in (generated["root"] / "trav").iterdir()) == ["a", "x.csv"]  # nothing written beside it
    assert_one_error_line(results["traversal:bad"], "bad.csv", "row 1", "column 'mag'")
