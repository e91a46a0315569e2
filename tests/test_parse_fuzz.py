"""Arbitrary bytes into every parser: the only exceptions that may come out are ParseError/UnknownFormat."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogs.comcat_csv import parse_comcat_csv
from catalogs.detect import detect_format, read_catalog_file
from catalogs.errors import ParseError, UnknownFormat
from catalogs.fdsntext import parse_fdsn_text
from catalogs.geojson_feed import parse_geojson_feed
from catalogs.quakeml import parse_quakeml
from catalogs.rows import SOLUTION_ROW_SCHEMA

DATA = Path(__file__).parent / "data" / "catalogs"
PARSERS: list[Callable[..., Any]] = [parse_quakeml, parse_fdsn_text, parse_comcat_csv, parse_geojson_feed]
SEEDS = [p.read_bytes() for p in sorted(DATA.iterdir())]

# Bytes that are mostly catalog-shaped: real seeds with random splices, cuts and noise.
catalog_like = st.one_of(
    st.binary(max_size=400),
    st.builds(
        lambda seed, cut, noise, at: seed[:at] + noise + seed[at + cut :],
        st.sampled_from(SEEDS),
        st.integers(0, 40),
        st.binary(max_size=40),
        st.integers(0, 1500),
    ),
    st.builds(lambda seed, n: seed[:n], st.sampled_from(SEEDS), st.integers(0, 3000)),
)


def _check(result: Any) -> None:
    table = result if isinstance(result, pa.Table) else result[0]
    assert table.schema == SOLUTION_ROW_SCHEMA


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=catalog_like)
@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
@pytest.mark.slow
def test_parsers_fail_only_with_parse_error(parser: Callable[..., Any], data: bytes) -> None:
    for strict in (True, False):
        try:
            _check(parser(data, source_name="fuzz", strict=strict))
        except ParseError as exc:
            assert str(exc).startswith("fuzz")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=catalog_like)
def test_detection_and_dispatch_fail_only_with_catalog_errors(data: bytes, tmp_path_factory: Any) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "input.dat"
    path.write_bytes(data)
    try:
        detect_format(data)
        _check(read_catalog_file(path))
    except (ParseError, UnknownFormat) as exc:
        assert "input.dat" in str(exc) or "<bytes>" in str(exc)
