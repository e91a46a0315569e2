"""Authoritative products: ComCat event detail GeoJSON, QuakeML focal mechanisms, ShakeMap grid.xml.

Real files (USGS detail of the 2025 Mandalay M7.7, USGS ShakeMap 3.5 of Loma Prieta 1989, BMKG grid
of a 2013 Papua event) skip cleanly without ../shared/data; the synthetic ones run everywhere.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from catalogs.errors import ParseError
from catalogs.focal import parse_focal_mechanisms
from catalogs.products import parse_event_detail
from catalogs.shakemap_grid import ShakeMapGridError, parse_shakemap_grid, read_shakemap_grid
from expedition.science.hazard.shakemap import load_shakemap, mmi_sigma_from_stdpga, parse_shakemap
from tests.products_fixtures import BMKG_NS, EVENT, synthetic_detail, synthetic_grid

DETAIL = "usgs_products/comcat_detail_us7000pn9s.geojson"
LOMA = "shakemap/usgs_lomaprieta_1989_grid.xml"
BMKG = "shakemap/bmkg_20131105060809_grid.xml"


# -- ComCat event detail ---------------------------------------------------------------------------
def test_real_mandalay_detail(shared_data: Path) -> None:
    d = parse_event_detail((shared_data / DETAIL).read_bytes(), DETAIL)
    assert d.provider_event_id == "us7000pn9s"
    assert d.alert_level == "red" and d.mmi == pytest.approx(9.594)
    assert set(d.ids) == {"us7000pn9s", "usauto7000pn9s", "pt25087002", "at00sttln4"}
    assert d.sources == ("us", "usauto", "pt", "at")
    pager = d.preferred("losspager")
    assert pager is not None and pager.alert_level == "red" and pager.max_mmi == 10.0
    assert pager.update_time_utc == dt.datetime(2025, 4, 9, 6, 20, 56, 420000, tzinfo=dt.UTC)
    shake = d.preferred("shakemap")
    assert shake is not None and shake.version == "20" and shake.product_source == "us"
    assert shake.grid_url == "https://earthquake.usgs.gov/product/shakemap/us7000pn9s/us/1744179371937/download/grid.xml"
    ff = d.preferred("finite-fault")
    assert ff is not None and ff.finite_fault is not None
    fault = ff.finite_fault
    assert (fault.strike_deg, fault.dip_deg, fault.rake_deg, fault.length_km) == (358.0, 82.0, -175.0, 200.0)
    assert [s.strike_deg for s in fault.segments] == [358.0, 355.0, 352.0, 350.0]
    assert fault.segment_length_km == pytest.approx(150.4604 + 44.4610 + 102.5584 + 67.9788)
    mt = d.preferred("moment-tensor")  # Mww (weight 218) before Mwc (160)
    assert mt is not None and mt.product_code == "us_7000pn9s_mww"
    assert [(p.strike_deg, p.dip_deg, p.rake_deg) for p in mt.nodal_planes] == [(269.87, 83.92, -7.88), (0.71, 82.17, -173.86)]
    assert len(d.of_type("moment-tensor")) == 2
    assert {p.product_type for p in d.products} >= {"losspager", "shakemap", "finite-fault", "moment-tensor", "dyfi", "oaf"}


def test_synthetic_detail_round_trip() -> None:
    d = parse_event_detail(json.dumps(synthetic_detail(alert="yellow", shakemap_version=3)).encode(), "synthetic")
    assert d.alert_level == "yellow" and d.preferred("losspager").alert_level == "yellow"  # type: ignore[union-attr]
    assert d.preferred("shakemap").version == "3"  # type: ignore[union-attr]
    fault = d.preferred("finite-fault").finite_fault  # type: ignore[union-attr]
    assert fault is not None and fault.segment_length_km == 150.0 and len(fault.segments) == 2
    assert d.origin_time_utc == EVENT.time and d.latitude_deg == EVENT.lat


def test_detail_without_products_and_refusals() -> None:
    bare = synthetic_detail()
    bare["properties"]["products"] = {}
    d = parse_event_detail(json.dumps(bare).encode(), "bare")
    assert d.products == () and d.preferred("losspager") is None
    with pytest.raises(ParseError, match=r"feed\.geojson: a 'FeatureCollection' document: expected a ComCat event detail"):
        parse_event_detail(b'{"type": "FeatureCollection", "features": []}', "feed.geojson")
    with pytest.raises(ParseError, match="x.json: not JSON"):
        parse_event_detail(b"<html>", "x.json")
    broken = synthetic_detail()
    del broken["properties"]["products"]["shakemap"][0]["updateTime"]
    with pytest.raises(ParseError, match=r"products\.shakemap\[0\]: expected source, code and updateTime"):
        parse_event_detail(json.dumps(broken).encode(), "broken")


# -- QuakeML focal mechanisms ----------------------------------------------------------------------
def test_quakeml_focal_mechanisms(shared_data: Path) -> None:
    gcmt = parse_focal_mechanisms(shared_data / "catalogs/quakeml/nepal_2015-05-12_mw7.2_two_origins.qml")
    assert len(gcmt) == 1 and gcmt[0].preferred and gcmt[0].author == "GCMT"
    assert (gcmt[0].nodal_plane_1.strike_deg, gcmt[0].nodal_plane_1.dip_deg, gcmt[0].nodal_plane_1.rake_deg) == (307.0, 11.0, 117.0)
    assert gcmt[0].nodal_plane_2 is not None and gcmt[0].nodal_plane_2.strike_deg == 99.0
    assert gcmt[0].scalar_moment_nm == pytest.approx(8.844e19)
    isc = parse_focal_mechanisms(shared_data / "catalogs/quakeml/isc_bulletin_2004-12-26_mag6plus.qml")
    assert [f.provider_event_id for f in isc] == ["7453977", "7454132"]
    assert isc[0].nodal_plane_1.strike_deg == 186.33 and isc[0].method_id == "smi:ISC/methodID=First_motions"


def test_quakeml_focal_mechanism_synthetic_and_hostile() -> None:
    doc = b"""<?xml version="1.0"?><q:quakeml xmlns:q="http://quakeml.org/xmlns/quakeml/1.2" xmlns="http://quakeml.org/xmlns/bed/1.2">
