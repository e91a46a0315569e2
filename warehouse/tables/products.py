"""Authoritative event products (ComCat detail) and the assessment of every judged event.

All four tables are append-only and keyed by values derived from their inputs, so a re-pull or a
re-evaluation writes nothing new:

* ``event_details``: every version of an event's detail document seen (event-level ``alert``,
  ``mmi``, aliases), keyed by (provider, provider event id, document hash);
* ``event_products``: every product version (``losspager``, ``shakemap``, ``finite-fault``,
  ``moment-tensor``, ...), keyed by the product's URN id (source, type, code and update time),
  with the interpreted values the response uses (PAGER alert, ShakeMap version and grid URL,
  finite-fault strike/dip/length/segments, nodal planes) and every property as JSON;
* ``shakemap_grids``: a ShakeMap ``grid.xml`` that was downloaded and read successfully (a bad grid
  stores nothing), with the archived file it can be re-read from;
* ``event_assessments``: one row per trigger decision that had an impact estimate, opened or not:
  the intensity source (our model and version, or the ShakeMap version and agency), strongest
  intensity at a populated place, population per MMI bin, expected fatalities, the probability of
  each PAGER fatality range, our alert, the authoritative
  one and which drove the decision.
"""

from __future__ import annotations

import pyarrow as pa

from warehouse.schema import TableSpec

UTC = pa.timestamp("us", tz="UTC")

#: column suffixes of PAGER's fatality ranges (USGS PAGER alert histogram: 0-1, 1-10, ... 100,000+ deaths);
#: the bounds themselves belong to the PAGER model (expedition.science.hazard.pager.FATALITY_RANGES)
FATALITY_RANGE_SUFFIXES: tuple[str, ...] = (
    "0_1", "1_10", "10_100", "100_1000", "1000_10000", "10000_100000", "100000_plus",
)

EVENT_DETAILS = TableSpec(
    name="event_details",
    schema=pa.schema(
        [
            pa.field("provider", pa.string(), nullable=False),
            pa.field("provider_event_id", pa.string(), nullable=False),
            pa.field("detail_sha256", pa.string(), nullable=False),
            pa.field("event_id", pa.string(), nullable=False),  # the project's event
            pa.field("detail_updated_utc", UTC),  # the document's `updated`
            pa.field("alert_level", pa.string()),  # event-level PAGER alert shown by the provider
            pa.field("mmi_max", pa.float64()),
            pa.field("alias_ids", pa.list_(pa.string())),
            pa.field("alias_sources", pa.list_(pa.string())),
            pa.field("product_count", pa.int32()),
            pa.field("detail_url", pa.string()),
            pa.field("archive_path", pa.string()),  # the raw document, archived by hash
            pa.field("pulled_utc", UTC),
        ]
    ),
    key=("provider", "provider_event_id", "detail_sha256"),
    append_only=True,
    description="Every version of a provider's event detail document (alert, mmi, aliases).",
)

EVENT_PRODUCTS = TableSpec(
    name="event_products",
    schema=pa.schema(
        [
            pa.field("product_id", pa.string(), nullable=False),  # urn:usgs-product:<src>:<type>:<code>:<updateTime>
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("provider", pa.string(), nullable=False),
            pa.field("provider_event_id", pa.string(), nullable=False),
            pa.field("product_type", pa.string(), nullable=False),
            pa.field("product_source", pa.string()),  # network that made it (us, ci, at, ...)
            pa.field("product_code", pa.string()),
            pa.field("product_status", pa.string()),  # UPDATE | DELETE
            pa.field("product_version", pa.string()),  # the product's own version property (ShakeMap)
            pa.field("product_update_time_utc", UTC, nullable=False),
            pa.field("product_preferred_weight", pa.int32()),
            pa.field("review_status", pa.string()),
            pa.field("alert_level", pa.string()),  # losspager alertlevel
            pa.field("mmi_max", pa.float64()),
            pa.field("shakemap_grid_url", pa.string()),
            pa.field("fault_strike_deg", pa.float64()),
            pa.field("fault_dip_deg", pa.float64()),
            pa.field("fault_rake_deg", pa.float64()),
            pa.field("fault_length_km", pa.float64()),
            pa.field("fault_width_km", pa.float64()),
            pa.field("fault_top_depth_km", pa.float64()),
            pa.field("fault_segment_count", pa.int32()),
            pa.field("fault_segments_json", pa.string()),  # [{"strike_deg":..,"dip_deg":..,"length_km":..,"width_km":..}]
            pa.field("nodal_plane1_strike_deg", pa.float64()),
            pa.field("nodal_plane1_dip_deg", pa.float64()),
            pa.field("nodal_plane1_rake_deg", pa.float64()),
            pa.field("nodal_plane2_strike_deg", pa.float64()),
            pa.field("nodal_plane2_dip_deg", pa.float64()),
            pa.field("nodal_plane2_rake_deg", pa.float64()),
            pa.field("properties_json", pa.string()),
            pa.field("contents_json", pa.string()),  # content path -> URL
            pa.field("detail_sha256", pa.string()),
            pa.field("pulled_utc", UTC),
        ]
    ),
    key=("product_id",),
    append_only=True,
    description="Every version of every authoritative product of an event (PAGER, ShakeMap, finite fault, moment tensor...).",
)

