"""FDSN event text reader: agreement with ObsPy's EVENTTXT reader, spaced headers, ids, errors."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalogs.errors import ParseError
from catalogs.fdsntext import parse_fdsn_text
from catalogs.rows import SOLUTION_ROW_SCHEMA

DATA = Path(__file__).parent / "data" / "catalogs"
TEXT_FILES = sorted((Path(__file__).resolve().parents[2] / "shared" / "data" / "catalogs" / "fdsn_text").glob("*"))


def _obspy_text_reference(text: str) -> list[dict[str, Any]]:
    """ObsPy's EVENTTXT reading, flattened: Author is the origin's author, MagAuthor the magnitude's."""
    import obspy

    cat = obspy.read_events(io.StringIO(text), format="EVENTTXT")
    out = []
    for ev in cat:
        o = ev.origins[0]
        m = ev.magnitudes[0] if ev.magnitudes else None
        regions = [d.text for d in ev.event_descriptions if d.type == "region name"]
        out.append(
            {
                "provider_event_id": str(ev.resource_id),
                "origin_time_us": o.time.ns // 1000,
                "origin_latitude_deg": o.latitude,
                "origin_longitude_deg": o.longitude,
                "origin_depth_km": o.depth / 1000 if o.depth is not None else None,
                "origin_agency": o.creation_info.author if o.creation_info else None,
                "magnitude_value": m.mag if m else None,
                "magnitude_type": (m.magnitude_type or None) if m else None,
                "magnitude_author": (m.creation_info.author if m.creation_info else None) if m else None,
                "region_name": regions[0] if regions else None,
            }
        )
    return out


def _ours(table: pa.Table) -> list[dict[str, Any]]:
    t = table.append_column("origin_time_us", pc.cast(table.column("origin_time_utc"), pa.int64()))
    return t.to_pylist()


@pytest.mark.parametrize("name", [p.name for p in TEXT_FILES] or ["(absent)"])
@pytest.mark.slow
def test_every_shared_text_file_matches_obspy(shared_data: Path, name: str) -> None:
    path = shared_data / "catalogs" / "fdsn_text" / name
    table = parse_fdsn_text(path)
    assert table.schema == SOLUTION_ROW_SCHEMA
    ref = _obspy_text_reference(path.read_text(encoding="utf-8"))
    mine = _ours(table)
    assert len(mine) == len(ref)
    for i, (got, want) in enumerate(zip(mine, ref), start=1):
        for key, value in want.items():
            if isinstance(value, float):
                assert math.isclose(got[key], value, rel_tol=1e-12, abs_tol=1e-12), f"{name} row {i} {key}"
            else:
                assert got[key] == value, f"{name} row {i} {key}: {got[key]!r} != {value!r}"
        assert got["review_status"] is None and got["updated_time_utc"] is None and got["alias_ids"] == []
        assert got["source_ref"] == f"{name}#{i}"


