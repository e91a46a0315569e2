"""Earthquake catalogs: read and write QuakeML, FDSN text, ComCat CSV and GeoJSON; ObsPy; association; pulls.

Every reader returns *solution rows*: a ``pyarrow.Table`` with :data:`SOLUTION_ROW_SCHEMA`, one row
per event as one provider reported it (preferred origin and magnitude resolved). Example::

    import catalogs
    rows = catalogs.read_events("comcat.csv")          # format detected from the first bytes
    quakeml = catalogs.write_quakeml(rows)              # bytes, QuakeML 1.2 BED
    cat = catalogs.to_obspy(rows)                       # obspy.Catalog, one Event per row
    again = catalogs.from_obspy(cat, provider="USGS")   # back to rows
    groups = catalogs.associate_rows(rows)              # which rows are the same quake

Lake-side operations (:func:`import_catalog`, :func:`pull_events`, :func:`ingest_rows`) take a
:class:`warehouse.Lake` and a settings object (``expedition.settings.Settings`` or anything with the
same fields). Some names differ from their module's (``associate_rows`` lives in
:mod:`catalogs.associate`, ``pull_events`` in :mod:`catalogs.pull`): a function named like a submodule
would be replaced by the module as soon as that module is imported.

Importing this package is cheap: each name loads its module on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warehouse.lazy import lazy_exports

if TYPE_CHECKING:
    from catalogs.associate import Association, AssociationParams, associate, associate_rows
    from catalogs.detect import CatalogFormat, detect_format
    from catalogs.detect import read_catalog_file as read_events
    from catalogs.distance import haversine_km
    from catalogs.errors import (
        CatalogError,
        ParseError,
        PermanentProviderError,
        ProviderError,
        TransientProviderError,
        UnknownFormat,
    )
    from catalogs.fdsn import Provider
    from catalogs.ingest import IngestReport, event_detail
    from catalogs.ingest import import_file as import_catalog
    from catalogs.ingest import ingest_solutions as ingest_rows
    from catalogs.obspy_io import from_obspy, to_obspy
    from catalogs.parse_common import ParseProblem
    from catalogs.pull import PullReport
    from catalogs.pull import pull_provider as pull_events
    from catalogs.quakeml_write import write_fdsn_text, write_quakeml
    from catalogs.rows import SOLUTION_ROW_SCHEMA, empty_solutions

__all__ = [
    "SOLUTION_ROW_SCHEMA",
    "Association",
    "AssociationParams",
    "CatalogError",
    "CatalogFormat",
    "IngestReport",
    "ParseError",
    "ParseProblem",
    "PermanentProviderError",
    "Provider",
    "ProviderError",
    "PullReport",
    "TransientProviderError",
    "UnknownFormat",
    "associate",
    "associate_rows",
    "detect_format",
    "empty_solutions",
    "event_detail",
    "from_obspy",
    "haversine_km",
    "import_catalog",
    "ingest_rows",
    "pull_events",
    "read_events",
    "to_obspy",
    "write_fdsn_text",
    "write_quakeml",
]

#: public name -> (module, name in that module)
_EXPORTS: dict[str, tuple[str, str]] = {
    "SOLUTION_ROW_SCHEMA": ("catalogs.rows", "SOLUTION_ROW_SCHEMA"),
    "Association": ("catalogs.associate", "Association"),
    "AssociationParams": ("catalogs.associate", "AssociationParams"),
    "CatalogError": ("catalogs.errors", "CatalogError"),
    "CatalogFormat": ("catalogs.detect", "CatalogFormat"),
    "IngestReport": ("catalogs.ingest", "IngestReport"),
    "ParseError": ("catalogs.errors", "ParseError"),
    "ParseProblem": ("catalogs.parse_common", "ParseProblem"),
    "PermanentProviderError": ("catalogs.errors", "PermanentProviderError"),
    "Provider": ("catalogs.fdsn", "Provider"),
    "ProviderError": ("catalogs.errors", "ProviderError"),
    "PullReport": ("catalogs.pull", "PullReport"),
    "TransientProviderError": ("catalogs.errors", "TransientProviderError"),
    "UnknownFormat": ("catalogs.errors", "UnknownFormat"),
    "associate": ("catalogs.associate", "associate"),
    "associate_rows": ("catalogs.associate", "associate_rows"),
    "detect_format": ("catalogs.detect", "detect_format"),
    "empty_solutions": ("catalogs.rows", "empty_solutions"),
    "event_detail": ("catalogs.ingest", "event_detail"),
    "from_obspy": ("catalogs.obspy_io", "from_obspy"),
    "haversine_km": ("catalogs.distance", "haversine_km"),
    "import_catalog": ("catalogs.ingest", "import_file"),
    "ingest_rows": ("catalogs.ingest", "ingest_solutions"),
    "pull_events": ("catalogs.pull", "pull_provider"),
    "read_events": ("catalogs.detect", "read_catalog_file"),
    "to_obspy": ("catalogs.obspy_io", "to_obspy"),
    "write_fdsn_text": ("catalogs.quakeml_write", "write_fdsn_text"),
    "write_quakeml": ("catalogs.quakeml_write", "write_quakeml"),
}


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
