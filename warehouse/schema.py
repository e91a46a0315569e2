"""Table declarations: one :class:`TableSpec` per lake table, declared once.

Every writer and reader goes through these specs. A spec carries a pyarrow
schema (column names follow ``category_parameter_unit``), the key columns that
make writes idempotent, optional partition columns and a schema version.

Geometry columns are declared as ``pa.binary()`` fields whose metadata holds
``{"qe:geometry": "1"}``: they travel as WKB in Arrow and are stored as DuckDB
``GEOMETRY`` in the lake (a core type of DuckDB 1.5; ``ST_GeomFromWKB``/``ST_AsWKB`` are built in).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from warehouse.errors import SchemaMismatch

__all__ = ["GEOMETRY_META", "TableSpec", "check_constants", "conform", "duckdb_type", "geometry_field"]

GEOMETRY_META = {b"qe:geometry": b"1"}


def geometry_field(name: str, nullable: bool = True) -> pa.Field:
    """A WKB geometry column (stored as GEOMETRY in the lake)."""
    return pa.field(name, pa.binary(), nullable=nullable, metadata=GEOMETRY_META)


def is_geometry(f: pa.Field) -> bool:
    return bool(f.metadata) and f.metadata.get(b"qe:geometry") == b"1"


@dataclass(frozen=True)
class TableSpec:
    """A lake table: name, Arrow schema, key, partitioning, version, description."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    version: int = 1
    partition_by: tuple[str, ...] = ()
    description: str = ""
    append_only: bool = False
    column_docs: dict[str, str] = field(default_factory=dict)
    #: A key column whose value picks the write fence (concurrent writers on a PostgreSQL catalog
    #: conflict only when they write the same value's bucket; ``None``: one fence for the table); or a
    #: partition column whose value the key fixes (two writes of one key then claim the same fence).
    fence_by: str | None = None

    def __post_init__(self) -> None:
        names = set(self.schema.names)
        for col in (*self.key, *self.partition_by):
            if col not in names:
                raise ValueError(f"{self.name}: key/partition column {col!r} not in schema")
        if self.fence_by is not None and self.fence_by not in (*self.key, *self.partition_by):
            raise ValueError(f"{self.name}: fence_by {self.fence_by!r} must be a key or partition column")

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    @property
    def geometry_columns(self) -> list[str]:
        return [f.name for f in self.schema if is_geometry(f)]

    def ddl(self, qualified_name: str) -> str:
        """``CREATE TABLE IF NOT EXISTS`` statement for this spec (identifiers only, no values)."""
        cols = ",\n  ".join(f'"{f.name}" {duckdb_type(f)}' for f in self.schema)
        return f"CREATE TABLE IF NOT EXISTS {qualified_name} (\n  {cols}\n)"

    def empty(self) -> pa.Table:
        return self.schema.empty_table()


def duckdb_type(f: pa.Field) -> str:  # noqa: C901
    """DuckDB column type for an Arrow field."""
    if is_geometry(f):
        return "GEOMETRY"
    t = f.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "VARCHAR"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_int8(t) or pa.types.is_int16(t):
        return "SMALLINT"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_float32(t):
        return "FLOAT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_date32(t):
        return "DATE"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "BLOB"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = duckdb_type(pa.field("x", t.value_type))
        return f"{inner}[]"
    raise TypeError(f"no DuckDB type for Arrow type {t} (column {f.name})")


def conform(
    table: pa.Table, spec: TableSpec, *, fill_missing: Iterable[str] = (), omit: Iterable[str] = (),
    rows: pa.Array | None = None, dictionaries: bool = False,
) -> pa.Table:
    """Return ``table`` cast to ``spec.schema`` (column order and types).

    Raises :class:`SchemaMismatch` naming the first column that is missing,
    unexpected, or cannot be cast safely. Columns listed in ``fill_missing``
    may be absent and are filled with nulls. Non-nullable columns must not
    contain nulls. Columns listed in ``omit`` must be absent and are left out
    of the result (the writer supplies them as constants). ``rows`` (a boolean mask) limits the
    null check to the rows that will be written. ``dictionaries=True`` keeps a dictionary-encoded
    column whose values have the declared type as it is (for the Parquet writer, which stores it
    the same way); otherwise it is decoded.
    """
    fill, skip = set(fill_missing), set(omit)
    extra = [c for c in table.column_names if c not in spec.schema.names or c in skip]
    if extra:
        why = "is given as a constant" if extra[0] in skip else "is not declared in the table schema"
        raise SchemaMismatch(spec.name, extra[0], f"column {why}")
    arrays = []
    fields = []
    for f in spec.schema:
        if f.name in skip:
            continue
        fields.append(f)
        if f.name in table.column_names:
            col = table.column(f.name)
            if dictionaries and pa.types.is_dictionary(col.type) and col.type.value_type.equals(f.type):
                fields[-1] = f.with_type(col.type)
            elif not col.type.equals(f.type):
                try:
                    col = col.cast(f.type, safe=True)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                    raise SchemaMismatch(
                        spec.name, f.name, f"expected {f.type}, got {col.type}: {exc}"
                    ) from exc
        elif f.name in fill or f.nullable:
            if not f.nullable:
                raise SchemaMismatch(spec.name, f.name, "required column is missing")
            col = pa.chunked_array([pa.nulls(table.num_rows, type=f.type)])
        else:
            raise SchemaMismatch(spec.name, f.name, "required column is missing")
        if not f.nullable and col.null_count:
            import pyarrow.compute as pc  # here, not at import: 0.07-0.09 s of every `expedition query`

            missing = pc.is_null(col) if rows is None else pc.and_(pc.is_null(col), rows)
            first = pc.index(missing, True).as_py()
            if first >= 0:
                raise SchemaMismatch(spec.name, f.name, f"null in a required column (row {first})")
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=spec.schema.metadata))


def check_constants(spec: TableSpec, constants: Mapping[str, Any]) -> None:
    """Columns a writer fills with one value must be declared, not geometry, and not null when
    required (raises :class:`SchemaMismatch`)."""
    for col, value in constants.items():
        f = spec.schema.field(col) if col in spec.schema.names else None
        if f is None:
            raise SchemaMismatch(spec.name, col, "constant column is not declared in the table schema")
        if col in spec.geometry_columns:
            raise SchemaMismatch(spec.name, col, "a geometry column cannot be given as a constant")
        if value is None and not f.nullable:
            raise SchemaMismatch(spec.name, col, "null constant for a required column")
