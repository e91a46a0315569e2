"""Format detection and read_catalog_file dispatch."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from catalogs.detect import detect_format, read_catalog_file
from catalogs.errors import UnknownFormat
from catalogs.rows import SOLUTION_ROW_SCHEMA

DATA = Path(__file__).parent / "data" / "catalogs"
SHARED_FORMATS = {
    "quakeml": "quakeml",
    "fdsn_text": "fdsntext",
    "usgs_csv/comcat_export_2022-2024_m5plus.csv": "comcatcsv",
    "usgs_csv/significant_earthquakes_1965_2016.csv.gz": "significantcsv",
}


def test_every_shared_catalog_file_is_recognised(shared_data: Path) -> None:
    root = shared_data / "catalogs"
    seen = 0
    for rel, fmt in SHARED_FORMATS.items():
        paths = sorted((root / rel).glob("*")) if (root / rel).is_dir() else [root / rel]
        for path in paths:
            assert detect_format(path) == fmt, path.name
            table = read_catalog_file(path)
            assert table.schema == SOLUTION_ROW_SCHEMA and table.num_rows > 0
            seen += 1
    assert seen >= 17


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("quakeml_no_magnitude.xml", "quakeml"),
        ("quakeml_two_origins.xml", "quakeml"),
        ("fdsn_spaced_empty.txt", "fdsntext"),
        ("comcat_bom.csv", "comcatcsv"),
        ("usgs_feed.geojson", "geojson"),
    ],
)
def test_hand_written_files_and_their_compressed_bytes(name: str, fmt: str, tmp_path: Path) -> None:
    data = (DATA / name).read_bytes()
    assert detect_format(DATA / name) == fmt
    assert detect_format(b"  \n" + data if not data.startswith(b"\xef\xbb\xbf") else data) == fmt
    gz = tmp_path / (name + ".gz")
    gz.write_bytes(gzip.compress(data))
    assert detect_format(gz) == fmt
    plain, packed = read_catalog_file(DATA / name), read_catalog_file(gz)
    assert plain.drop_columns(["source_ref"]).equals(packed.drop_columns(["source_ref"]))
    assert read_catalog_file(DATA / name, provider="MINE").column("provider").unique().to_pylist() == ["MINE"]


def test_utf16_quakeml_is_recognised() -> None:
    text = (DATA / "quakeml_no_magnitude.xml").read_text().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    assert detect_format(text.encode("utf-16")) == "quakeml"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n\t",
        b"hello world\n",
        b"a,b,c\n1,2,3\n",
        b"<html><body>503</body></html>",
        b'{"type": "Topology"}',
        b"\x00\x01\x02",
    ],
)
def test_unknown_formats_say_what_was_expected(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "mystery.dat"
    path.write_bytes(data)
    with pytest.raises(UnknownFormat, match=r"mystery\.dat: .*expected QuakeML"):
        detect_format(path)
    with pytest.raises(UnknownFormat):
        read_catalog_file(path)


def test_missing_file() -> None:
    with pytest.raises(UnknownFormat, match="cannot open"):
        detect_format("/nonexistent/catalog.xml")


def test_lenient_reading_returns_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "time,latitude,longitude,depth,mag,id\n2020-01-01T00:00:00Z,0,0,1,5,a\n2020-01-01T00:00:00Z,99,0,1,5,b\n"
    )
    rows, problems = read_catalog_file(path, strict=False)
    assert rows.column("provider_event_id").to_pylist() == ["a"]
    assert [(p.row, p.column) for p in problems] == [(2, "latitude")]


@pytest.mark.parametrize(("delimiter", "suffix"), [(";", ".csv"), ("\t", ".txt")])
def test_comcat_csv_saved_again_by_a_spreadsheet_reads_the_same(delimiter: str, suffix: str, tmp_path: Path) -> None:
    """A ComCat export opened and saved by a spreadsheet in a decimal-comma locale uses ';' (or a tab):
    the same rows, and a bad value still names its row and column."""
    import csv
    import io

    from catalogs.errors import ParseError

    text = (DATA / "comcat_bom.csv").read_text(encoding="utf-8-sig")
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(csv.reader(io.StringIO(text)))
    path = tmp_path / ("resaved" + suffix)
    path.write_text(out.getvalue(), encoding="utf-8")
    assert detect_format(path) == "comcatcsv"
    ours, theirs = read_catalog_file(path), read_catalog_file(DATA / "comcat_bom.csv")
    assert ours.num_rows == theirs.num_rows > 0
    assert ours.drop_columns(["source_ref"]).equals(theirs.drop_columns(["source_ref"]))
    lines = out.getvalue().split("\r\n")
    fields = lines[1].split(delimiter)
    fields[1] = "-93.8"  # latitude
    lines[1] = delimiter.join(fields)
    path.write_text("\r\n".join(lines), encoding="utf-8")
    with pytest.raises(ParseError, match=r"row 1, column 'latitude'"):
        read_catalog_file(path)


def _decimal_comma_resave(text: str, delimiter: str) -> str:
    """What a spreadsheet in a decimal-comma locale (de, es, fr, ru, tr, id...) writes: ``;`` (or a
    tab) between fields and ``27,68`` for numbers; times and ids stay as they were."""
    import csv
    import io
    import re

    number = re.compile(r"^-?\d+\.\d+$")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        writer.writerow(row if i == 0 else [v.replace(".", ",") if number.match(v) else v for v in row])
    return out.getvalue()


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_comcat_csv_with_decimal_commas_reads_the_same(delimiter: str, tmp_path: Path) -> None:
    """The same export saved with decimal commas gives the same rows, also when a cell kept its point
    (a spreadsheet keeps cells it took for text); what is not a number still names its row and column."""
    from catalogs.errors import ParseError

    text = (DATA / "comcat_bom.csv").read_text(encoding="utf-8-sig")
    resaved = _decimal_comma_resave(text, delimiter)
    assert "," in resaved.split("\r\n")[1]  # the file really has decimal commas
    path = tmp_path / "decimal_comma.csv"
    path.write_text(resaved, encoding="utf-8")
    assert detect_format(path) == "comcatcsv"
    ours, theirs = read_catalog_file(path), read_catalog_file(DATA / "comcat_bom.csv")
    assert ours.num_rows == theirs.num_rows > 0
    assert ours.drop_columns(["source_ref"]).equals(theirs.drop_columns(["source_ref"]))
    lines = resaved.split("\r\n")
    fields = lines[2].split(delimiter)
    fields[1] = fields[1].replace(",", ".")  # latitude of data row 2 written with a point
    lines[2] = delimiter.join(fields)
    path.write_text("\r\n".join(lines), encoding="utf-8")
    mixed = read_catalog_file(path)
    assert mixed.drop_columns(["source_ref"]).equals(theirs.drop_columns(["source_ref"]))
    fields[1] = "37,22,56"  # not a number in any locale
    lines[2] = delimiter.join(fields)
    path.write_text("\r\n".join(lines), encoding="utf-8")
    with pytest.raises(ParseError, match=r"row 2, column 'latitude': bad value '37,22,56'"):
        read_catalog_file(path)
