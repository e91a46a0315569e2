"""XLSForm templates, one per observation kind, generated from the kind specs.

Load a template into ODK Central, KoboToolbox or any XLSForm tool; the CSV/XLSX exports of its
submissions ingest with no mapping file (the question names are the fields' first spellings; group
prefixes and ODK/Kobo metadata columns are understood). The survey time is recorded automatically
(metadata question ``start`` named ``surveyed_time``), the site with a GPS ``geopoint``.

Every template converts cleanly with pyxform (ODK's XLSForm converter); a test checks it.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from expedition.surveys.kinds import KINDS, FieldSpec, KindSpec, Vocabulary, kind_spec

__all__ = ["TEMPLATE_VERSION", "template_rows", "write_template"]

TEMPLATE_VERSION = "2025120101"  # bump when a template changes (ODK requires a new version string)
SURVEY_COLUMNS = ["type", "name", "label", "hint", "required", "constraint", "constraint_message", "parameters"]
_SKIP_IN_FORM = {"submission_uuid", "surveyor_name", "surveyed_time_utc", "site_latitude_deg",
                 "site_longitude_deg", "site_location", "site_trace", "observation_notes"}


def _row(qtype: str, name: str = "", label: str = "", hint: str = "", required: str = "", constraint: str = "",
         message: str = "", parameters: str = "") -> list[str]:
    return [qtype, name, label, hint, required, constraint, message, parameters]


def _question(f: FieldSpec) -> list[list[str]]:
    if f.type == "photos":
        return [_row("image", f"{f.form_name}_{i}", f"Photo {i}", parameters="max-pixels=1600") for i in (1, 2, 3)]
    constraint = message = ""
    if f.type in ("integer", "number") and f.vocabulary is None:
        bounds = []
        if f.minimum is not None:
            bounds.append(f". >= {f.minimum:g}")
        if f.maximum is not None:
            bounds.append(f". <= {f.maximum:g}")
        constraint = " and ".join(bounds)
        message = f"Expected {f.expected()}" if bounds else ""
    if f.vocabulary is not None:
        qtype = f"select_one {f.vocabulary.name}"
    else:
        qtype = {"text": "text", "integer": "integer", "number": "decimal", "datetime": "dateTime"}[f.type]
    return [_row(qtype, f.form_name, f.label, f.hint, "yes" if f.required else "", constraint, message)]


def template_rows(kind: KindSpec) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """The ``survey``, ``choices`` and ``settings`` sheets of ``kind``'s XLSForm (header row first)."""
    survey = [
        SURVEY_COLUMNS,
        _row("start", "surveyed_time"),
        _row("text", "surveyor", "Surveyor name", required="yes"),
        _row("begin_group", "site", "Site"),
        _row("geopoint", "location", "Location (GPS)", "Stand at the site; wait for accuracy below 10 m"),
    ]
    if kind.lines_allowed:
        survey.append(_row("geotrace", "trace", "Trace (for ruptures, cracks, slide outlines)",
                           "Walk or draw the line; leave empty for a point feature"))
    survey += [_row("end_group"), _row("begin_group", kind.group, kind.title)]
    vocabularies: dict[str, Vocabulary] = {}
    for f in kind.fields:
        if f.name in _SKIP_IN_FORM:
            continue
        survey += _question(f)
        if f.vocabulary is not None:
            vocabularies[f.vocabulary.name] = f.vocabulary
    survey += [_row("text", "notes", "Notes"), _row("end_group")]
    choices = [["list_name", "name", "label"]]
    for vocab in vocabularies.values():
        choices += [[vocab.name, c.code, c.label] for c in vocab.choices]
    settings = [["form_title", "form_id", "version"],
                [f"Quake Expedition: {kind.title}", f"qe_{kind.name}", TEMPLATE_VERSION]]
    return survey, choices, settings


def write_template(kind: str, out: Path | str) -> Path:
    """Write ``kind``'s XLSForm to ``out`` (atomically: temporary name, then rename)."""
    from openpyxl import Workbook

    spec = kind_spec(kind) if kind not in KINDS else KINDS[kind]
    survey, choices, settings = template_rows(spec)
    wb = Workbook()
    sheets = wb.worksheets
    ws = sheets[0]
    ws.title = "survey"
    for name, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        sheet = ws if name == "survey" else wb.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
