"""`expedition query` answers of numbers and text without Arrow: the same text, and Arrow really not loaded.

``query_lake(..., plain_rows=True)`` hands back DuckDB's Python values (:class:`warehouse.query.QueryRows`)
when every column is one of :data:`warehouse.query.PLAIN_TYPES`; the command prints them as a table
or JSON. These tests hold that to the Arrow path: the printed bytes must be identical for edge values
of every plain type, any other column type must still come back as Arrow, and a count printed by the
console script must not import pyarrow (nor numpy) at all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from expedition.delivery.cli.output import write_result, write_table
from warehouse.lake import Lake
from warehouse.query import PLAIN_TYPES, QueryResult, QueryRows, query_lake

#: One column per plain type, with the values where Python and Arrow conversions could part ways.
EDGE_SQL = """
SELECT * FROM (VALUES
  (true, (-128)::TINYINT, (-32768)::SMALLINT, (-2147483648)::INTEGER, (-9223372036854775808)::BIGINT,
   255::UTINYINT, 65535::USMALLINT, 4294967295::UINTEGER, 18446744073709551615::UBIGINT,
   0.1::FLOAT, 'nan'::DOUBLE, 1.500::DECIMAL(18,3), 12345678901234567890.1234567890::DECIMAL(38,10), 'Nepāl 尼泊尔 "q"'),
  (false, 0::TINYINT, 0::SMALLINT, 0::INTEGER, 0::BIGINT, 0::UTINYINT, 0::USMALLINT, 0::UINTEGER, 0::UBIGINT,
   '-inf'::FLOAT, (-0.0)::DOUBLE, (-0.001)::DECIMAL(18,3), 0::DECIMAL(38,10), ''),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'inf'::DOUBLE, NULL, NULL, NULL)
) AS t(b, i1, i2, i4, i8, u1, u2, u4, u8, f4, f8, d18, d38, s)
"""


def _printed(capsys: pytest.CaptureFixture[str], res: QueryResult | QueryRows, fmt: str) -> str:
    capsys.readouterr()
    if isinstance(res, QueryRows):
        write_result(res, fmt)
    else:
        write_table(res.table, fmt)
    return capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_rows_print_the_same_text_as_arrow(lake: Lake, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    rows = query_lake(lake, EDGE_SQL, plain_rows=True)
    arrow = query_lake(lake, EDGE_SQL)
    assert isinstance(rows, QueryRows) and isinstance(arrow, QueryResult)
    assert len(rows.rows) == arrow.table.num_rows == 3
    assert rows.columns == tuple(arrow.table.column_names)
    assert _printed(capsys, rows, fmt) == _printed(capsys, arrow, fmt)


def test_every_plain_type_is_covered_by_the_edge_query() -> None:
    import duckdb

    con = duckdb.connect()
    try:
        ids = {d[1].id for d in con.execute(EDGE_SQL).description or ()}
    finally:
        con.close()
    assert ids == PLAIN_TYPES


@pytest.mark.parametrize("sql", [
    "SELECT DATE '2024-01-01' AS d",           # dates: infinite values differ
    "SELECT 1::HUGEINT AS h",                  # Arrow gives a Decimal, DuckDB an int
    "SELECT [1, 2] AS l, 1 AS n",              # nested
    "SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' AS t",
])
def test_other_types_still_come_back_as_arrow(lake: Lake, sql: str) -> None:
    assert isinstance(query_lake(lake, sql, plain_rows=True), QueryResult)


def test_rows_keep_the_row_limit(lake: Lake) -> None:
    res = query_lake(lake, "SELECT range AS n FROM range(5)", row_limit=3, plain_rows=True)
    assert isinstance(res, QueryRows)
    assert res.rows == [(0,), (1,), (2,)] and res.truncated and res.row_limit == 3
    whole = query_lake(lake, "SELECT range AS n FROM range(3)", row_limit=3, plain_rows=True)
    assert isinstance(whole, QueryRows) and not whole.truncated


def test_a_count_at_the_shell_loads_neither_arrow_nor_numpy(lake: Lake) -> None:
    """The console script's quick start, in a process of its own, as a user runs it."""
    code = (
        "import sys\n"
        "from expedition.delivery.cli.entry import main\n"
        "sys.argv = ['expedition', 'query', '--home', sys.argv[1], sys.argv[2]]\n"
        "main()\n"
        "sys.stderr.write(' '.join(m for m in ('pyarrow', 'numpy', 'rich') if m in sys.modules))\n"
    )
    def run(sql: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", code, str(lake.home), sql], capture_output=True, text=True,
                              timeout=60)

    out = run("SELECT count(*) AS n FROM events")
    assert out.returncode == 0, out.stderr
    assert "│ 0 " in out.stdout  # the empty lake's count, printed as a table
    assert out.stderr.strip() == "rich"
    # ... and a column that needs Arrow still prints (pyarrow loads then)
    out = run("SELECT DATE '2024-01-02' AS d")
    assert out.returncode == 0 and "2024-01-02" in out.stdout and "pyarrow" in out.stderr, out.stderr


def test_the_memory_pool_is_chosen_when_pyarrow_loads(tmp_path: Path) -> None:
    """configure_process before pyarrow is imported: nothing loads then, the pool is set at import."""
    code = (
        "import sys\n"
        "from expedition.settings import load_settings\n"
        "from expedition.process import configure_process\n"
        "configure_process(load_settings(sys.argv[1]))\n"
        "assert 'pyarrow' not in sys.modules\n"
        "configure_process(load_settings(sys.argv[1]))  # twice: one hook\n"
        "import pyarrow as pa\n"
        "print(pa.default_memory_pool().backend_name)\n"
    )
    env = {"QE_ARROW_MEMORY_POOL": "system", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60,
                         env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "system"
