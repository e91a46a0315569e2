"""Rupture planes, tectonic setting and the ShakeMap-style intensity grid."""

from __future__ import annotations

import math

import numpy as np
import pytest

from expedition.science.geo.distance import from_local_xy_km
from expedition.science.hazard import HazardInputError
from expedition.science.hazard.gmice import mmi_sigma_from_ln
from expedition.science.hazard.planes import (
    N_POSITIONS,
    N_STRIKES,
    Plane,
    PlaneRupture,
    choose_ruptures,
    plane_at_hypocentre,
    rupture_size_km,
    site_distances,
)
from expedition.science.hazard.shaking import (
    SLAB_SEA_KM,
    build_model,
    grid_axes,
    mmi_at,
    reach_km,
    shaking_grid,
    tectonic_setting,
)

LAT0, LON0 = 10.0, 20.0


def _site(x_km: float, y_km: float) -> tuple[float, float]:
    la, lo = from_local_xy_km(np.array([[x_km, y_km]]), LAT0, LON0)
    return float(la[0]), float(lo[0])


def test_vertical_plane_distances() -> None:
    # a vertical N-S plane, 40 km long, top at 2 km, 10 km wide, centred on the origin
    rup = PlaneRupture((Plane(LAT0, LON0, 2.0, 0.0, 90.0, 40.0, 10.0),), "focal_mechanism", "test", (LAT0, LON0, 7.0))
    lat, lon = zip(_site(0.0, 10.0), _site(5.0, 0.0), _site(0.0, 30.0))
    rrup, rjb = site_distances(rup, np.array(lat), np.array(lon))
    assert rjb[0] == pytest.approx(0.0, abs=0.05)  # on the trace
    assert rrup[0] == pytest.approx(2.0, abs=0.05)  # straight up from the top edge
    assert rjb[1] == pytest.approx(5.0, abs=0.05)
    assert rrup[1] == pytest.approx(math.hypot(5.0, 2.0), abs=0.05)
    assert rjb[2] == pytest.approx(10.0, abs=0.05)  # 10 km beyond the end


def test_rupture_distance_is_the_nearest_point_of_the_rectangle() -> None:
    """Rrup against a brute-force minimum over a dense sampling of each plane (0.25 km steps), for
    oblique strikes and dips and sites on both walls, at depth and beyond the ends."""
    rng = np.random.default_rng(11)
    for strike, dip, top in ((37.0, 25.0, 1.0), (200.0, 70.0, 0.0), (310.0, 45.0, 6.0)):
        plane = Plane(LAT0, LON0, top, strike, dip, 30.0, 12.0)
        rup = PlaneRupture((plane,), "focal_mechanism", "test", (LAT0, LON0, top + 5.0))
        xs, ys = rng.uniform(-40, 40, 30), rng.uniform(-40, 40, 30)
        lat, lon = zip(*(_site(x, y) for x, y in zip(xs, ys)))
        rrup, _ = site_distances(rup, np.array(lat), np.array(lon))
        s, d = math.radians(strike), math.radians(dip)
        along = np.array([math.sin(s), math.cos(s), 0.0])
        down = np.array([math.cos(d) * math.cos(s), -math.cos(d) * math.sin(s), math.sin(d)])
        u, v = np.meshgrid(np.arange(-15.0, 15.001, 0.25), np.arange(0.0, 12.001, 0.25))
        pts = u.ravel()[:, None] * along + v.ravel()[:, None] * down + np.array([0.0, 0.0, top])
        for k, (x, y) in enumerate(zip(xs, ys)):
            brute = np.min(np.linalg.norm(pts - np.array([x, y, 0.0]), axis=1))
            assert rrup[k] == pytest.approx(brute, abs=0.2), (strike, dip, x, y)


