"""Read survey files into one shape: every column as text, with the row number of each record.

Supported inputs:

* CSV (``,`` ``;`` or tab separated, UTF-8 with or without BOM, or an encoding given by the
  mapping), read by ``pyarrow.csv`` with every column as a string;
* XLSX (first sheet unless told otherwise), read by openpyxl **without evaluating formulas**: a
  formula cell is reported as a problem (check ``formula``) and its row is quarantined;
* GeoJSON (a FeatureCollection; properties become columns, the geometry becomes WKB);
* ODK Central / KoboToolbox / ODK Briefcase exports, which are CSV or XLSX files: their
  group-prefixed headers and metadata columns are resolved by :mod:`expedition.surveys.mapping`.

Values stay text here; typing and checks happen, vectorised, in :mod:`expedition.surveys.validate`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from expedition.surveys.errors import SurveyInputError
from expedition.surveys.problems import empty_problems, problems_at

__all__ = ["FORMATS", "RawTable", "file_format", "read_survey_file"]

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
           ".geojson": "geojson", ".json": "geojson"}


@dataclass
class RawTable:
    """A survey file as read: text columns under their original headers, one record per row."""

    path: Path
    format: str
    table: pa.Table
    row_numbers: pa.Array  # int64: spreadsheet row (header = 1) or GeoJSON feature number
    geometry: pa.Array | None = None  # WKB per record (GeoJSON)
    problems: pa.Table = field(default_factory=empty_problems)  # formula cells, bad geometries
    sheet: str | None = None
    # a CSV separated by ';' is what a spreadsheet writes in a locale whose decimal mark is the comma
    decimal_comma: bool = False

    @property
    def num_rows(self) -> int:
        return self.table.num_rows


#: Compressed-file suffixes, named as such rather than as an unknown type.
_COMPRESSED = frozenset({".gz", ".zip", ".bz2", ".xz", ".zst", ".7z"})


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None and path.suffix.lower() in _COMPRESSED:
        inner = Path(path.stem).suffix or "(none)"
        raise SurveyInputError(
            f"{path}: a compressed file ({path.suffix}); survey files are read uncompressed: decompress it first "
            f"(inside: {inner!r}; expected one of {', '.join(sorted(FORMATS))})"
        )
    if fmt is None:
        raise SurveyInputError(
            f"{path}: unsupported file type {path.suffix or '(none)'!r}; expected one of {', '.join(sorted(FORMATS))}"
        )
    return fmt


def read_survey_file(path: Path, sheet: str | None = None, encoding: str | None = None,
                     name: str | None = None) -> RawTable:
    """Read ``path`` (CSV, XLSX or GeoJSON, by extension) as text columns.

    ``name`` is how errors call the file (the user's file name when ``path`` is its archived copy)."""
    path = Path(path)
    label = name or str(path)
    if not path.is_file():
        raise SurveyInputError(f"{label}: no such file")
    fmt = file_format(path)
    try:
        if fmt == "csv":
            return _read_csv(path, encoding)
        if fmt == "xlsx":
            return _read_xlsx(path, sheet)
        return _read_geojson(path)
    except SurveyInputError as exc:
        if name is None:
            raise
        raise SurveyInputError(str(exc).replace(str(path), label, 1)) from exc


def _unique(headers: list[str]) -> list[str]:
    """Headers made unique (``a``, ``a.2``...) and never empty (``column_7``)."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers, start=1):
        h = (h or "").strip() or f"column_{i}"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        seen.setdefault(h, 1)
        out.append(h)
    return out


def _row_numbers(n: int, first: int) -> pa.Array:
    return pa.array(np.arange(first, first + n, dtype=np.int64))


def _read_csv(path: Path, encoding: str | None) -> RawTable:
    enc = (encoding or "utf-8").lower()
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if enc.replace("-", "").replace("_", "") in ("utf8", "utf8sig"):
        enc = "utf8"
        if head.startswith(codecs.BOM_UTF8):
            head = head[len(codecs.BOM_UTF8):]
    try:
        first_line = head.decode("utf-8" if enc == "utf8" else enc, errors="strict").splitlines()[0]
    except UnicodeDecodeError as exc:
        raise SurveyInputError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); give the file's encoding in a mapping "
            "([mapping] encoding = \"latin-1\") or save it as UTF-8"
        ) from exc
    except IndexError:
        raise SurveyInputError(f"{path}: empty file (expected a header row)") from None
    delimiter = max((",", ";", "\t"), key=first_line.count)
    headers = _unique(next(csv.reader([first_line], delimiter=delimiter)))
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=headers, skip_rows=1, encoding=enc),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in headers},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, LookupError) as exc:
        unclosed = _unclosed_quote(path, delimiter) if enc == "utf8" else None
        if unclosed:
            raise SurveyInputError(f"{path}: not a readable CSV file: {unclosed}") from exc
        raise SurveyInputError(f"{path}: not a readable CSV file: {_where(path, enc, delimiter, len(headers), exc)}") from exc
    # pyarrow (newlines_in_values) reads everything after an unclosed quote as one value, silently
    if enc == "utf8" and _may_hide_unclosed_quote(path, table):
        unclosed = _unclosed_quote(path, delimiter)
        if unclosed:
            raise SurveyInputError(f"{path}: not a readable CSV file: {unclosed}")
    return RawTable(path, "csv", table, _row_numbers(table.num_rows, 2), decimal_comma=delimiter == ";")


_TAIL = 1 << 16


def _may_hide_unclosed_quote(path: Path, table: pa.Table) -> bool:
    """False when no quoted value can have been left open, so the exact check is skipped.

    An unclosed quote swallows the rest of the file into one value of the *last* record. That
    value holds a line break, unless the quote is on the last line and the file does not end with
    one. So: no line break in any value of the last record, and no quote on an unterminated last
    line, rule it out without reading the whole file. (Counting quotes would not do: a quote
    inside an unquoted value, as in ``5" crack``, is ordinary text.)"""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - _TAIL))
        tail = fh.read()
    if not tail.endswith((b"\n", b"\r")):
        last_line = tail.rsplit(b"\n", 1)[-1]
        if b'"' in last_line or (size > _TAIL and b"\n" not in tail):
            return True
    if table.num_rows == 0:
        return False
    last = table.slice(table.num_rows - 1).to_pylist()[0]
    return any(isinstance(v, str) and ("\n" in v or "\r" in v) for v in last.values())


