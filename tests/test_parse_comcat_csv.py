"""ComCat CSV / Kaggle CSV reader: agreement with pandas, the CSV/FDSN-text twin, BOM, errors."""

from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from catalogs.comcat_csv import parse_comcat_csv
from catalogs.errors import ParseError
from catalogs.fdsntext import parse_fdsn_text
from catalogs.rows import SOLUTION_ROW_SCHEMA

DATA = Path(__file__).parent / "data" / "catalogs"
COMCAT = "catalogs/usgs_csv/comcat_export_2022-2024_m5plus.csv"
TWIN = "catalogs/fdsn_text/DERIVED_comcat_2022-2024_m5plus_as_fdsn_text.txt"
KAGGLE = "catalogs/usgs_csv/significant_earthquakes_1965_2016.csv.gz"
SHARED_VALUES = [
    "origin_time_utc",
    "origin_latitude_deg",
    "origin_longitude_deg",
    "origin_depth_km",
    "magnitude_value",
    "magnitude_type",
    "magnitude_author",
    "origin_agency",
    "event_type",
    "region_name",
]


def _none(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT else v


def _us(ts: Any) -> int | None:
    return None if ts is None or ts is pd.NaT else int(pd.Timestamp(ts).value // 1000)


def _compare(table: pa.Table, expected: list[dict[str, Any]]) -> None:
    t = table.append_column("origin_time_us", pc.cast(table.column("origin_time_utc"), pa.int64()))
    t = t.append_column("updated_us", pc.cast(table.column("updated_time_utc"), pa.int64()))
    rows = t.to_pylist()
    assert len(rows) == len(expected)
    for i, (got, want) in enumerate(zip(rows, expected), start=1):
        for key, value in want.items():
            assert got[key] == value, f"row {i} {key}: {got[key]!r} != {value!r}"


def test_comcat_export_matches_pandas(shared_data: Path) -> None:
    path = shared_data / COMCAT
    table = parse_comcat_csv(path)
    assert table.schema == SOLUTION_ROW_SCHEMA
    df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    expected = []
    for r in df.to_dict("records"):
        expected.append(
            {
                "provider": "USGS",
                "provider_event_id": r["id"],
                "origin_time_us": _us(pd.Timestamp(r["time"])),
                "origin_latitude_deg": float(r["latitude"]),
                "origin_longitude_deg": float(r["longitude"]),
                "origin_depth_km": float(r["depth"]) if r["depth"] else None,
                "magnitude_value": float(r["mag"]) if r["mag"] else None,
                "magnitude_type": r["magType"] or None,
                "magnitude_author": r["magSource"] or None,
                "origin_agency": r["locationSource"] or None,
                "review_status": r["status"].lower() or None,
                "event_type": r["type"] or None,
                "region_name": r["place"] or None,
                "updated_us": _us(pd.Timestamp(r["updated"])) if r["updated"] else None,
            }
        )
    _compare(table, expected)


def test_csv_and_fdsn_text_twin_give_the_same_events(shared_data: Path) -> None:
    csv_rows = parse_comcat_csv(shared_data / COMCAT)
    txt_rows = parse_fdsn_text(shared_data / TWIN)
    both = pa.concat_tables([csv_rows, txt_rows])
    keys = {(p, e) for p, e in zip(both.column("provider").to_pylist(), both.column("provider_event_id").to_pylist())}
    assert len(keys) == csv_rows.num_rows == txt_rows.num_rows == 4118
    key_cols = ["provider", "provider_event_id", *SHARED_VALUES]
    a = csv_rows.select(key_cols).to_pylist()
    b = txt_rows.select(key_cols).to_pylist()
    assert a == b


@pytest.mark.slow
def test_kaggle_significant_file_matches_pandas(shared_data: Path) -> None:
    path = shared_data / KAGGLE
    table = parse_comcat_csv(path)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    when = pd.to_datetime(df["Date"] + " " + df["Time"], format="%m/%d/%Y %H:%M:%S", errors="coerce", utc=True)
    iso = when.isna()
    assert int(iso.sum()) == 3  # the three rows with an ISO datetime in Date
    when[iso] = pd.to_datetime(df.loc[iso, "Date"], utc=True)
    expected = []
    for r, t in zip(df.to_dict("records"), when):
        expected.append(
            {
                "provider": "USGS",
                "provider_event_id": r["ID"].lower(),
                "origin_time_us": _us(t),
                "origin_latitude_deg": float(r["Latitude"]),
                "origin_longitude_deg": float(r["Longitude"]),
                "origin_depth_km": float(r["Depth"]),
                "magnitude_value": float(r["Magnitude"]),
                "magnitude_type": r["Magnitude Type"] or None,
                "magnitude_author": r["Magnitude Source"] or None,
                "origin_agency": r["Location Source"] or None,
                "review_status": r["Status"].lower(),
                "event_type": r["Type"].lower(),
            }
        )
    _compare(table, expected)
    assert table.filter(pc.equal(table.column("event_type"), "nuclear explosion")).num_rows == 175


def test_bom_crlf_quoted_places_and_status_case() -> None:
    rows = parse_comcat_csv(DATA / "comcat_bom.csv").to_pylist()
    assert [r["provider_event_id"] for r in rows] == ["us6000jllz", "us6000jlqa", "us6000m0xl"]
    assert rows[0]["region_name"] == "Pazarcik earthquake, Kahramanmaras, Turkey"
    assert [r["review_status"] for r in rows] == ["reviewed", "reviewed", "automatic"]
    assert rows[1]["updated_time_utc"] is None
    assert rows[0]["origin_time_utc"].isoformat() == "2023-02-06T01:17:34.342000+00:00"
    assert {r["provider"] for r in rows} == {"USGS"}
    assert parse_comcat_csv(DATA / "comcat_bom.csv", provider="ComCat").column("provider")[0].as_py() == "ComCat"


CSV_HEAD = "time,latitude,longitude,depth,mag,magType,id,place,type,status\n"


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ("2020-01-01T00:00:00Z,-91,0,10,5,mb,x2,p,earthquake,reviewed", "latitude"),
        ("2020-01-01T00:00:00Z,0,0,10,10.6,mb,x2,p,earthquake,reviewed", "mag"),
        ("2020-01-01T00:00:00Z,0,0,1e6,5,mb,x2,p,earthquake,reviewed", "depth"),
        ("2020-01-01T00:00:00Z,0,abc,10,5,mb,x2,p,earthquake,reviewed", "longitude"),
        ("last tuesday,0,0,10,5,mb,x2,p,earthquake,reviewed", "time"),
        ("2020-01-01T00:00:00Z,0,0,10,5,mb,,p,earthquake,reviewed", "id"),
    ],
)
def test_bad_rows_name_row_and_column(row: str, column: str) -> None:
    data = (CSV_HEAD + "2020-01-01T00:00:00Z,0,0,10,5,mb,x1,p,earthquake,reviewed\n" + row + "\n").encode()
    with pytest.raises(ParseError) as err:
        parse_comcat_csv(data, source_name="q.csv")
    assert (err.value.source, err.value.row, err.value.column) == ("q.csv", 2, column)
    good, problems = parse_comcat_csv(data, source_name="q.csv", strict=False)
    assert good.column("provider_event_id").to_pylist() == ["x1"]
    assert [(p.row, p.column) for p in problems] == [(2, column)]