def test_dipping_plane_hanging_wall_has_zero_rjb() -> None:
    # strike north, dip 30 degrees to the east, width 20 km: surface projection 0..17.3 km east
    plane = Plane(LAT0, LON0, 0.0, 0.0, 30.0, 50.0, 20.0)
    rup = PlaneRupture((plane,), "finite_fault", "test", (LAT0, LON0, 5.0))
    lat, lon = zip(_site(10.0, 0.0), _site(-10.0, 0.0))
    rrup, rjb = site_distances(rup, np.array(lat), np.array(lon))
    assert rjb[0] == pytest.approx(0.0, abs=0.05)  # above the plane (hanging wall)
    assert rrup[0] == pytest.approx(10.0 * math.sin(math.radians(30.0)), abs=0.05)
    assert rjb[1] == pytest.approx(10.0, abs=0.05)  # footwall side


def test_plane_at_hypocentre_stays_below_the_surface() -> None:
    p = plane_at_hypocentre(LAT0, LON0, 5.0, 90.0, 45.0, 60.0, 30.0)
    assert p.top_depth_km == 0.0
    assert p.bottom_depth_km == pytest.approx(30.0 * math.sin(math.radians(45.0)))
    with pytest.raises(HazardInputError):
        Plane(LAT0, LON0, 0.0, 0.0, 0.0, 10.0, 10.0)  # dip must be > 0


def test_rupture_sizes_follow_the_scaling_laws() -> None:
    # Wells & Coppersmith (1994): M7 RLD = 10^(-2.44 + 0.59 * 7) = 51 km; Strasser et al. (2010) interface M8
    assert rupture_size_km(7.0, "active_crust")[0] == pytest.approx(10 ** (-2.44 + 0.59 * 7.0))
    assert rupture_size_km(8.0, "interface") == pytest.approx((10 ** (-2.477 + 0.585 * 8), 10 ** (-0.882 + 0.351 * 8)))


def test_choose_ruptures_prefers_the_best_information() -> None:
    ff = [Plane(LAT0, LON0, 0.0, 358.0, 82.0, 200.0, 20.0)]
    assert [r.orientation for r in choose_ruptures(7.7, LAT0, LON0, 10.0, "active_crust", finite_fault=ff)] == [
        "finite_fault"
    ]
    fm = choose_ruptures(7.0, LAT0, LON0, 10.0, "active_crust", nodal_planes=[(10.0, 80.0), (100.0, 40.0)])
    assert [r.orientation for r in fm] == ["focal_mechanism", "focal_mechanism"]
    assert fm[0].planes[0].strike_deg == 10.0 and fm[1].planes[0].dip_deg == 40.0
    after = choose_ruptures(7.0, LAT0, LON0, 10.0, "active_crust", aftershock_trace=((10.0, 20.0), (10.5, 20.0)))
    assert {r.orientation for r in after} == {"aftershock_zone"} and len(after) == 2
    strike = after[0].planes[0].strike_deg
    assert min(strike, 360.0 - strike) == pytest.approx(0.0, abs=0.5)  # the trace runs north
    unknown = choose_ruptures(7.0, LAT0, LON0, 10.0, "active_crust")
    assert len(unknown) == N_STRIKES * N_POSITIONS and unknown[0].orientation == "unknown_strike"
    assert choose_ruptures(5.5, LAT0, LON0, 10.0, "active_crust")[0].orientation == "point"


def test_tectonic_setting_rules() -> None:
    assert tectonic_setting(81.0, True)[0] == "intraslab"  # Padang 2009
    assert tectonic_setting(22.4, True)[0] == "interface"  # Illapel 2015, offshore
    assert tectonic_setting(22.4, True, rake=180.0)[0] == "active_crust"  # offshore strike-slip
    assert tectonic_setting(12.0, False)[0] == "active_crust"
    # intermediate depth: intraslab only where a slab is plausible (at sea, or the sea within SLAB_SEA_KM)
    assert tectonic_setting(61.0, False, sea_km=20.0)[0] == "intraslab"  # Oaxaca 1999
    assert tectonic_setting(61.0, False, sea_km=SLAB_SEA_KM)[0] == "intraslab"
    setting, reason = tectonic_setting(50.0, False, sea_km=float("inf"))  # Sikkim 2011, under the Himalaya
    assert setting == "deep_crust" and "no slab" in reason
    assert tectonic_setting(50.0, False)[0] == "intraslab"  # sea distance unknown: the previous rule
    assert tectonic_setting(10.0, False, override="stable_crust") == ("stable_crust", "given")
    with pytest.raises(HazardInputError):
        tectonic_setting(10.0, False, override="mantle")


