"""ObsPy objects at the edges: ``Catalog``/``Event`` <-> solution rows, through the one flattening path.

ObsPy's event model is rich (every origin, magnitude, pick); the project needs one row per event.
Rather than flattening ObsPy objects a second way, :func:`from_obspy` serialises them to QuakeML
with ObsPy's own writer and feeds the bytes to :func:`catalogs.quakeml.parse_quakeml`, so preferred
origin/magnitude resolution, provider detection, id rules and value checks are the same as for a
QuakeML file. ``source_ref`` is ``<source_name>#<event number>`` (``obspy#1`` by default).

The other way, :func:`to_obspy` writes the rows with :func:`catalogs.quakeml_write.write_quakeml`
and reads the document with ``obspy.read_events``: one ``Event`` per row, one origin, at most one
magnitude, the provider's event id kept in the resource ids (``...?eventid=<id>``).
"""

from __future__ import annotations

import io
import logging
import warnings
from typing import TYPE_CHECKING

import pyarrow as pa

from catalogs.errors import ParseError
from catalogs.quakeml import parse_quakeml
from catalogs.quakeml_write import write_quakeml

if TYPE_CHECKING:
    from obspy import Catalog
    from obspy.core.event import Event

__all__ = ["from_obspy", "to_obspy"]

log = logging.getLogger(__name__)


def from_obspy(catalog_or_event: Catalog | Event, provider: str | None = None, source_name: str = "obspy") -> pa.Table:
    """Solution rows (``SOLUTION_ROW_SCHEMA``) of an ObsPy ``Catalog`` or single ``Event``.

    Example: ``from_obspy(client.get_events(minmagnitude=6), provider="ISC")``.
    Raises :class:`ParseError` when ObsPy cannot serialise the object or a value is out of range.
    """
    from obspy import Catalog as _Catalog
    from obspy.core.event import Event as _Event

    if isinstance(catalog_or_event, _Event):
        catalog = _Catalog(events=[catalog_or_event])
    elif isinstance(catalog_or_event, _Catalog):
        catalog = catalog_or_event
    else:
        raise ParseError(f"expected an obspy Catalog or Event, got {type(catalog_or_event).__name__}", source_name)
    buffer = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # ObsPy warns about non-standard publicIDs it writes anyway
        try:
            catalog.write(buffer, format="QUAKEML")
        except Exception as exc:  # ObsPy raises many kinds (ValueError, TypeError, lxml errors)
            raise ParseError(f"ObsPy could not write the catalog as QuakeML: {exc}", source_name) from exc
    for w in caught:
        log.debug("%s: ObsPy QuakeML writer: %s", source_name, w.message)
    log.debug("%s: %d events serialised to %d bytes of QuakeML", source_name, len(catalog), buffer.tell())
    return parse_quakeml(buffer.getvalue(), provider=provider, source_name=source_name)


def to_obspy(rows: pa.Table) -> Catalog:
    """An ObsPy ``Catalog`` with one ``Event`` per solution row (``SOLUTION_ROW_SCHEMA``).

    Example: ``to_obspy(read_catalog_file("comcat.csv")).plot()``. ``from_obspy(to_obspy(rows))``
    gives the rows' values back (``alias_ids`` and ``source_ref`` are not carried by QuakeML).
    """
    from obspy import read_events

    document = write_quakeml(rows)
    catalog: Catalog = read_events(io.BytesIO(document), format="QUAKEML")
    log.debug("%d rows -> ObsPy catalog of %d events", rows.num_rows, len(catalog))
    return catalog