<eventParameters publicID="smi:x/ep"><event publicID="smi:x/event?eventid=ev1">
<preferredFocalMechanismID>smi:x/fm2</preferredFocalMechanismID>
<focalMechanism publicID="smi:x/fm1"><nodalPlanes><nodalPlane1><strike><value>10</value></strike><dip><value>45</value></dip></nodalPlane1></nodalPlanes></focalMechanism>
<focalMechanism publicID="smi:x/fm2"><nodalPlanes preferredPlane="2"><nodalPlane1><strike><value>30</value></strike><dip><value>60</value></dip><rake><value>90</value></rake></nodalPlane1>
<nodalPlane2><strike><value>210</value></strike><dip><value>30</value></dip><rake><value>90</value></rake></nodalPlane2></nodalPlanes></focalMechanism>
<focalMechanism publicID="smi:x/fm3"><momentTensor/></focalMechanism>
</event></eventParameters></q:quakeml>"""
    fms = parse_focal_mechanisms(doc, "syn.xml")
    assert [(f.public_id, f.preferred, f.preferred_plane, f.provider_event_id) for f in fms] == [
        ("smi:x/fm1", False, None, "ev1"), ("smi:x/fm2", True, 2, "ev1")]
    assert fms[0].nodal_plane_1.rake_deg is None and fms[1].nodal_plane_2.strike_deg == 210.0  # type: ignore[union-attr]
    with pytest.raises(ParseError, match="evil.xml.*DOCTYPE"):
        parse_focal_mechanisms(b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "b">]><q/>', "evil.xml")


# -- ShakeMap grid.xml -----------------------------------------------------------------------------
def test_real_usgs_shakemap_35_grid(shared_data: Path) -> None:
    g = read_shakemap_grid(shared_data / LOMA, expected_ids={"19891018000415"})
    assert (g.agency, g.event_id, g.shakemap_version, g.code_version, g.originator) == ("USGS", "19891018000415", "1", "3.5.1277", "us")
    assert g.fields["MMI"].shape == (193, 241) and g.lons.size == 241 and g.lats.size == 193
    assert g.lons[0] == -125.38 and g.lons[-1] == -119.38 and g.lats[0] == 39.434 and g.lats[-1] == 34.646
    assert g.fields["MMI"].max() == 8.72 and g.fields["MMI"][0, 0] == 3.61 and g.fields["SVEL"][-1, -1] == 555.0
    ig = load_shakemap(shared_data / LOMA)
    assert ig.source == "USGS ShakeMap 3.5.1277 v1 us" and ig.max_mmi == 8.72
    # sigma from STDPGA through WGRW12: first cell PGA 0.52 %g, STDPGA 0.49 ln units
    lamps = np.log10(0.52 / 100 * 981)  # 0.708: lower segment, slope 1.55
    expected = np.sqrt((1.55 * np.log10(np.e) * 0.49) ** 2 + 0.66**2)
    assert 0.14 < lamps < 1.57 and ig.mmi_sigma is not None
    assert ig.mmi_sigma[0, 0] == pytest.approx(expected) and ig.mmi_sigma[0, 0] == pytest.approx(0.7378, abs=1e-4)
    assert ig.sample(np.array([37.04]), np.array([-121.88]))[0] > 7.0  # at the epicentre


def test_real_bmkg_grid(shared_data: Path) -> None:
    g = read_shakemap_grid(shared_data / BMKG)
    assert (g.agency, g.event_id, g.namespace) == ("BMKG", "20131105060809", BMKG_NS)
    assert g.fields["MMI"].shape == (101, 101) and g.fields["MMI"].max() == pytest.approx(3.53)
    assert g.lats[0] == pytest.approx(-1.1813) and g.lons[0] == 139.37
    ig = load_shakemap(shared_data / BMKG)
    assert ig.source.startswith("BMKG ShakeMap 3.5 v1") and ig.attributes["agency"] == "BMKG"


def test_synthetic_grid_with_stdmmi_and_bmkg_namespace() -> None:
    ig = parse_shakemap(synthetic_grid(), "syn.xml", {"us6000test"})
    assert ig.mmi.shape == (61, 61) and ig.max_mmi == 9.0 and ig.version == "1"
    assert ig.mmi_sigma is not None and float(ig.mmi_sigma.max()) == 0.8 and ig.attributes["sigma"] == "STDMMI field of the grid"
    b = parse_shakemap(synthetic_grid(namespace=BMKG_NS, stdmmi=False), "bmkg.xml")
    assert b.attributes["agency"] == "BMKG" and b.mmi_sigma is not None
    assert float(b.mmi_sigma.min()) >= 0.66  # GMICE sigma is the floor of the derived sigma
    assert float(mmi_sigma_from_stdpga(np.array([0.52]), np.array([0.0]))[0]) == pytest.approx(0.66)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[: len(b) // 2], r"bad\.xml: truncated: </grid_data> is missing"),
        (lambda b: b.replace(b"</grid_data>", b"").replace(b"</shakemap_grid>", b""), r"truncated: </grid_data> is missing"),
        (lambda b: b.replace(b"http://earthquake.usgs.gov/eqcenter/shakemap", b"http://example.org/grid"),
         r"namespace 'http://example.org/grid' is not a known ShakeMap namespace \(expected USGS"),
        (lambda b: b.replace(b'name="MMI"', b'name="XMI"'), r"no MMI grid_field .*expected LON, LAT and MMI"),
        (lambda b: b.replace(b"us6000test", b"us6000other"), r"grid of event us6000other: expected event us6000test"),
        (lambda b: b.replace(b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>",
                             b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>'), r"DOCTYPE"),
        (lambda b: b.rsplit(b"\n", 4)[0] + b"\n</grid_data>\n</shakemap_grid>\n", r"numbers in <grid_data>: expected 61 x 61 points x 6 fields"),
        (lambda b: b"<html><body>maintenance</body></html>", r"no <grid_data> element"),
    ],
    ids=["half", "no-close", "foreign-namespace", "no-mmi", "wrong-event", "doctype", "short-data", "html"],
)
def test_bad_grids_raise_one_clear_error(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ShakeMapGridError, match=message) as err:
        parse_shakemap_grid(mutate(synthetic_grid()), "bad.xml", {"us6000test"})
    assert str(err.value).startswith("bad.xml: ")


def test_gzipped_and_zipped_grids_read_the_same(tmp_path: Path) -> None:
    """ShakeMap 3.5 published grid.xml.zip, and a saved download may be grid.xml.gz: both were 'no
    <grid_data> element: truncated or not a ShakeMap grid.xml'."""
    import gzip
    import io
    import zipfile

    plain = parse_shakemap_grid(synthetic_grid(), "grid.xml")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("grid.xml", synthetic_grid())
    (tmp_path / "grid.xml.gz").write_bytes(gzip.compress(synthetic_grid()))
    for got in (read_shakemap_grid(tmp_path / "grid.xml.gz"), parse_shakemap_grid(packed.getvalue(), "grid.xml.zip")):
        assert got.event_id == plain.event_id and set(got.fields) == set(plain.fields)
        assert all(np.array_equal(got.fields[k], plain.fields[k]) for k in plain.fields)
    with pytest.raises(ShakeMapGridError, match=r"cut\.gz: truncated: </grid_data> is missing"):
        parse_shakemap_grid(gzip.compress(synthetic_grid())[:-2000], "cut.gz")
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("info.xml", b"<info/>")
    with pytest.raises(ShakeMapGridError, match=r"o\.zip: a zip archive without exactly one grid\.xml \(it holds info\.xml\)"):
        parse_shakemap_grid(other.getvalue(), "o.zip")


