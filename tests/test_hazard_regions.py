"""USGS STREC's tectonic regions, read from the polygons the ``usgs-strec`` package ships, and
ShakeMap's selection rules on them (the measured, not adopted, tectonic rules of docs/science.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from expedition.science.hazard import HazardInputError
from expedition.science.hazard.regions import (
    RegionInfo,
    TectonicRegions,
    load_regions,
    setting_from_region,
    subduction_probabilities,
)


@pytest.fixture(scope="module")
def regions() -> TectonicRegions:
    r = load_regions()
    if r is None:  # the Makefile's venv installs it (data only, --no-deps)
        pytest.skip("usgs-strec is not installed")
    return r


def test_regions_of_known_epicentres(regions: TectonicRegions) -> None:
    assert regions.source.startswith("usgs-strec")
    gorkha = regions.lookup(28.23, 84.73)
    assert (gorkha.region, gorkha.subduction_zone) == ("Subduction", "him")  # Slab2's Himalaya zone
    assert regions.lookup(-36.12, -72.90).subduction_zone == "sam"  # Maule 2010
    assert regions.lookup(40.75, 29.86).region == "Active"  # Izmit 1999, in the Sea of Marmara
    bhuj = regions.lookup(23.42, 70.23)  # Bhuj 2001, Kachchh
    assert bhuj.region == "Stable" and bhuj.distance_km["stable"] == 0.0
    assert bhuj.distance_km["subduction"] > 100.0
    # longitudes beyond 180 are wrapped as STREC does
    wrapped, plain = regions.lookup(-36.12, -72.90 + 360.0), regions.lookup(-36.12, -72.90)
    assert (wrapped.region, wrapped.subduction_zone) == (plain.region, plain.subduction_zone)
    assert wrapped.distance_km == pytest.approx(plain.distance_km)
    with pytest.raises(HazardInputError):
        regions.lookup(float("nan"), 10.0)


def test_a_folder_without_the_files_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HazardInputError, match="active.geojson"):
        TectonicRegions.from_folder(tmp_path)


def test_subduction_probabilities_without_a_slab_model() -> None:
    """STREC's sm_probs.get_subduction_probs (above_slab False) with select.conf's parameters,
    worked by hand: interface trapezoid 17-27 / 45-55 km, magnitude ramp 7.0-8.5, slab below 36 km."""
    p = subduction_probabilities(10.0, 6.0)
    assert p == pytest.approx({"crustal": 1.0, "interface": 0.0, "intraslab": 0.0})
    p = subduction_probabilities(22.0, 6.9)  # half way up the ramp
    assert p == pytest.approx({"crustal": 0.5, "interface": 0.5, "intraslab": 0.0})
    p = subduction_probabilities(61.0, 7.5)  # Oaxaca 1999: interface only through magnitude, 1/3
    assert p == pytest.approx({"crustal": 0.0, "interface": 1.0 / 3.0, "intraslab": 2.0 / 3.0})
    p = subduction_probabilities(8.0, 7.8)  # Gorkha: a great shallow event leans to the interface
    assert p["interface"] == pytest.approx(0.8 / 1.5)
    assert sum(subduction_probabilities(40.0, 7.2).values()) == pytest.approx(1.0)


def test_setting_from_region_rules() -> None:
    dist = {"active": 0.0, "stable": 500.0, "subduction": 300.0, "volcanic": 400.0}
    active = RegionInfo("Active", None, dist)
    assert setting_from_region(active, 12.0, 7.0)[0] == "active_crust"
    assert setting_from_region(active, 33.0, 6.4)[0] == "deep_crust"  # ShakeMap's acr deep from 30 km
    assert setting_from_region(active, 33.0, 6.4, acr_deep_km=45.0)[0] == "active_crust"
    assert setting_from_region(RegionInfo("Stable", None, dist), 10.0, 6.0)[0] == "stable_crust"
    sub = RegionInfo("Subduction", "cam", dist)
    setting, reason = setting_from_region(sub, 61.0, 7.5)
    assert setting == "intraslab" and "STREC Subduction (cam)" in reason
    assert setting_from_region(sub, 61.0, 7.5, rule="layers")[0] == "interface"  # 15-70 km
    assert setting_from_region(sub, 80.0, 7.5, rule="layers")[0] == "intraslab"
    assert setting_from_region(sub, 10.0, 6.0, rule="layers")[0] == "active_crust"
    with pytest.raises(HazardInputError):
        setting_from_region(sub, 30.0, 7.0, rule="slab2")


def test_assess_with_the_strec_rule(tmp_path: Path, regions: TectonicRegions) -> None:
    from expedition.decisions.response.assess import load_context, shaking_model_for
    from expedition.decisions.response.events import EventRow
    from expedition.settings import load_settings

    ctx = load_context(load_settings(home=tmp_path / "home"))
    when = dt.datetime(2015, 4, 25, 6, 11, tzinfo=dt.UTC)
    gorkha = EventRow("us20002926", 1, when, 28.23, 84.73, 8.2, 7.8, "Mww", "earthquake", "Nepal")
    assert shaking_model_for(ctx, gorkha).setting == "active_crust"  # the proxy (default): on land, shallow
    ctx.tectonic_rule = "strec"
    model = shaking_model_for(ctx, gorkha)
    assert model.setting == "interface" and "STREC Subduction (him)" in model.setting_reason
    ctx.subduction_set = "shakemap"
    assert shaking_model_for(ctx, gorkha).gmm_name == "NSHMP14 interface set"
    ctx.tectonic_rule = "slab2"
    with pytest.raises(HazardInputError):
        shaking_model_for(ctx, gorkha)
