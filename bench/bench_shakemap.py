"""ShakeMap ``grid.xml`` reading: ``load_shakemap`` vs a naive ElementTree parse (same file, same run).

Data: the real USGS ShakeMap 3.5 grid of the 1989 Loma Prieta earthquake (2.8 MB, 241 x 193 points,
11 fields; ``shakemap/usgs_lomaprieta_1989_grid.xml`` of the shared data, or ``$QE_SHARED_DATA``).

Baseline: the obvious code: ``xml.etree.ElementTree.parse`` of the whole document, the
``grid_data`` text split and converted by ``float()`` into a numpy array, reshaped to
(nlat, nlon, fields). Ours: :func:`expedition.science.hazard.shakemap.load_shakemap`, which does more
(header checks, namespace and event checks, the MMI sigma derived from STDPGA through WGRW12) and
returns the :class:`~expedition.science.hazard.grid.IntensityGrid`. Both are timed by wall clock, best of
``repeat``; our data block is read by Arrow's CSV reader, which may use a second thread.

Target: well under a second for this grid (< 0.25 s), and faster than the baseline.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET  # the baseline being measured, on a trusted fixture
from pathlib import Path

import numpy as np

from bench.common import BenchResult, best_of, shared
from expedition.science.hazard.shakemap import load_shakemap

LOMA = "shakemap/usgs_lomaprieta_1989_grid.xml"
TARGET_S = 0.25


def _path() -> Path | None:
    env = os.environ.get("QE_SHARED_DATA")
    if env and (Path(env) / LOMA).exists():
        return Path(env) / LOMA
    return shared(LOMA)


def naive_elementtree(path: Path) -> np.ndarray:
    """The baseline: a DOM parse, then float() of every token."""
    root = ET.parse(path).getroot()  # trusted fixture (the baseline)
    ns = root.tag.partition("}")[0] + "}"
    spec = root.find(f"{ns}grid_specification")
    assert spec is not None
    nlon, nlat = int(spec.get("nlon", "0")), int(spec.get("nlat", "0"))
    nfields = len(root.findall(f"{ns}grid_field"))
    data = root.find(f"{ns}grid_data")
    assert data is not None and data.text is not None
    values = np.array([float(x) for x in data.text.split()], dtype=np.float64)
    return values.reshape(nlat, nlon, nfields)


def run(quick: bool = False) -> list[BenchResult]:
    path = _path()
    if path is None:
        return []
    repeat = 3 if quick else 5
    ours_s, grid = best_of(lambda: load_shakemap(path), repeat=repeat)
    base_s, table = best_of(lambda: naive_elementtree(path), repeat=2 if quick else 3)
    same = bool(np.array_equal(table[:, :, 4], grid.mmi))  # MMI is field 5 of this grid
    return [
        BenchResult(
            what=f"ShakeMap grid.xml -> IntensityGrid, Loma Prieta ({path.stat().st_size / 1e6:.1f} MB)",
            baseline="ElementTree parse + float() per token",
            ours_s=ours_s,
            baseline_s=base_s,
            ratio=base_s / ours_s,
            target=f"< {TARGET_S} s, faster, same MMI",
            passed=ours_s < TARGET_S and base_s > ours_s and same,
            ratio_kind="speed-up (baseline wall time / our wall time)",
            details={"ours_ms": round(ours_s * 1000, 1), "baseline_ms": round(base_s * 1000, 1), "same_mmi": same,
                     "points": int(grid.mmi.size)},
        )
    ]
