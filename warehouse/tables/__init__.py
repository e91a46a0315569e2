"""Every lake table, declared once. Writers and readers look specs up here.

Each module of this package declares the tables of one concern and lists them
in ``TABLES``; :data:`ALL_TABLES` gathers them in dependency order.
"""

from __future__ import annotations

from warehouse.schema import TableSpec
from warehouse.tables import briefs, catalog, expeditions, notifications, partners, products, surveys, system

ALL_TABLES: tuple[TableSpec, ...] = (
    *system.TABLES,
    *catalog.TABLES,
    *expeditions.TABLES,
    *products.TABLES,
    *surveys.TABLES,
    *partners.TABLES,
    *briefs.TABLES,
    *notifications.TABLES,
)

_BY_NAME = {t.name: t for t in ALL_TABLES}
if len(_BY_NAME) != len(ALL_TABLES):  # pragma: no cover - programming error
    raise RuntimeError("duplicate table name in warehouse.tables")


def spec(name: str) -> TableSpec:
    """The declared spec of table ``name`` (KeyError with the known names otherwise)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown lake table {name!r}; known: {sorted(_BY_NAME)}") from None


__all__ = ["ALL_TABLES", "spec"]
