"""Transient-only retries: timeouts, 429 and 503 are retried; a 400, bad data and bugs are not."""

from __future__ import annotations

import urllib.error
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from catalogs.errors import ParseError, PermanentProviderError, TransientProviderError
from expedition.errors import SurveyError
from expedition.settings import SettingsError, load_settings
from flows.retry import is_transient, retry_condition_fn, retry_delays, retry_options
from warehouse.errors import SchemaMismatch, WarehouseBusy, WarehouseError


def _http_error(code: int) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("http://127.0.0.1/fdsnws/event/1/query", code, "status", Message(), None)


def _wrapped(inner: BaseException) -> BaseException:
    """``inner`` re-raised as the cause of a generic error, as library code does (``raise ... from``)."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("pull failed") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    "exc",
    [
        TransientProviderError("USGS", "HTTP 503 Service Unavailable", status=503),
        TransientProviderError("EMSC", "read timed out"),
        WarehouseBusy("another writer holds the lake (pid 1); waited 30 s"),
        TimeoutError("timed out"),
        ConnectionResetError("connection reset by peer"),
        _http_error(429),
        _http_error(503),
        _http_error(504),
        WarehouseError("cannot open the lake at /qe: Failed to probe DuckLake metadata: database is locked"),
    ],
    ids=["provider-503", "provider-timeout", "writer-busy", "timeout", "reset", "http-429", "http-503", "http-504",
         "sqlite-busy"],
)
def test_transient_errors_are_retried(exc: BaseException) -> None:
    assert is_transient(exc)
    assert is_transient(_wrapped(exc)), "the cause chain is followed"


@pytest.mark.parametrize(
    "exc",
    [
        PermanentProviderError("USGS", "HTTP 400 Bad Request: bad starttime", status=400),
        _http_error(400),
        _http_error(404),
        ParseError("expected a number", source="events.csv", row=3, column="mag"),
        SchemaMismatch("events", "magnitude_value", "expected double, got string"),
        SurveyError("survey.csv, row 2: damage_grade must be 0..5"),
        ValueError("bad data"),
        KeyError("missing"),
        ZeroDivisionError("a bug"),
    ],
    ids=["provider-400", "http-400", "http-404", "parse", "schema", "survey", "value", "key", "bug"],
)
def test_permanent_errors_are_not_retried(exc: BaseException) -> None:
    assert not is_transient(exc)
    assert not is_transient(_wrapped(exc))


def test_a_400_raised_while_handling_a_timeout_is_permanent() -> None:
    try:
        try:
            raise TimeoutError("first attempt timed out")
        except TimeoutError:
            raise PermanentProviderError("USGS", "HTTP 400: endtime before starttime", status=400) from None
    except PermanentProviderError as exc:
        # ``from None`` hides the context; the explicit cause below keeps it
        assert not is_transient(exc)
    err = PermanentProviderError("USGS", "HTTP 400", status=400)
    err.__cause__ = TimeoutError("earlier")
    assert not is_transient(err)


class _State:
    """The part of a Prefect ``State`` that ``retry_condition_fn`` reads (a failed state holds its exception)."""

    def __init__(self, data: Any) -> None:
        self.data = data


def test_retry_condition_fn_reads_the_failed_state() -> None:
    assert retry_condition_fn(None, None, _State(TransientProviderError("USGS", "429", status=429))) is True
    assert retry_condition_fn(None, None, _State(PermanentProviderError("USGS", "400", status=400))) is False
    assert retry_condition_fn(None, None, _State("not an exception")) is False


@pytest.mark.slow
def test_retry_condition_fn_with_a_real_prefect_state() -> None:
    from prefect.states import Failed

    assert retry_condition_fn(None, None, Failed(data=WarehouseBusy("busy"))) is True
    assert retry_condition_fn(None, None, Failed(data=ParseError("bad", source="x.xml"))) is False


def test_retry_delays_from_settings(tmp_path: Path) -> None:
    (tmp_path / "qe.toml").write_text("[flows]\nretry_delays_s = [0.5, 1]\n")
    settings = load_settings(tmp_path)
    assert retry_delays(settings) == [0.5, 1.0]
    opts = retry_options(settings)
    assert opts["retries"] == 2 and opts["retry_condition_fn"] is retry_condition_fn
    (tmp_path / "qe.toml").write_text("[flows]\nretry_delays_s = ['soon']\n")
    with pytest.raises(SettingsError, match="retry_delays_s"):
        retry_delays(load_settings(tmp_path))


def test_default_retry_delays_back_off(tmp_path: Path) -> None:
    delays = retry_delays(load_settings(tmp_path))
    assert len(delays) >= 2 and delays == sorted(delays) and delays[0] > 0
