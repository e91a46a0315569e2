"""SIGKILL during a lake append: no partial data is visible, a rerun completes, orphans are cleaned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from warehouse.lake import Lake
from warehouse.maintain import maintain

WRITER = r"""
import sys, pyarrow as pa
from expedition.settings import load_settings
from warehouse.lake import Lake
lake = Lake.from_settings(load_settings(sys.argv[1]))
n = int(sys.argv[2]); start = int(sys.argv[3])
for b in range(start, 4):
    ids = [f"ev-{b}-{i}" for i in range(n)]
    batch = pa.table({"event_id": ids, "magnitude_value": [float(i % 9) for i in range(n)], "region_name": ["x" * 40] * n})
    with lake.writer() as w:
        w.write("events", batch, mode="insert_new")
        w.write("event_aliases", pa.table({"provider": ["T"] * n, "provider_event_id": ids, "event_id": ids}))
        print(f"committed {b}", flush=True)
"""


def _counts(lake: Lake) -> tuple[int, int]:
    con = lake.connect(read_only=True)
    try:
        e = con.execute("SELECT count(*) FROM events").fetchone()
        a = con.execute("SELECT count(*) FROM event_aliases").fetchone()
        return int(e[0]), int(a[0])  # type: ignore[index]
    finally:
        con.close()


def test_sigkill_mid_append_leaves_no_partial_rows(lake: Lake) -> None:
    n = 150_000
    killed_after = []
    for delay in (0.8, 1.6, 2.4):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(lake.home), str(n), "0"],
            stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1],
        )
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        events, aliases = _counts(lake)
        # whole transactions only: both tables hold the same complete batches
        assert events % n == 0 and events == aliases, (events, aliases)
        killed_after.append(events // n)
    assert killed_after[0] < 4, "the writer finished before it was killed: raise n"
    # a rerun completes and converges, with no duplicates
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(lake.home), str(n), "0"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert _counts(lake) == (4 * n, 4 * n)
    # files from killed writers are unreferenced: maintenance removes them, data stays intact
    maintain(lake)
    assert _counts(lake) == (4 * n, 4 * n)
    con = lake.connect(read_only=True)
    assert con.execute("SELECT count(DISTINCT event_id) FROM events").fetchone() == (4 * n,)
    con.close()