def test_real_grid_of_another_event_is_refused(shared_data: Path) -> None:
    with pytest.raises(ShakeMapGridError, match=r"usgs_lomaprieta_1989_grid.xml: grid of event 19891018000415: expected event"):
        read_shakemap_grid(shared_data / LOMA, expected_ids={"us7000pn9s", "pt25087002"})


def test_grid_across_the_date_line_keeps_longitudes_increasing() -> None:
    text = synthetic_grid(lon0=179.5).decode()
    rows = text.split("<grid_data>\n")
    wrapped = []
    for line in rows[1].splitlines():
        parts = line.split(" ")
        if parts and parts[0].replace(".", "", 1).isdigit() and float(parts[0]) > 180:
            parts[0] = f"{float(parts[0]) - 360:.4f}"
        wrapped.append(" ".join(parts))
    ig = parse_shakemap((rows[0] + "<grid_data>\n" + "\n".join(wrapped)).encode(), "dateline.xml")
    assert ig.lons[0] == 178.0 and ig.lons[-1] == 181.0 and bool(np.all(np.diff(ig.lons) > 0))
    assert ig.sample(np.array([EVENT.lat]), np.array([-179.5]))[0] == pytest.approx(9.0 - np.log2(111.2 * np.cos(np.radians(EVENT.lat)) / 10.0), abs=0.05)


