"""Partner service under load: 200 concurrent clients on loopback vs the same queries in-process,
and vs the service of the code this branch started from (the "old code"), in the same run.

Set-up: a lake under ``bench/.work/api_load/`` holding the real USGS ComCat export 2022-2024 (M5+,
4,118 events; ``../shared/data``), or the bundled 40-event demo sample when that is absent,
imported with ``catalogs.ingest.import_file``; one partner with a token. The service runs as a
separate process (``expedition api``, uvicorn, 127.0.0.1).

Load: 200 client threads, each with its own kept-alive HTTP/1.1 connection (stdlib
``http.client``), loop for 60 s (quick: 5 s) over a fixed mix of named queries (``recent_events``,
``event_lookup``, ``events_near``) and
FDSN event queries (QuakeML and text; time, magnitude, box, radius, eventid). Reported: throughput,
p50/p99 latency, and errors (anything but 200; must be zero). Threads rather than one
``httpx.AsyncClient``: on this 2-core machine a shared AsyncClient with 200 connections managed only
about 54 requests/s against ``/health`` (its pool is the bottleneck), 200 threads with ``http.client``
about 930/s, so the client does not hide the service's own limits.

Baseline, same run, same mix: the same queries as library calls in this process, one after the
other (named queries through ``warehouse.query.run_query`` on the partner's scoped database,
FDSN through ``catalogs.fdsnws_query`` and ``catalogs.quakeml_write``) -- what a partner would get
with no HTTP, no JSON and no concurrency. Ratio = service throughput / in-process throughput
(requests per second); target >= 0.5 with zero errors: the HTTP layer, JSON encoding and
authentication may cost at most half of the library's own speed while serving 200 clients.

Old code, same run, same lake, same load: the service of ``QE_BENCH_BASELINE_REF`` (default: the
merge base of HEAD and ``main``; on a clean checkout of ``main`` that is the code itself, and the
line is left out), unpacked with ``git archive`` under ``bench/.work/api_load/`` and run with the
same interpreter and packages (``PYTHONPATH``), before ours. Target: our throughput
>= the old code's (partner SQL now runs in bounded worker processes, issue 14). Ours runs with
``[api] partner_rate_per_s = 0``, ``partner_concurrency = 3`` (every worker) and
``queue_wait_s = 30`` (written to ``qe.toml`` after the old service stopped: the old code refuses
unknown keys): the 200 clients share ONE partner token, and the point is the service's capacity
for good clients, as the old code gave it to one partner, not the per-partner policies (rate 20/s,
1 query at once, 2 s wait: bench_api_soak runs with those defaults).
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

from bench.common import ROOT, WORK, BenchResult, shared

CLIENTS = 200
TARGET_RATIO = 0.5
COMCAT = "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv"
DEMO = ROOT / "flows" / "demo_data" / "comcat_sample_2023-2024.csv"

# (kind, path or query name, parameters): the mix every client cycles through.
MIX: list[tuple[str, str, dict[str, Any]]] = [
    ("named", "recent_events", {"minmagnitude": "6.5", "starttime": "2023-01-01T00:00:00Z"}),
    ("named", "event_lookup", {"eventid": "us6000jllz"}),
    ("named", "events_near", {"latitude": "37.2", "longitude": "37.0", "maxradius_km": "300", "minmagnitude": "5"}),
    ("named", "recent_events", {"minmagnitude": "7.0", "starttime": "2022-06-01T00:00:00Z"}),
    ("fdsn", "query", {"starttime": "2023-02-01", "endtime": "2023-03-01", "minmagnitude": "5.5"}),
    ("fdsn", "query", {"minmagnitude": "7", "format": "text"}),
    ("fdsn", "query", {"minlatitude": "30", "maxlatitude": "45", "minlongitude": "60", "maxlongitude": "90",
                       "limit": "50", "format": "text"}),
    ("fdsn", "query", {"latitude": "8.5", "longitude": "126.4", "maxradius": "2", "minmagnitude": "5"}),
    ("fdsn", "query", {"eventid": "us7000lsze"}),
]


def _build_lake(home: Path) -> tuple[Any, Any, str]:
    from catalogs.ingest import import_file
    from expedition.delivery.partners import add_partner
    from expedition.settings import load_settings
    from warehouse.lake import Lake

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = load_settings(home)
    lake = Lake.from_settings(settings)
    lake.init()
    import_file(lake, settings, shared(COMCAT) or DEMO)
    token = add_partner(lake, "bench-partner", countries=["CHN", "AFG", "PHL"]).token
    return settings, lake, token


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_service(home: Path, port: int, src: Path | None = None) -> subprocess.Popen[bytes]:
    """``expedition api`` on ``port``: this checkout's, or the one unpacked at ``src``."""
    env = {**os.environ, "QE_HOME": str(home)}
    if src is None:
        cmd = [str(Path(sys.executable).parent / "expedition")]
    else:
        env["PYTHONPATH"] = str(src)
        cmd = [sys.executable, "-c", _OLD_MAIN]
    log = open(home.parent / f"service-{port}.log", "wb")  # not a pipe: a full pipe would stall the service
    proc = subprocess.Popen([*cmd, "api", "--home", str(home), "--port", str(port)], env=env,
                            cwd=str(src or ROOT), stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited: {(home.parent / f'service-{port}.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("service did not start within 180 s")


_OLD_MAIN = """import sys
try:
    from expedition.delivery.cli.main import main
except ImportError:
    from expedition.cli.main import main
sys.argv[0] = "expedition"
sys.exit(main())
"""


def old_code(ref: str | None = None) -> tuple[str, Path]:
    """The old code (``ref``, default the merge base of HEAD and main) unpacked under bench/.work."""
    ref = ref or os.environ.get("QE_BENCH_BASELINE_REF") or subprocess.run(
        ["git", "merge-base", "HEAD", "main"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    sha = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    dest = WORK / "api_load" / f"old-{sha[:12]}"
    if not (dest / "expedition").is_dir():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return sha, dest


def is_this_code(sha: str) -> bool:
    """Whether ``sha`` is the code being measured: HEAD, with no change to a tracked file (on main the
    merge base is HEAD itself, and a service compared with itself measures only the noise)."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.strip()
    return sha == head and not dirty


def _measure(home: Path, token: str, seconds: float, src: Path | None = None) -> dict[str, Any]:
    port = _free_port()
    proc = _start_service(home, port, src)
    try:
        _load(port, token, 1.0)  # warm-up: the first request of a partner builds its scoped database
        latencies, errors, elapsed_s = _load(port, token, seconds)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    lat = np.array(latencies)
    return {
        "requests": int(len(lat)),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "throughput_rps": round(len(lat) / elapsed_s, 1),
        "latency_p50_ms": round(float(np.percentile(lat, 50)) * 1000, 1) if len(lat) else None,
        "latency_p99_ms": round(float(np.percentile(lat, 99)) * 1000, 1) if len(lat) else None,
    }


def _url(kind: str, name: str) -> str:
    return f"/v1/queries/{name}" if kind == "named" else "/fdsnws/event/1/query"


def _load(port: int, token: str, seconds: float) -> tuple[list[float], dict[str, int], float]:
    """``CLIENTS`` threads, each with its own kept-alive HTTP/1.1 connection, cycling through MIX."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    paths = [f"{_url(kind, name)}?{urlencode(params)}" for kind, name, params in MIX]

    def one_client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[float] = []
        bad: dict[str, int] = {}
        i = k
        while time.monotonic() < stop:
            path = paths[i % len(paths)]
            i += 1
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                outcome = "ok" if resp.status == 200 else f"HTTP {resp.status}"
            except (OSError, http.client.HTTPException) as exc:
                outcome = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            mine.append(time.perf_counter() - t0)
            if outcome != "ok":
                bad[outcome] = bad.get(outcome, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            for key, n in bad.items():
                errors[key] = errors.get(key, 0) + n

    threads = [threading.Thread(target=one_client, args=(k,), daemon=True) for k in range(CLIENTS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - t0


def _in_process(settings: Any, lake: Any, token: str, rounds: int) -> float:
    """Mean seconds per query of the mix, as library calls in this process."""
    from catalogs.fdsnws_query import parse_query
    from catalogs.quakeml_write import write_fdsn_text, write_quakeml
    from expedition.delivery.api.config import DEFAULT_VISIBLE_STATUSES
    from expedition.delivery.api.fdsnws import catalog_index
    from expedition.delivery.api.routes_query import bind_params, partner_queries
    from expedition.delivery.api.scopes import ScopeCache
    from expedition.delivery.api.source import LakeSource
    from warehouse.query import run_query

    source = LakeSource(lake)
    data = source.current()
    partner = data.registry.authenticate(token)
    assert partner is not None
    view = ScopeCache(DEFAULT_VISIBLE_STATUSES).view(partner, data, datetime.now(UTC))
    index = catalog_index(data)
    assert index is not None
    queries = partner_queries()
    n = 0
    t0 = time.perf_counter()
    for _ in range(rounds):
        for kind, name, params in MIX:
            if kind == "named":
                q = queries[name]
                cur = view.cursor()
                try:
                    res = run_query(cur, q.sql, bind_params(q, params), row_limit=100_000, timeout_s=30)
                finally:
                    cur.close()
                assert res.table.num_rows >= 0
            else:
                fq = parse_query({k: [v] for k, v in params.items()})
                order = index.select(fq)[fq.offset - 1:]
                if fq.limit is not None:
                    order = order[: fq.limit]
                rows = index.take(order)
                (write_fdsn_text if fq.format == "text" else write_quakeml)(rows)
            n += 1
    elapsed = time.perf_counter() - t0
    source.close()
    return elapsed / n


def run(quick: bool) -> list[BenchResult]:
    seconds = 5.0 if quick else 60.0
    home = WORK / "api_load" / "home"
    settings, lake, token = _build_lake(home)
    baseline_s = _in_process(settings, lake, token, rounds=3 if quick else 20)
    sha, src = old_code()
    old = None
    if is_this_code(sha):
        print(f"bench_api_load: the old code ({sha[:12]}) is this code; its line is left out "
              "(set QE_BENCH_BASELINE_REF to compare with another commit)", file=sys.stderr)
    else:
        old = _measure(home, token, seconds, src)
    (home / "qe.toml").write_text("[api]\npartner_rate_per_s = 0.0\nqueue_wait_s = 30.0\npartner_concurrency = 3\n",
                                  encoding="utf-8")
    new = _measure(home, token, seconds)
    throughput = new["throughput_rps"]
    ours_s = 1.0 / throughput
    ratio = baseline_s / ours_s
    events = "4,118 ComCat events" if shared(COMCAT) else "40 demo events"
    common = {"clients": CLIENTS, "duration_s": seconds, "cpus": os.cpu_count(),
              "load_average_1min_at_end": round(os.getloadavg()[0], 1)}
    results = [
        BenchResult(
            what=f"partner API, {CLIENTS} clients, {seconds:g} s, named+FDSN mix ({events})",
            baseline="same queries in-process (library calls)",
            ours_s=ours_s,
            baseline_s=baseline_s,
            ratio=ratio,
            target=f">= {TARGET_RATIO} and 0 errors",
            passed=ratio >= TARGET_RATIO and new["errors"] == 0,
            ratio_kind="service throughput / in-process throughput (requests per second)",
            details={**new, "in_process_rps": round(1.0 / baseline_s, 1), **common},
        ),
    ]
    if old is None:
        return results
    results.append(
        BenchResult(
            what=f"partner API with query workers vs old code ({CLIENTS} clients, {events})",
            baseline=f"old code {sha[:12]}: same lake, load, run",
            ours_s=ours_s,
            baseline_s=1.0 / old["throughput_rps"],
            ratio=throughput / old["throughput_rps"],
            target=">= 1.0 and 0 errors",
            passed=throughput >= old["throughput_rps"] and new["errors"] == 0,
            ratio_kind="our throughput / old code's throughput (requests per second)",
            details={"ours": new, "old_code": old, **common},
        ),
    )
    return results
