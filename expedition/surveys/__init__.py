"""Field surveys: observation kinds, XLSForm templates, ingestion with validation and quarantine, exports.

Public API::

    from expedition.surveys import context_for, ingest_file, export_survey, write_template

    ctx = context_for(lake, "EXP-2015-NPL-001", settings)      # window and affected area of the expedition
    report = ingest_file(lake, "buildings.csv", ctx)             # kind detected from the columns
    report = ingest_file(lake, values, ctx, mapping="nepal_2015_richter", labels=labels)
    export_survey(lake, "EXP-2015-NPL-001", "buildings", "parquet", "out.parquet")
    write_template("buildings", "buildings.xlsx")

Modules: ``kinds`` (fields and vocabularies), ``templates`` (XLSForm), ``readers`` (CSV/XLSX/GeoJSON),
``mapping`` (ODK/Kobo headers and mapping files), ``parse``/``validate`` (vectorised checks), ``geometry``,
``context`` (expedition window and area), ``ingest`` (one lake transaction per file), ``export``.
"""

from __future__ import annotations

from expedition.surveys.context import SurveyContext, context_for, context_from_expedition
from expedition.surveys.export import ExportResult, export_survey
from expedition.surveys.ingest import IngestReport, ingest_file, ingest_survey_file
from expedition.surveys.kinds import KINDS, kind_spec
from expedition.surveys.mapping import load_mapping
from expedition.surveys.templates import write_template

__all__ = [
    "KINDS",
    "ExportResult",
    "IngestReport",
    "SurveyContext",
    "context_for",
    "context_from_expedition",
    "export_survey",
    "ingest_file",
    "ingest_survey_file",
    "kind_spec",
    "load_mapping",
    "write_template",
]
