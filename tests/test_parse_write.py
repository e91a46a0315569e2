"""QuakeML / FDSN-text writers (read back by our parsers and by ObsPy) and the ObsPy adapter."""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from lxml import etree

from catalogs.detect import read_catalog_file
from catalogs.errors import CatalogError, ParseError
from catalogs.fdsntext import parse_fdsn_text
from catalogs.obspy_io import from_obspy
from catalogs.quakeml import parse_quakeml
from catalogs.quakeml_write import write_fdsn_text, write_quakeml
from catalogs.rows import SOLUTION_ROW_SCHEMA, empty_solutions

DATA = Path(__file__).parent / "data" / "catalogs"
VALUES = [n for n in SOLUTION_ROW_SCHEMA.names if n not in ("alias_ids", "source_ref")]
TEXT_VALUES = [n for n in VALUES if n not in ("review_status", "updated_time_utc")]


@pytest.fixture(scope="module")
def xsd() -> Any:
    import obspy.io.quakeml

    schema_dir = Path(obspy.io.quakeml.__file__).parent / "data"
    return etree.XMLSchema(etree.parse(str(schema_dir / "QuakeML-1.2.xsd")))


@pytest.fixture(scope="module")
def sample(shared_data: Path) -> pa.Table:
    """Real rows of every kind: ISC, SED, INGV, ComCat QuakeML, IRIS text, the Kaggle CSV head."""
    root = shared_data / "catalogs"
    parts = [
        read_catalog_file(root / "quakeml" / name)
        for name in (
            "isc_bulletin_2004-12-26_mag5plus.qml",
            "sed_fdsnws_2024-01_query.xml",
            "ingv_25883121_5mags_picks.qml",
            "usgs_comcat_2008-01_m6plus.qml",
            "obspy_ipec_2024-09_bulletin.xml",
            "obspy_neries_events.xml",
        )
    ]
    parts.append(read_catalog_file(root / "fdsn_text" / "stream2segment_iris_isc_events.txt"))
    parts.append(read_catalog_file(root / "usgs_csv" / "comcat_export_2022-2024_m5plus.csv").slice(0, 300))
    return pa.concat_tables(parts)


def _same(a: pa.Table, b: pa.Table, columns: list[str]) -> None:
    assert a.num_rows == b.num_rows
    for name in columns:
        for i, (x, y) in enumerate(zip(a.column(name).to_pylist(), b.column(name).to_pylist())):
            if name == "origin_depth_km" and x is not None and y is not None:
                assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12), f"{name} row {i}"
            else:
                assert x == y, f"{name} row {i}: {x!r} != {y!r}"


def test_quakeml_round_trip_is_schema_valid_and_lossless(sample: pa.Table, xsd: Any) -> None:
    data = write_quakeml(sample)
    assert xsd.validate(etree.fromstring(data)), xsd.error_log
    _same(sample, parse_quakeml(data), VALUES)


@pytest.mark.slow
def test_obspy_reads_our_quakeml_to_the_same_values(sample: pa.Table) -> None:
    from tests.test_parse_quakeml import obspy_reference, ours, read_obspy

    located = sample.filter(pa.compute.is_valid(sample.column("origin_latitude_deg")))
    cat, caught = read_obspy(write_quakeml(located))
    assert caught == []
    ref = obspy_reference(cat)
    mine = ours(located)
    assert len(ref) == len(mine) == located.num_rows
    for event_id, want in ref.items():
        got = mine[event_id]
        for key, value in want.items():
            if isinstance(value, float):
                assert math.isclose(got[key], value, rel_tol=1e-12, abs_tol=1e-12), (event_id, key)
            else:
                assert got[key] == value, (event_id, key, got[key], value)


def test_fdsn_text_round_trip_and_obspy(sample: pa.Table) -> None:
    import obspy

    located = sample.filter(pa.compute.is_valid(sample.column("origin_latitude_deg")))
    for with_type in (True, False):
        data = write_fdsn_text(located, with_event_type=with_type)
        back = parse_fdsn_text(data)
        _same(located, back, TEXT_VALUES if with_type else [c for c in TEXT_VALUES if c != "event_type"])
        cat = obspy.read_events(io.StringIO(data.decode()), format="EVENTTXT")
        assert [str(e.resource_id) for e in cat] == located.column("provider_event_id").to_pylist()
        assert [e.origins[0].latitude for e in cat] == located.column("origin_latitude_deg").to_pylist()
        mags = [e.magnitudes[0].mag if e.magnitudes else None for e in cat]
        assert mags == located.column("magnitude_value").to_pylist()


def test_text_writer_leaves_out_rows_without_location_and_escapes_separators() -> None:
    rows = parse_quakeml(DATA / "quakeml_two_origins.xml")
    region = pa.array(["a|b\nc", None])
    rows = rows.set_column(rows.schema.get_field_index("region_name"), "region_name", region)
    with_null = rows.set_column(
        rows.schema.get_field_index("origin_latitude_deg"), "origin_latitude_deg", pa.array([None, -45.0])
    )
    text = write_fdsn_text(with_null).decode()
    assert text.count("\n") == 2  # header + one row
    text = write_fdsn_text(rows).decode()
    assert "a b c" in text and parse_fdsn_text(text.encode()).num_rows == 2


def test_empty_and_wrong_tables() -> None:
    assert parse_quakeml(write_quakeml(empty_solutions())).num_rows == 0
    assert parse_fdsn_text(write_fdsn_text(empty_solutions())).num_rows == 0
    with pytest.raises(CatalogError, match="lack solution column"):
        write_quakeml(pa.table({"x": [1]}))


def test_unusual_ids_and_text_survive_the_quakeml_round_trip() -> None:
    rows = parse_quakeml(DATA / "quakeml_no_magnitude.xml")
    rows = rows.set_column(
        1, pa.field("provider_event_id", pa.string(), nullable=False), pa.array(["id with space&<1>"])
    )
    rows = rows.set_column(
        rows.schema.get_field_index("region_name"), "region_name", pa.array(['Tom & Jerry <"region">'])
    )
    back = parse_quakeml(write_quakeml(rows))
    _same(rows, back, VALUES)


def test_from_obspy_uses_the_quakeml_path(shared_data: Path) -> None:
    import obspy

    for name in ("usgs_comcat_2008-01_m6plus.qml", "obspy_preferred.xml", "nepal_2015-05-12_mw7.2_two_origins.qml"):
        path = shared_data / "catalogs" / "quakeml" / name
        cat = obspy.read_events(str(path))
        direct = parse_quakeml(path)
        via = from_obspy(cat)
        _same(direct, via, VALUES)
        assert via.column("source_ref")[0].as_py() == "obspy#1"
        single = from_obspy(cat[0], provider="X", source_name="one")
        assert single.num_rows == 1 and single.column("provider")[0].as_py() == "X"


def test_from_obspy_refuses_other_objects() -> None:
    with pytest.raises(ParseError, match="expected an obspy Catalog or Event"):
        from_obspy("not a catalog")  # type: ignore[arg-type]


def test_from_obspy_with_warnings_as_errors_stays_quiet() -> None:
    import obspy

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = from_obspy(obspy.read_events(str(DATA / "quakeml_no_magnitude.xml")))
    assert table.num_rows == 1
