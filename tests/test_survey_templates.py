"""XLSForm templates: each converts with pyxform (ODK's converter), and the exports of its questions map
onto the kind's fields with no mapping file (Kobo '/' groups and ODK Central '-' groups alike)."""

from __future__ import annotations

from pathlib import Path

import pytest

from expedition.surveys.kinds import KINDS
from expedition.surveys.mapping import resolve_headers
from expedition.surveys.templates import template_rows, write_template


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_template_converts_with_pyxform(kind: str, tmp_path: Path) -> None:
    from pyxform.xls2xform import convert

    path = write_template(kind, tmp_path / f"{kind}.xlsx")
    warnings: list[str] = []
    result = convert(str(path), warnings=warnings)
    assert warnings == []
    assert f'id="qe_{kind}"' in result.xform
    survey, choices, _ = template_rows(KINDS[kind])
    names = [row[1] for row in survey[1:] if row[1] and not row[0].startswith(("begin_group", "end_group"))]
    for name in names:  # every question is in the XForm instance
        assert f"<{name}/>" in result.xform or f"<{name} />" in result.xform
    lists = {row[0] for row in choices[1:]}
    assert all(f"select_one {n}" in {row[0] for row in survey} for n in lists)


def _export_headers(kind: str, sep: str) -> list[str]:
    """The data columns an ODK/Kobo export of the template has (group path joined by ``sep``)."""
    survey, _, _ = template_rows(KINDS[kind])
    path: list[str] = []
    headers = []
    for qtype, name, *_ in survey[1:]:
        if qtype == "begin_group":
            path.append(name)
        elif qtype == "end_group":
            path.pop()
        else:
            headers.append(sep.join([*path, name]))
    return headers


@pytest.mark.parametrize("sep", ["/", "-"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_template_exports_map_without_a_mapping(kind: str, sep: str) -> None:
    headers = _export_headers(kind, sep)
    meta = ["_id", "_uuid", "_submission_time", "_index", "_validation_status", "__version__", "formhub/uuid"]
    matched, ignored = resolve_headers(headers + meta, KINDS[kind])
    assert ignored == [h for h in meta if h != "_uuid"]  # only metadata is left over
    assert matched["submission_uuid"] == ["_uuid"]
    used = {h for hs in matched.values() for h in hs}
    assert used == set(headers) | {"_uuid"}
    for f in KINDS[kind].fields:  # every field the form asks lands in its own column
        if f.type == "photos":
            assert len(matched[f.name]) == 3