def test_not_a_comcat_csv() -> None:
    with pytest.raises(ParseError, match="not a ComCat CSV"):
        parse_comcat_csv(b"a,b,c\n1,2,3\n", source_name="other.csv")
    with pytest.raises(ParseError, match=r"other\.csv, row 2: expected 10 fields"):
        parse_comcat_csv(
            (CSV_HEAD + "2020-01-01T00:00:00Z,0,0,10,5,mb,x1,p,earthquake,reviewed\n1,2\n").encode(),
            source_name="other.csv",
        )


def test_a_header_without_a_core_column_names_it() -> None:
    header = CSV_HEAD.replace("mag,", "magnitude,")
    with pytest.raises(ParseError, match="lacks column.*'mag'") as err:
        parse_comcat_csv(
            (header + "2020-01-01T00:00:00Z,0,0,10,5,mb,x1,p,earthquake,reviewed\n").encode(), source_name="q.csv"
        )
    assert (err.value.source, err.value.row, err.value.column) == ("q.csv", None, "mag")


@pytest.mark.parametrize("size", [200_000, 3_000_000])  # below and above pyarrow's 1 MB block
def test_an_absurdly_long_field_is_refused_with_row_and_column(size: int) -> None:
    good = "2020-01-01T00:00:00Z,0,0,10,5,mb,x1,p,earthquake,reviewed\n"
    bad = f'2020-01-01T00:00:00Z,0,0,10,5,mb,x2,"{"x" * size}",earthquake,reviewed\n'
    with pytest.raises(ParseError, match="exceeds the limit") as err:
        parse_comcat_csv((CSV_HEAD + good + bad).encode(), source_name="long.csv")
    assert (err.value.source, err.value.row) == ("long.csv", 2)