SHAKEMAP_GRIDS = TableSpec(
    name="shakemap_grids",
    schema=pa.schema(
        [
            pa.field("product_id", pa.string(), nullable=False),  # the shakemap product version it came with
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("grid_event_id", pa.string()),  # the id written in the grid
            pa.field("shakemap_version", pa.string()),
            pa.field("shakemap_agency", pa.string()),  # USGS | BMKG (XML namespace)
            pa.field("shakemap_originator", pa.string()),  # network
            pa.field("shakemap_code_version", pa.string()),
            pa.field("grid_process_time", pa.string()),
            pa.field("grid_lon_count", pa.int32()),
            pa.field("grid_lat_count", pa.int32()),
            pa.field("grid_lon_min_deg", pa.float64()),
            pa.field("grid_lon_max_deg", pa.float64()),
            pa.field("grid_lat_min_deg", pa.float64()),
            pa.field("grid_lat_max_deg", pa.float64()),
            pa.field("mmi_max", pa.float64()),
            pa.field("mmi_sigma_method", pa.string()),
            pa.field("grid_url", pa.string()),
            pa.field("archive_path", pa.string(), nullable=False),  # the grid.xml, archived by hash
            pa.field("grid_sha256", pa.string(), nullable=False),
            pa.field("pulled_utc", UTC),
        ]
    ),
    key=("product_id",),
    append_only=True,
    description="ShakeMap grid.xml files read successfully, with the archived copy to re-read them from.",
)

EVENT_ASSESSMENTS = TableSpec(
    name="event_assessments",
    schema=pa.schema(
        [
            pa.field("assessment_id", pa.string(), nullable=False),  # = the decision id it belongs to
            pa.field("decision_id", pa.string(), nullable=False),
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("event_revision", pa.int32(), nullable=False),
            pa.field("decision", pa.string()),  # opened | not_opened | joined | updated | ...
            pa.field("expedition_id", pa.string()),
            pa.field("assessed_utc", UTC),
            pa.field("origin_time_utc", UTC),
            pa.field("origin_latitude_deg", pa.float64()),
            pa.field("origin_longitude_deg", pa.float64()),
            pa.field("origin_depth_km", pa.float64()),
            pa.field("magnitude_value", pa.float64()),
            pa.field("magnitude_type", pa.string()),
            pa.field("intensity_source_kind", pa.string()),  # model | shakemap
            pa.field("intensity_source", pa.string()),  # "allen2012_rrup (Allen et al. 2012)" | "USGS ShakeMap 4.1 v20 us"
            pa.field("intensity_version", pa.string()),  # model version or ShakeMap version
            pa.field("intensity_agency", pa.string()),  # ShakeMap agency (USGS, BMKG) or null for our model
            pa.field("intensity_product_id", pa.string()),
            pa.field("rupture_method", pa.string()),
            pa.field("mmi_max_populated", pa.float64()),  # strongest intensity at a populated place
            pa.field("mmi_max_place", pa.string()),
            pa.field("mmi_max_country_iso3", pa.string()),
            pa.field("population_by_mmi_json", pa.string()),  # {"IV": n, ..., "X": n}
            pa.field("population_source", pa.string()),
            pa.field("fatality_median", pa.float64()),
            pa.field("fatality_method", pa.string()),
            *[pa.field(f"fatality_prob_{suffix}", pa.float64()) for suffix in FATALITY_RANGE_SUFFIXES],
            pa.field("fatality_zeta", pa.float64()),  # PAGER's log-normal spread (combined G) of those probabilities
            pa.field("alert_level_ours", pa.string()),
            pa.field("alert_level_authoritative", pa.string()),
            pa.field("alert_authoritative_source", pa.string()),  # "USGS PAGER us 2025-04-09T06:20:56Z"
            pa.field("alert_level_acted", pa.string()),
            pa.field("alert_basis", pa.string()),  # authoritative | ours
            pa.field("model_versions_json", pa.string()),
        ]
    ),
    key=("assessment_id",),
    append_only=True,
    description="The impact assessment of every judged event (opened or not) with its intensity source and both alerts.",
)

TABLES: tuple[TableSpec, ...] = (EVENT_DETAILS, EVENT_PRODUCTS, SHAKEMAP_GRIDS, EVENT_ASSESSMENTS)
