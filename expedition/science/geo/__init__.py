"""Geography for Quake Expedition: country boundaries, populated places and great-circle distances.

* :mod:`expedition.science.geo.countries` - Natural Earth 1:10m admin-0 boundaries (``load_countries``).
* :mod:`expedition.science.geo.places` - GeoNames populated places (``load_places``).
* :mod:`expedition.science.geo.distance` - vectorised haversine and spherical helpers.

Importing this package loads no data: call the loaders (they memoise per process).
"""

from __future__ import annotations

from expedition.errors import ExpeditionError
from expedition.science.geo.distance import EARTH_RADIUS_KM, haversine_km

__all__ = ["EARTH_RADIUS_KM", "GeoDataError", "haversine_km"]


class GeoDataError(ExpeditionError, ValueError):
    """Geographic reference data is missing or malformed, or a country code is unknown."""
