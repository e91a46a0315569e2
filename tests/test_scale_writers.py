"""The small writers (partners, records, advice, briefs, products, focal mechanisms) run in
``Lake.run_writer``: on a PostgreSQL catalog a write conflict runs them again from the start instead
of failing with ``WriteConflict``.

A rival transaction, on a DuckDB instance of its own, commits a change to the same table while the
writer's first attempt is open (deterministic: it runs right after the first attempt's first read),
so the first attempt must conflict at its commit. Real PostgreSQL 15 server (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def _lake(postgres_server: Any, tmp_path: Path) -> Any:
    from warehouse.lake import Lake
    from warehouse.tables import spec

    lake = Lake(tmp_path, postgres_server.new_database(), str(tmp_path / "data"))
    lake.init(tables=(spec("partners"), spec("partner_tokens")))
    return lake


def _rival_during_first_read(lake: Any, monkeypatch: pytest.MonkeyPatch, rival: Callable[[Any], object]) -> list[int]:
    """Make the first registry read of the writer under test be followed by ``rival(writer)`` committed
    from another DuckDB instance; returns the list the rival's commits are counted in."""
    from expedition.delivery import partners
    from warehouse.lake import LakeWriter

    real = partners._rows
    done: list[int] = []

    def rows(con: Any, name: str, **params: Any) -> list[dict[str, Any]]:
        out = real(con, name, **params)  # the writer's transaction has read the lake: its snapshot is taken
        if not done:
            done.append(1)
            other = lake._open(read_only=False, snapshot=None, spatial=False)
            try:
                other.execute("BEGIN TRANSACTION")
                rival(LakeWriter(other, fences=True))
                other.execute("COMMIT")
            finally:
                other.close()
        return out

    monkeypatch.setattr(partners, "_rows", rows)
    return done


def _count(lake: Any, sql: str, params: list[Any]) -> int:
    con = lake.connect(read_only=True, views=False)
    try:
        row = con.execute(sql, params).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


@pytest.mark.slow
def test_add_partner_runs_again_after_a_write_conflict(postgres_server: Any, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from expedition.delivery.partners import add_partner, add_partner_in

    lake = _lake(postgres_server, tmp_path)
    rival = _rival_during_first_read(lake, monkeypatch, lambda w: add_partner_in(w, "beta", countries=["NPL"]))
    issued = add_partner(lake, "alpha", countries=["IND"])
    assert rival == [1]
    assert lake.conflicts_retried == 1  # the first attempt lost to the rival's commit and ran again
    for name in ("alpha", "beta"):
        assert _count(lake, "SELECT count(*) FROM lake.partners WHERE partner_name = ?", [name]) == 1
        assert _count(lake, "SELECT count(*) FROM lake.partner_tokens WHERE partner_name = ?", [name]) == 1
    # the token handed out is the one of the attempt that committed (the first attempt's was rolled back)
    assert _count(lake, "SELECT count(*) FROM lake.partner_tokens WHERE token_id = ?", [issued.token_id]) == 1


@pytest.mark.slow
def test_the_same_partner_added_twice_at_once_lands_once(postgres_server: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The rerun re-reads the registry: the name the rival took is refused with the usual message."""
    from expedition.delivery.partners import PartnerError, add_partner, add_partner_in

    lake = _lake(postgres_server, tmp_path)
    _rival_during_first_read(lake, monkeypatch, lambda w: add_partner_in(w, "alpha", countries=["NPL"]))
    with pytest.raises(PartnerError, match="already exists"):
        add_partner(lake, "alpha", countries=["IND"])
    assert lake.conflicts_retried == 1
    assert _count(lake, "SELECT count(*) FROM lake.partners WHERE partner_name = 'alpha'", []) == 1
    assert _count(lake, "SELECT count(*) FROM lake.partner_tokens WHERE partner_name = 'alpha'", []) == 1
    assert _count(lake, "SELECT count(*) FROM lake.partners WHERE list_contains(partner_country_iso3_list, 'NPL')", []) == 1


def _issues(expedition: str, n: int) -> Any:
    import datetime as dt

    import pyarrow as pa

    from warehouse.tables.surveys import SURVEY_ISSUES

    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    rows = [{"issue_id": f"{expedition}-{i}", "expedition_id": expedition, "observation_kind": "buildings",
             "issue_severity": "error", "issue_check": "range", "raw_sha256": "f" * 64, "raw_row_number": i,
             "superseded": False, "ingest_batch_id": f"batch-{expedition}", "recorded_time_utc": now}
            for i in range(n)]
    return pa.Table.from_pylist(rows, schema=SURVEY_ISSUES.schema)


@pytest.mark.slow
def test_survey_issues_of_different_expeditions_do_not_conflict(postgres_server: Any, tmp_path: Path) -> None:
    """Files with many issues (here 200 each) claim their expedition's fence only: two expeditions' ingests
    commit side by side, two of the same expedition conflict (the loser runs again)."""
    import duckdb

    from warehouse.concurrency import fence_name
    from warehouse.lake import Lake, LakeWriter
    from warehouse.tables.surveys import SURVEY_ISSUES

    lake = Lake(tmp_path, postgres_server.new_database(), str(tmp_path / "data"))
    lake.init(tables=(SURVEY_ISSUES,))
    exp_a = "EXP-2024-NPL-001"
    exp_b = next(f"EXP-2024-NPL-{i:03d}" for i in range(2, 200)
                 if fence_name("survey_issues", f"EXP-2024-NPL-{i:03d}") != fence_name("survey_issues", exp_a))

    def begin() -> tuple[duckdb.DuckDBPyConnection, LakeWriter]:
        con = lake._open(read_only=False, snapshot=None, spatial=False)
        con.execute("BEGIN TRANSACTION")
        return con, LakeWriter(con, fences=True)

    (a, wa), (b, wb) = begin(), begin()
    wa.write("survey_issues", _issues(exp_a, 200), mode="insert_new")
    wb.write("survey_issues", _issues(exp_b, 200), mode="insert_new")
    assert len(wa._claimed) == len(wb._claimed) == 1  # one fence each, whatever the number of issues
    a.execute("COMMIT")
    b.execute("COMMIT")  # different expeditions: both land
    (a, wa), (b, wb) = begin(), begin()
    wa.write("survey_issues", _issues(exp_a + "x", 3), mode="insert_new")
    wb.write("survey_issues", _issues(exp_a + "x", 3), mode="insert_new")
    a.execute("COMMIT")
    with pytest.raises(duckdb.TransactionException, match="Transaction conflict"):
        b.execute("COMMIT")
    for con in (a, b):
        con.close()
    assert lake.read_table("survey_issues").num_rows == 403