def _unclosed_quote(path: Path, delimiter: str) -> str | None:
    """Where a quoted value that is never closed starts, or ``None`` (reads the file with Python's
    strict CSV reader, which stops at the end of the data inside quotes; only called when needed)."""
    next_start = 1
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            for _record in reader:
                next_start = reader.line_num + 1
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                return (f"row {next_start} opens a quoted value that is never closed "
                        "(the rest of the file would become one value)")
    return None


def _where(path: Path, enc: str, delimiter: str, width: int, exc: Exception) -> str:
    """Locate a malformed CSV record (error path only: pyarrow does not say which row)."""
    codec = "utf-8-sig" if enc == "utf8" else enc
    try:
        with open(path, newline="", encoding=codec, errors="replace") as fh:
            for number, record in enumerate(csv.reader(fh, delimiter=delimiter), start=1):
                if number > 1 and record and len(record) != width:
                    return f"row {number} has {len(record)} columns, the header has {width}"
    except (csv.Error, LookupError) as err:
        return f"{err}"
    return str(exc)


def _cell_text(value: Any) -> str | None:
    """The text of a typed spreadsheet value (numbers without a spurious ``.0``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def _read_xlsx(path: Path, sheet: str | None) -> RawTable:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=False)  # data_only=False: formulas stay formulas
    except (InvalidFileException, zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError, ValueError,
            SyntaxError) as exc:
        # zlib.error/EOFError: a damaged deflate stream inside the zip. ValueError: openpyxl's "could not read
        # worksheets", and defusedxml refusing a DOCTYPE/entities
        raise SurveyInputError(f"{path}: not a readable XLSX workbook: {' '.join(str(exc).split())}") from exc
    try:
        return _xlsx_rows(path, wb, sheet)
    except (ValueError, SyntaxError, zipfile.BadZipFile, zlib.error, EOFError, KeyError, OSError) as exc:
        # read-only workbooks parse each sheet while it is iterated: malformed XML surfaces here
        # (xml.etree ParseError and lxml's XMLSyntaxError are SyntaxErrors)
        raise SurveyInputError(f"{path}: not a readable XLSX workbook: {' '.join(str(exc).split())}") from exc
    finally:
        wb.close()


def _xlsx_rows(path: Path, wb: Any, sheet: str | None) -> RawTable:
    """The records of one sheet of an open read-only workbook."""
    if sheet:
        if sheet not in wb.sheetnames:
            raise SurveyInputError(f"{path}: no sheet {sheet!r}; sheets: {', '.join(wb.sheetnames)}")
        ws = wb[sheet]
    else:
        ws = wb.worksheets[0]
    rows = ws.iter_rows()
    try:
        header_cells = next(rows)
    except StopIteration:
        raise SurveyInputError(f"{path}: sheet {ws.title!r} is empty (expected a header row)") from None
    headers = _unique([_cell_text(c.value) or "" for c in header_cells])
    width = len(headers)
    columns: list[list[str | None]] = [[] for _ in headers]
    formula_rows: list[int] = []
    formula_cols: list[str] = []
    formula_text: list[str] = []
    numbers: list[int] = []
    for sheet_row, cells in enumerate(rows, start=2):  # reading cells is per cell by nature
        values: list[str | None] = [None] * width
        for j, cell in enumerate(cells[:width]):
            if getattr(cell, "data_type", None) == "f":
                formula_rows.append(len(numbers))
                formula_cols.append(headers[j])
                formula_text.append(str(getattr(cell.value, "text", cell.value)))
                continue
            values[j] = _cell_text(cell.value)
        if all(v is None for v in values) and not (formula_rows and formula_rows[-1] == len(numbers)):
            continue  # blank spreadsheet rows are not records
        numbers.append(sheet_row)
        for j in range(width):
            columns[j].append(values[j])
    title = ws.title
    table = pa.table({h: pa.array(col, pa.string()) for h, col in zip(headers, columns)})
    row_numbers = pa.array(numbers, pa.int64())
    problems = empty_problems()
    if formula_rows:
        problems = _formula_problems(formula_rows, formula_cols, formula_text, row_numbers)
    return RawTable(path, "xlsx", table, row_numbers, problems=problems, sheet=title)


def _formula_problems(rows: list[int], cols: list[str], texts: list[str], row_numbers: pa.Array) -> pa.Table:
    from expedition.surveys.problems import PROBLEM_SCHEMA

    idx = pa.array(rows, pa.int64())
    n = len(rows)
    return pa.Table.from_arrays(
        [
            idx,
            pc.take(row_numbers, idx),
            pa.array(cols, pa.string()),
            pa.array(texts, pa.string()),
            pa.repeat(pa.scalar("a typed value; formulas are never evaluated (paste values instead)", pa.string()), n),
            pa.repeat(pa.scalar("formula cell", pa.string()), n),
            pa.repeat(pa.scalar("formula", pa.string()), n),
            pa.repeat(pa.scalar("error", pa.string()), n),
        ],
        schema=PROBLEM_SCHEMA,
    )


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _cell_text(float(value)) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False)


def _read_geojson(path: Path) -> RawTable:
    import shapely

    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SurveyInputError(f"{path}: not valid GeoJSON: {exc}") from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise SurveyInputError(f"{path}: expected a GeoJSON FeatureCollection")
    features = doc["features"]
    props = [f.get("properties") or {} if isinstance(f, dict) else {} for f in features]
    headers: dict[str, None] = {}
    for p in props:
        headers.update(dict.fromkeys(p))
    table = pa.table({h: pa.array([_json_text(p.get(h)) for p in props], pa.string()) for h in headers})
    if not headers:
        table = pa.table({"__empty": pa.nulls(len(features), pa.string())}).drop(["__empty"])
    geo_json = pa.array(
        [json.dumps(f["geometry"]) if isinstance(f, dict) and f.get("geometry") else None for f in features],
        pa.string(),
    )
    geoms = shapely.from_geojson(geo_json.to_numpy(zero_copy_only=False), on_invalid="ignore")
    geoms = shapely.force_2d(geoms)
    wkb = pa.array(shapely.to_wkb(geoms, output_dimension=2), pa.binary())
    row_numbers = _row_numbers(len(features), 1)
    bad = pc.and_(pc.is_valid(geo_json), pc.is_null(wkb))
    problems = problems_at(
        bad, row_numbers, column="geometry", values=geo_json, expected="a GeoJSON Point or LineString (lon, lat)",
        reason="geometry cannot be read", check="geometry",
    )
    return RawTable(path, "geojson", table, row_numbers, geometry=wkb, problems=problems)