def test_grid_covers_the_intensity_iv_area_and_reaches_x() -> None:
    # Kobe-like M6.9 crustal event with a known vertical strike-slip plane (strike 233)
    rups = choose_ruptures(6.9, 34.6, 135.0, 10.0, "active_crust", nodal_planes=[(233.0, 85.0)])
    model = build_model(6.9, 34.6, 135.0, 10.0, ("active_crust", "test"), rups, vs30=300.0)
    grid = shaking_grid(model, event_id="kobe")
    assert grid.mmi_sigma is not None and grid.event_id == "kobe"
    assert 8.5 <= grid.max_mmi <= 10.0  # near-fault intensity IX-X, no longer saturating near 8
    edge = np.concatenate([grid.mmi[0], grid.mmi[-1], grid.mmi[:, 0], grid.mmi[:, -1]])
    assert np.median(edge) < 4.0  # the box reaches out to about intensity IV
    assert grid.attributes["rupture_orientation"] == "focal_mechanism"
    assert "BSSA14" in grid.source and "Vs30_default=300m/s" in grid.source
    # along the strike the shaking is stronger than across it at the same epicentral distance
    along = mmi_at(model, *_at_azimuth(34.6, 135.0, 233.0, 40.0))[0][0]
    across = mmi_at(model, *_at_azimuth(34.6, 135.0, 323.0, 40.0))[0][0]
    assert along > across + 0.5
    # a softer site shakes harder away from the fault (near it, soil nonlinearity limits the gain)
    soft = build_model(6.9, 34.6, 135.0, 10.0, ("active_crust", "t"), rups, vs30=200.0)
    assert mmi_at(soft, [35.5], [136.2])[0][0] > mmi_at(model, [35.5], [136.2])[0][0]


def _at_azimuth(lat: float, lon: float, az_deg: float, dist_km: float) -> tuple[list[float], list[float]]:
    a = math.radians(az_deg)
    la, lo = from_local_xy_km(np.array([[dist_km * math.sin(a), dist_km * math.cos(a)]]), lat, lon)
    return [float(la[0])], [float(lo[0])]


def test_unknown_strike_averages_and_widens_sigma() -> None:
    rups = choose_ruptures(7.5, LAT0, LON0, 15.0, "active_crust")
    model = build_model(7.5, LAT0, LON0, 15.0, ("active_crust", "t"), rups, vs30=400.0)
    la, lo = _at_azimuth(LAT0, LON0, 0.0, 60.0)
    mmi, sigma = mmi_at(model, la, lo)
    single = build_model(7.5, LAT0, LON0, 15.0, ("active_crust", "t"), rups[:1], vs30=400.0)
    _, s1 = mmi_at(single, la, lo)
    assert sigma[0] > s1[0]  # the spread between strikes adds to the variance
    assert 3.5 < mmi[0] < 10.0
    assert reach_km(model) > 100.0
    lons, lats = grid_axes(model)
    assert lons.size <= 2 * 80 + 3 and lats[0] > lats[-1]  # north to south, as ShakeMap


def test_grid_keeps_each_hypothesis_and_their_mean() -> None:
    rups = choose_ruptures(7.0, LAT0, LON0, 10.0, "active_crust")
    grid = shaking_grid(build_model(7.0, LAT0, LON0, 10.0, ("active_crust", "t"), rups, vs30=400.0))
    assert grid.mmi_hypotheses is not None and grid.mmi_hypotheses.shape == (N_STRIKES * N_POSITIONS, *grid.mmi.shape)
    assert np.allclose(grid.mmi_hypotheses.mean(axis=0), grid.mmi)
    # one hypothesis (a point source): no layers
    point = choose_ruptures(5.5, LAT0, LON0, 10.0, "active_crust")
    assert shaking_grid(build_model(5.5, LAT0, LON0, 10.0, ("active_crust", "t"), point)).mmi_hypotheses is None


