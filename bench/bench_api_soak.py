"""Soak of the partner service: good clients alone, then the same good clients beside hostile ones.

Usage::

    python -m bench --only bench_api_soak             # 60 s, 50 good + 50 hostile clients
    python -m bench --quick --only bench_api_soak     # 8 s, 10 + 10
    python -m bench.bench_api_soak --seconds 60 --good 50 --hostile 50 --ceiling-mb 2048

The real service (``expedition api``, uvicorn on 127.0.0.1, query workers, default limits except
``timeout_s = 5`` so time attacks cycle within the run) over the lake of bench_api_load (4,118
ComCat events, or the 40-event demo sample). Good clients: kept-alive connections cycling through
the named-query + FDSN mix of bench_api_load, each good partner shared by a few clients. Hostile
clients, in equal shares, from their own loopback addresses (127.0.0.2...; the bad-token throttle
is per address):

* memory: ``len(range(400000000))``, ``list(range)`` over 10^8 rows, a 2 GB ``string_agg``, one huge
  Arrow answer, with the hostile partner's token;
* time: a per-row function that ignores DuckDB's interrupt (~75 s unbounded);
* body: 200 MB declared bodies (with and without a token) and 1 MB sent bodies without a token;
* brute force: wrong secrets for a good partner's token id, as fast as answers come.

Phase 1: good clients alone (``seconds / 3``) -> their p99. Phase 2: good + hostile for ``seconds``.
The service's memory (RSS of the service and every descendant process: forkserver, workers) is
sampled every 0.25 s. Reported and checked: peak memory <= the ceiling (default 2 GB), 0 crashes
(the service process alive and ``/health`` 200 at the end), good clients' errors 0 and p99 during
the attack <= 2x their p99 alone.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

from bench.bench_api_load import MIX, _build_lake, _free_port, _start_service, _url
from bench.common import WORK, BenchResult, shared

CEILING_MB = 2048
HOSTILE_SQL = {
    "memory": ["SELECT len(range(400000000)) AS n", "SELECT len(list(range)) AS n FROM range(100000000)",
               "SELECT length(string_agg(repeat('x', 1000), '')) AS n FROM range(2000000)",
               "SELECT range AS i, repeat('x', 1000) AS pad FROM range(2000000)"],
    "time": ["SELECT max(levenshtein(repeat('a', 2000) || range::VARCHAR, repeat('b', 2000))) AS d FROM range(2000)"],
}
GOOD_PARTNERS = 10


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


class Sampler(threading.Thread):
    """Peak memory of a process tree, sampled every ``every_s``."""

    def __init__(self, pid: int, every_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.every_s, self.peak = pid, every_s, 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every_s):
            self.peak = max(self.peak, tree_rss(self.pid))


def _conn(port: int, source: str) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(source, 0))


def _good(port: int, token: str, stop: float, k: int, out: list[float], errs: dict[str, int],
          lock: threading.Lock) -> None:
    paths = [f"{_url(kind, name)}?{urlencode(params)}" for kind, name, params in MIX]
    conn, i = _conn(port, "127.0.0.1"), k
    mine: list[float] = []
    bad: dict[str, int] = {}
    while time.monotonic() < stop:
        t0 = time.perf_counter()
        try:
            conn.request("GET", paths[i % len(paths)], headers={"Authorization": f"Bearer {token}"})
            resp = conn.getresponse()
            resp.read()
            outcome = "ok" if resp.status == 200 else f"HTTP {resp.status}"
        except (OSError, http.client.HTTPException) as exc:
            outcome = type(exc).__name__
            conn.close()
            conn = _conn(port, "127.0.0.1")
        mine.append(time.perf_counter() - t0)
        if outcome != "ok":
            bad[outcome] = bad.get(outcome, 0) + 1
        i += 1
    conn.close()
    with lock:
        out.extend(mine)
        for key, n in bad.items():
            errs[key] = errs.get(key, 0) + n


def _hostile(port: int, kind: str, token: str, victim: str, stop: float, k: int, seen: dict[str, int],
             lock: threading.Lock) -> None:
    source = f"127.0.0.{2 + k % 200}"
    i = k
    while time.monotonic() < stop:
        i += 1
        conn = _conn(port, source)
        try:
            if kind in HOSTILE_SQL:
                sqls = HOSTILE_SQL[kind]
                body = json.dumps({"sql": sqls[i % len(sqls)], "format": "arrow"}).encode()
                conn.request("POST", "/v1/query", body=body, headers={
                    "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            elif kind == "body":
                if i % 2:
                    conn.putrequest("POST", "/v1/query")
                    conn.putheader("Content-Length", str(200 * 2**20))
                    if i % 4 == 1:
                        conn.putheader("Authorization", f"Bearer {token}")
                    conn.endheaders()
                else:
                    conn.request("POST", "/v1/query", body=b"x" * 2**20)
            else:  # brute force a good partner's token id
                token_id = victim.split("_")[1]
                guess = f"qe_{token_id}_" + f"{i:043d}"[-43:]
                conn.request("GET", "/v1/tables", headers={"Authorization": f"Bearer {guess}"})
            resp = conn.getresponse()
            resp.read()
            outcome = f"{kind} {resp.status}"
        except (OSError, http.client.HTTPException) as exc:
            outcome = f"{kind} {type(exc).__name__}"
        finally:
            conn.close()
        with lock:
            seen[outcome] = seen.get(outcome, 0) + 1
        if outcome.endswith("429"):
            time.sleep(0.2)


def soak(seconds: float, n_good: int, n_hostile: int, ceiling_mb: int = CEILING_MB,
         home: Path | None = None) -> dict[str, Any]:
    """Run the soak on a lake built at ``home`` (default bench/.work/api_soak/home); the figures."""
    from expedition.delivery.partners import add_partner

    home = home or WORK / "api_soak" / "home"
    _settings, lake, _token = _build_lake(home)
    good_tokens = [add_partner(lake, f"good-{i}", countries=["CHN"]).token for i in range(GOOD_PARTNERS)]
    evil = add_partner(lake, "hostile", countries=["AFG"]).token
    (home / "qe.toml").write_text("[api]\ntimeout_s = 5.0\npartner_rate_per_s = 200.0\npartner_burst = 400\n",
                                  encoding="utf-8")
    port = _free_port()
    proc = _start_service(home, port)
    sampler = Sampler(proc.pid)
    sampler.start()
    lock = threading.Lock()
    try:
        _run_good(port, good_tokens, n_good, 1.0, lock)  # warm-up: partner views, worker loads
        alone, alone_errs = _run_good(port, good_tokens, n_good, max(seconds / 3, 3.0), lock)
        seen: dict[str, int] = {}
        stop = time.monotonic() + seconds
        kinds = ["memory", "time", "body", "brute"]
        hostile = [threading.Thread(target=_hostile, args=(port, kinds[k % 4], evil, good_tokens[0], stop, k, seen,
                                                           lock), daemon=True) for k in range(n_hostile)]
        for t in hostile:
            t.start()
        under, under_errs = _run_good(port, good_tokens, n_good, seconds, lock)
        for t in hostile:
            t.join(timeout=120)
        alive = proc.poll() is None
        import httpx

        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=30).status_code if alive else None
    finally:
        sampler.stop.set()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except Exception:
            proc.kill()
    p99_alone = float(np.percentile(alone, 99)) if alone else float("nan")
    p99_under = float(np.percentile(under, 99)) if under else float("nan")
    return {
        "seconds": seconds, "good_clients": n_good, "hostile_clients": n_hostile,
        "peak_rss_mb": round(sampler.peak / 2**20, 1), "ceiling_mb": ceiling_mb,
        "crashes": 0 if alive and health == 200 else 1,
        "good_requests_alone": len(alone), "good_requests_under_attack": len(under),
        "good_errors_alone": alone_errs, "good_errors_under_attack": under_errs,
        "good_p99_alone_ms": round(p99_alone * 1000, 1), "good_p99_under_attack_ms": round(p99_under * 1000, 1),
        "good_p50_alone_ms": round(float(np.percentile(alone, 50)) * 1000, 1) if alone else None,
        "good_p50_under_attack_ms": round(float(np.percentile(under, 50)) * 1000, 1) if under else None,
        "p99_ratio": round(p99_under / p99_alone, 2) if alone and under else None,
        "hostile_outcomes": dict(sorted(seen.items())),
        "load_average_1min_at_end": round(os.getloadavg()[0], 1),
    }


def _run_good(port: int, tokens: list[str], n: int, seconds: float,
              lock: threading.Lock) -> tuple[list[float], dict[str, int]]:
    lat: list[float] = []
    errs: dict[str, int] = {}
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=_good, args=(port, tokens[k % len(tokens)], stop, k, lat, errs, lock),
                                daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errs


def run(quick: bool) -> list[BenchResult]:
    """The soak as a benchmark row (ratio: good clients' p99 under attack / alone)."""
    r = soak(8.0 if quick else 60.0, 10 if quick else 50, 10 if quick else 50)
    events = "4,118 ComCat events" if shared("catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv") else "demo"
    ok = (r["peak_rss_mb"] <= r["ceiling_mb"] and r["crashes"] == 0 and not r["good_errors_under_attack"]
          and r["p99_ratio"] is not None and r["p99_ratio"] <= 2.0)
    return [BenchResult(
        what=f"partner API soak, {r['good_clients']} good + {r['hostile_clients']} hostile, {r['seconds']:g} s ({events})",
        baseline="the same good clients alone (same run)",
        ours_s=r["good_p99_under_attack_ms"] / 1000, baseline_s=r["good_p99_alone_ms"] / 1000,
        ratio=r["p99_ratio"] or float("nan"), target="p99 <= 2x, RSS <= ceiling, 0 crashes",
        passed=ok, ratio_kind="good clients' p99 under attack / p99 alone", details=r,
    )]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--good", type=int, default=50)
    ap.add_argument("--hostile", type=int, default=50)
    ap.add_argument("--ceiling-mb", type=int, default=CEILING_MB)
    args = ap.parse_args()
    print(json.dumps(soak(args.seconds, args.good, args.hostile, args.ceiling_mb), indent=2))


if __name__ == "__main__":
    main()