def test_finite_fault_product_gives_the_rupture_plane() -> None:
    from expedition.decisions.response.products import Authoritative
    from expedition.science.hazard.planes import PlaneRupture, site_distances, top_edge

    a = Authoritative(
        "e1", fault_product_id="urn:usgs-product:us:finite-fault:x_1:1", fault_strike_deg=0.0, fault_dip_deg=90.0,
        fault_length_km=200.0, fault_width_km=20.0, fault_top_depth_km=1.0, fault_hypocentre_x_km=115.0,
    )
    planes = a.fault_planes(7.7, 22.0, 96.0, 10.0)
    assert planes is not None and len(planes) == 1
    p = planes[0]
    assert (p.strike_deg, p.dip_deg, p.length_km, p.width_km, p.top_depth_km) == (0.0, 90.0, 200.0, 20.0, 1.0)
    # the hypocentre is 115 km from the plane's start along strike (north): 115 km south, 85 km north of it
    (lat0, lon0), (lat1, lon1) = top_edge(p)
    assert lon0 == pytest.approx(96.0, abs=1e-6) and lon1 == pytest.approx(96.0, abs=1e-6)
    assert lat0 == pytest.approx(22.0 - 115 / 111.195, abs=0.002) and lat1 == pytest.approx(22.0 + 85 / 111.195, abs=0.002)
    # a site 80 km north is above the plane (Rrup = top depth), one 95 km north is 10 km beyond its end
    rup = PlaneRupture((p,), "finite_fault", "test", (22.0, 96.0, 10.0))
    rrup, rjb = site_distances(rup, np.array([22.0 + 80 / 111.195, 22.0 + 95 / 111.195]), np.array([96.0, 96.0]))
    assert rjb[0] == pytest.approx(0.0, abs=0.05) and rrup[0] == pytest.approx(1.0, abs=0.05)
    assert rjb[1] == pytest.approx(10.0, abs=0.1)
    # a dipping plane: the hypocentre (10 km deep) stays on it, the top edge lies up dip (west of it for strike 0)
    dipping = Authoritative("e2", fault_strike_deg=0.0, fault_dip_deg=45.0, fault_length_km=100.0,
                            fault_top_depth_km=2.0).fault_planes(7.0, 22.0, 96.0, 10.0)
    assert dipping is not None
    east_km = (dipping[0].top_lon - 96.0) * 111.195 * np.cos(np.radians(22.0))
    assert east_km == pytest.approx(-8.0, abs=0.05) and dipping[0].top_lat == pytest.approx(22.0, abs=1e-4)
    # no dip or no length: no planes
    assert Authoritative("e3", fault_strike_deg=10.0, fault_length_km=100.0).fault_planes(7.0, 22.0, 96.0, 10.0) is None
    assert Authoritative("e4", fault_strike_deg=10.0, fault_dip_deg=80.0).fault_planes(7.0, 22.0, 96.0, 10.0) is None


def test_mechanism_nodal_planes_and_rake() -> None:
    from expedition.decisions.response.products import Authoritative

    both = Authoritative("e1", mechanism_product_id="m", mechanism_planes=((269.9, 83.9, -7.9), (0.7, 82.2, -173.9)))
    assert both.nodal_planes == [(269.9, 83.9), (0.7, 82.2)] and both.rake == -7.9
    # the finite fault's rake wins over the mechanism's
    assert Authoritative("e2", fault_rake_deg=-175.0, mechanism_planes=both.mechanism_planes).rake == -175.0
    assert Authoritative("e3").nodal_planes == [] and Authoritative("e3").rake is None