def test_deep_crust_model_runs_on_a_grid() -> None:
    rups = choose_ruptures(6.9, LAT0, LON0, 50.0, "deep_crust")
    model = build_model(6.9, LAT0, LON0, 50.0, ("deep_crust", "t"), rups, vs30=300.0)
    slab = build_model(6.9, LAT0, LON0, 50.0, ("intraslab", "t"), choose_ruptures(6.9, LAT0, LON0, 50.0, "intraslab"))
    assert model.gmm_name == "Zhao06 crustal"
    la, lo = _at_azimuth(LAT0, LON0, 45.0, 10.0)
    assert mmi_at(model, la, lo)[0][0] < mmi_at(slab, la, lo)[0][0]


def test_grid_across_the_date_line_keeps_longitudes_increasing() -> None:
    rups = choose_ruptures(6.0, -17.0, -179.9, 10.0, "active_crust")
    model = build_model(6.0, -17.0, -179.9, 10.0, ("active_crust", "t"), rups, vs30=400.0)
    grid = shaking_grid(model)
    assert np.all(np.diff(grid.lons) > 0) and grid.lons[0] > 0.0


def test_grid_carries_the_event_term_sigma() -> None:
    """BSSA14's between-event tau for PGV at M >= 5.5 is 0.346 (Boore et al. 2014, Table 2); through
    the upper WGRW12 PGV slope (C4 = 3.16 per log10) it is 3.16 x 0.346 / ln 10 = 0.475 MMI; Zhao06
    interface tau 0.308 through the PGA slope (C4 = 3.70) is 0.495 MMI. Clipped intensities get 0."""
    rups = choose_ruptures(6.9, 34.6, 135.0, 10.0, "active_crust", nodal_planes=[(233.0, 85.0)])
    grid = shaking_grid(build_model(6.9, 34.6, 135.0, 10.0, ("active_crust", "t"), rups, vs30=300.0))
    assert grid.mmi_sigma_event is not None and grid.mmi_sigma is not None
    upper = (grid.mmi > 5.0) & (grid.mmi < 9.9)
    np.testing.assert_allclose(grid.mmi_sigma_event[upper], 3.16 * 0.346 / math.log(10.0), rtol=1e-9)
    assert np.all(grid.mmi_sigma_event < grid.mmi_sigma)
    inter = choose_ruptures(8.0, LAT0, LON0, 25.0, "interface")
    g2 = shaking_grid(build_model(8.0, LAT0, LON0, 25.0, ("interface", "t"), inter, vs30=300.0))
    assert g2.mmi_sigma_event is not None
    upper2 = (g2.mmi > 5.0) & (g2.mmi < 9.9)
    np.testing.assert_allclose(g2.mmi_sigma_event[upper2], 3.70 * 0.308 / math.log(10.0), rtol=1e-9)
    assert mmi_sigma_from_ln("pgv", np.array([np.log(1e4)]), 0.346)[0] == 0.0  # MMI clipped at X


def test_unknown_strike_places_the_hypocentre_uniformly_along_strike() -> None:
    """Each strike carries N_POSITIONS ruptures with the hypocentre at the midpoints of equal parts of
    the rupture along strike (L/6, L/2, 5L/6 for three), as ps2ff's uniform hypocentre."""
    from expedition.science.geo.distance import local_xy_km
    from expedition.science.hazard.planes import top_edge, unknown_strike_ruptures

    rups = unknown_strike_ruptures(7.0, LAT0, LON0, 10.0, "active_crust")
    north = rups[:N_POSITIONS]  # strike 0: along strike is north
    length = north[0].planes[0].length_km
    starts = [local_xy_km([top_edge(r.planes[0])[0][0]], [top_edge(r.planes[0])[0][1]], LAT0, LON0)[0] for r in north]
    along = [-float(xy[1]) for xy in starts]  # from the start of the top edge to the hypocentre
    expected = [(k + 0.5) / N_POSITIONS * length for k in range(N_POSITIONS)]
    assert along == pytest.approx(expected, abs=0.05)
    assert {r.planes[0].strike_deg for r in north} == {0.0}
