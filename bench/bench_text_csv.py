"""Delimited catalogs: ``parse_fdsn_text`` / ``parse_comcat_csv`` vs a bare ``pyarrow.csv.read_csv``.

The baseline is the least any reader must do: ``pyarrow.csv.read_csv`` of the same file with type
inference (``|`` as delimiter for FDSN text), producing raw columns only. Ours also checks every
value, maps providers and types, builds ids, ``source_ref`` and the solution schema. Target: at
most 2x the baseline's time.

Files: the real 4,118-row ComCat export and its FDSN-text twin from ``../shared/data``, and the
same rows replicated to 10k, 100k and (full mode) 1M rows in ``bench/.work/``. Wall times (pyarrow
reads on several threads), best of alternating runs so machine load hits both sides alike.

Also ``write_fdsn_text`` vs ObsPy's EVENTTXT writer on the 4,118 events (CPU time, one thread each).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv

from bench.common import WORK, BenchResult, best_of, shared, writer_round_trip
from catalogs.comcat_csv import parse_comcat_csv
from catalogs.fdsntext import parse_fdsn_text
from catalogs.quakeml_write import write_fdsn_text

TARGET_RATIO = 2.0
FILES = {
    "FDSN text": ("catalogs/fdsn_text/DERIVED_comcat_2022-2024_m5plus_as_fdsn_text.txt", "|"),
    "ComCat CSV": ("catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv", ","),
}


def replicate(src: Path, rows: int) -> Path:
    """``bench/.work/<stem>_<rows>.<ext>``: the header once, then the data lines repeated (atomic write)."""
    WORK.mkdir(parents=True, exist_ok=True)
    out = WORK / f"{src.stem}_{rows}{src.suffix}"
    if out.exists():
        return out
    lines = src.read_bytes().splitlines(keepends=True)
    header, body = lines[0], [ln if ln.endswith(b"\n") else ln + b"\n" for ln in lines[1:] if ln.strip()]
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(header)
        full, rest = divmod(rows, len(body))
        chunk = b"".join(body)
        for _ in range(full):
            fh.write(chunk)
        fh.write(b"".join(body[:rest]))
    tmp.replace(out)
    return out


def _bare(path: Path, delimiter: str) -> Any:
    return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter))


def _interleaved(base: Callable[[], Any], ours: Callable[[], Any], repeat: int) -> tuple[float, Any, float, Any]:
    """Best times of baseline and ours, run alternately so that machine load hits both alike."""
    base_best = ours_best = float("inf")
    base_out = ours_out = None
    for _ in range(repeat):
        t, base_out = best_of(base, repeat=1)
        base_best = min(base_best, t)
        t, ours_out = best_of(ours, repeat=1)
        ours_best = min(ours_best, t)
    return base_best, base_out, ours_best, ours_out


def run(quick: bool = False) -> list[BenchResult]:
    results: list[BenchResult] = []
    sizes = (10_000,) if quick else (10_000, 100_000, 1_000_000)
    for kind, (rel, delimiter) in FILES.items():
        src = shared(rel)
        if src is None:
            print(f"bench_text_csv: {rel} absent, skipped", file=sys.stderr)
            continue
        parser: Callable[[Path], Any] = parse_fdsn_text if kind == "FDSN text" else parse_comcat_csv
        paths = [src] + [replicate(src, n) for n in sizes]
        for path in paths:
            repeat = 9 if path.stat().st_size < 50_000_000 else 5
            base_s, bare, ours_s, table = _interleaved(partial(_bare, path, delimiter), partial(parser, path), repeat)
            assert table.num_rows == bare.num_rows, f"{path.name}: {table.num_rows} rows vs {bare.num_rows}"
            ratio = ours_s / base_s
            results.append(
                BenchResult(
                    what=f"{parser.__name__}, {kind}, {table.num_rows:,} rows",
                    baseline="bare pyarrow.csv.read_csv, same file",
                    ours_s=ours_s,
                    baseline_s=base_s,
                    ratio=ratio,
                    target=f"<= {TARGET_RATIO:.1f}x baseline time",
                    passed=ratio <= TARGET_RATIO,
                    ratio_kind="time ratio (ours / baseline)",
                    details={
                        "file": path.name,
                        "mb": round(path.stat().st_size / 1e6, 1),
                        "ours_rows_per_s": round(table.num_rows / ours_s),
                    },
                )
            )
    twin = shared(FILES["FDSN text"][0])
    if twin is not None:
        results.append(_text_writer(twin))
    return results


def _text_writer(path: Path) -> BenchResult:
    """write_fdsn_text vs ObsPy's EVENTTXT writer on the same 4,118 events (CPU time: one thread each)."""
    import obspy

    rows = parse_fdsn_text(path)
    catalog = obspy.read_events(io.StringIO(path.read_text(encoding="utf-8")), format="EVENTTXT")
    return writer_round_trip(
        f"write_fdsn_text, {rows.num_rows:,} events", "obspy Catalog.write(format='EVENTTXT'), same events", rows,
        lambda: write_fdsn_text(rows), lambda: catalog.write(io.StringIO(), format="EVENTTXT"), parse_fdsn_text,
        ("provider_event_id", "origin_time_utc", "origin_latitude_deg", "magnitude_value", "region_name"), repeat=5)