def test_event_types_of_the_14_column_file(shared_data: Path) -> None:
    path = shared_data / "catalogs" / "fdsn_text" / "DERIVED_comcat_2022-2024_m5plus_as_fdsn_text.txt"
    raw = [line.rsplit("|", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    assert parse_fdsn_text(path).column("event_type").to_pylist() == raw


def test_spaced_header_empty_fields_and_leading_zero_ids() -> None:
    rows = parse_fdsn_text(DATA / "fdsn_spaced_empty.txt").to_pylist()
    assert [r["provider_event_id"] for r in rows] == ["0000001", "0000002", "0000003"]
    assert rows[0]["provider"] == "CI" and rows[0]["region_name"] == "Ridgecrest, CA"
    # rows without Catalog/Contributor take the file's provider
    assert {r["provider"] for r in rows} == {"CI"}
    assert rows[1]["origin_agency"] is None and rows[1]["magnitude_type"] is None
    assert rows[1]["magnitude_value"] == 6.4 and rows[1]["origin_depth_km"] == 10.5
    assert rows[2]["magnitude_value"] is None and rows[2]["origin_depth_km"] is None
    assert rows[2]["origin_time_utc"].microsecond == 123456
    assert (
        parse_fdsn_text(DATA / "fdsn_spaced_empty.txt", provider="SCEDC").column("provider").to_pylist()
        == ["SCEDC"] * 3
    )


def test_comcat_network_codes_mean_usgs_and_uri_ids_are_reduced() -> None:
    text = (
        b"#EventID|Time|Latitude|Longitude|Depth/km|Author|Catalog|Contributor|ContributorID|MagType|Magnitude|"
        b"MagAuthor|EventLocationName|EventType\n"
        b"ak024abcd|2024-01-01T00:00:00|61|-150|10|ak|ak|ak|ak024abcd|ml|3|ak|Alaska|earthquake\n"
        b"smi:ISC/evid=600123|2024-01-01T00:00:00Z|1|2|3|ISC|ISC|ISC|600123|mb|4|ISC|X|quarry_blast\n"
        b"smi:ch.ethz.sed/sc20a/Event/2024abcd|2024-01-01T00:00:00+00:00|46|7|3|SED|SED|SED||MLhc|1|SED|Y|\n"
    )
    rows = parse_fdsn_text(text, source_name="mixed.txt").to_pylist()
    assert [(r["provider"], r["provider_event_id"]) for r in rows] == [
        ("USGS", "ak024abcd"),
        ("ISC", "600123"),
        ("SED", "2024abcd"),
    ]
    assert [r["event_type"] for r in rows] == ["earthquake", "quarry blast", None]
    assert {r["origin_time_utc"].isoformat() for r in rows} == {"2024-01-01T00:00:00+00:00"}


HEADER = (
    "#EventID|Time|Latitude|Longitude|Depth/km|Author|Catalog|Contributor|ContributorID|MagType|Magnitude|"
    "MagAuthor|EventLocationName\n"
)


def _line(
    event_id: str = "b",
    time: str = "2020-01-01T00:00:00",
    lat: str = "0",
    lon: str = "0",
    depth: str = "10",
    mag: str = "",
) -> str:
    return "|".join([event_id, time, lat, lon, depth, "", "", "", "", "", mag, "", ""])


@pytest.mark.parametrize(
    ("fields", "column"),
    [
        ({"lat": "95"}, "Latitude"),
        ({"lon": "181"}, "Longitude"),
        ({"depth": "-11"}, "Depth/km"),
        ({"depth": "801"}, "Depth/km"),
        ({"mag": "12"}, "Magnitude"),
        ({"lat": "nan"}, "Latitude"),
        ({"lat": "north"}, "Latitude"),
        ({"time": "01/02/2020 10:00"}, "Time"),
        ({"time": "1850-01-01T00:00:00"}, "Time"),
        ({"event_id": ""}, "EventID"),
    ],
)
def test_bad_values_name_file_row_and_column(fields: dict[str, str], column: str) -> None:
    data = (HEADER + _line("a") + "\n" + _line(**fields) + "\n").encode()
    with pytest.raises(ParseError) as err:
        parse_fdsn_text(data, source_name="bad.txt")
    assert (err.value.source, err.value.row, err.value.column) == ("bad.txt", 2, column)
    assert "expected" in str(err.value)
    good, problems = parse_fdsn_text(data, source_name="bad.txt", strict=False)
    assert good.column("provider_event_id").to_pylist() == ["a"]
    assert [(p.row, p.column) for p in problems] == [(2, column)]


def test_structural_faults_raise_even_when_not_strict() -> None:
    data = (HEADER + _line("a") + "\nb|2020|0|0\n").encode()
    for strict in (True, False):
        with pytest.raises(ParseError, match=r"bad\.txt, row 2: expected 13 fields separated by '\|', found 4"):
            parse_fdsn_text(data, source_name="bad.txt", strict=strict)  # type: ignore[call-overload]
    with pytest.raises(ParseError, match="first line must be the '#EventID"):
        parse_fdsn_text(b"EventID|Time\n1|2\n", source_name="nohash.txt")
    with pytest.raises(ParseError, match="lacks column"):
        parse_fdsn_text(b"#EventID|Time|Depth/km\n1|2|3\n", source_name="short.txt")


def test_header_only_gives_no_rows() -> None:
    table = parse_fdsn_text(HEADER.encode())
    assert table.num_rows == 0 and table.schema == SOLUTION_ROW_SCHEMA


def test_a_header_without_magnitude_names_it() -> None:
    header = HEADER.replace("|Magnitude|", "|Mag|")
    with pytest.raises(ParseError, match="lacks column") as err:
        parse_fdsn_text((header + _line("a") + "\n").encode(), source_name="nomag.txt")
    assert (err.value.row, err.value.column) == (None, "Magnitude")


@pytest.mark.parametrize("size", [200_000, 3_000_000])  # below and above pyarrow's 1 MB block
def test_an_absurdly_long_field_is_refused_with_row_and_column(size: int) -> None:
    long_line = _line("b") + "x" * size  # fills the last field, EventLocationName
    data = (HEADER + _line("a") + "\n" + long_line + "\n").encode()
    with pytest.raises(ParseError, match="exceeds the limit") as err:
        parse_fdsn_text(data, source_name="long.txt")
    assert (err.value.source, err.value.row, err.value.column) == ("long.txt", 2, "EventLocationName")
