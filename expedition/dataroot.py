"""One handle on a data root: the everyday operations of the ``expedition`` command, from Python.

Example::

    import expedition
    qe = expedition.open("~/qe")                       # settings of that root; the lake is created if needed
    qe.import_catalog("comcat.csv")                    # events into the lake
    decisions = qe.evaluate()                          # judge new events, open expeditions
    for exp in qe.expeditions():
        print(exp.expedition_id, exp.expedition_status)
    qe.ingest_survey("buildings.csv", expedition="EXP-2015-NPL-001")
    qe.brief("EXP-2015-NPL-001", fmt="md")
    qe.query("SELECT count(*) AS n FROM events")       # read-only SQL -> pyarrow.Table

Each method is a thin call into the module that does the work (named in its docstring), with the
root's settings and lake; nothing here holds a connection open between calls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expedition.settings import Settings, load_settings

if TYPE_CHECKING:
    import pyarrow as pa

    from catalogs.ingest import IngestReport as CatalogReport
    from catalogs.pull import PullReport
    from expedition.decisions.records import Expedition
    from expedition.decisions.response.decisions import Decision
    from expedition.decisions.response.events import EventRow
    from expedition.decisions.response.judge import Judgement
    from expedition.outputs.briefs.generate import BriefResult
    from expedition.surveys.ingest import IngestReport as SurveyReport
    from warehouse.lake import Lake

__all__ = ["DataRoot", "open_root"]


class DataRoot:
    """A data root (settings, lake, raw archive, briefs) and what one does with it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"DataRoot({str(self.home)!r})"

    @property
    def home(self) -> Path:
        """The data root directory."""
        return self.settings.home

    @property
    def lake(self) -> Lake:
        """The root's lake (:class:`warehouse.Lake`)."""
        from warehouse.lake import Lake

        return Lake.from_settings(self.settings)

    def init(self) -> list[str]:
        """Create the lake and the root's directories (idempotent); the tables created or migrated."""
        changed = self.lake.init()
        for sub in (self.settings.raw_dir, self.settings.briefs_dir):
            sub.mkdir(parents=True, exist_ok=True)
        return changed

    # -- catalogs -----------------------------------------------------------------------------
    def import_catalog(self, path: Path | str, provider: str | None = None) -> CatalogReport:
        """Archive and ingest one catalog file (:func:`catalogs.ingest.import_file`)."""
        from catalogs.ingest import import_file

        return import_file(self.lake, self.settings, path, provider)

    def pull(
        self,
        provider: str,
        starttime: dt.datetime | str | None = None,
        endtime: dt.datetime | str | None = None,
        minmagnitude: float | None = None,
    ) -> PullReport:
        """Pull one FDSN provider's events into the lake (:func:`catalogs.pull.pull_provider`)."""
        from catalogs.pull import pull_provider

        return pull_provider(self.lake, self.settings, provider, starttime, endtime, minmagnitude)

    def events(self) -> pa.Table:
        """Every event in its current (preferred) solution."""
        return self.query("SELECT * FROM events ORDER BY origin_time_utc")

    # -- decisions ----------------------------------------------------------------------------
    def evaluate(self, event_ids: Sequence[str] | None = None, *, since: dt.datetime | None = None) -> list[Decision]:
        """Judge new or revised events; open, join or update expeditions
        (:func:`expedition.decisions.response.evaluate.evaluate_events`). Rerunning changes nothing."""
        from expedition.decisions.response.evaluate import evaluate_events

        return evaluate_events(self.lake, self.settings, event_ids, since=since)

    def judge(self, event: EventRow | Mapping[str, Any]) -> Judgement:
        """Judge one event with this root's policy and membership, writing nothing
        (:func:`expedition.decisions.response.judge.judge_event`)."""
        from expedition.decisions.response.judge import judge_event

        return judge_event(event, self.settings)

    def expeditions(self, status: str | None = None) -> list[Expedition]:
        """Expeditions in their current state, oldest mainshock first (optionally of one status)."""
        from expedition.decisions.records import list_expeditions

        return list_expeditions(self.lake, status=status)

    def expedition(self, expedition_id: str) -> Expedition:
        """One expedition's current state (:class:`expedition.errors.NotFound` when unknown)."""
        from expedition.decisions.records import get_expedition

        return get_expedition(self.lake, expedition_id)

    def open_expedition(self, event_id: str, *, reason: str, by: str) -> Expedition:
        """Open an expedition for ``event_id`` by a person's decision (recorded with who and why)."""
        from expedition.decisions.response.evaluate import open_expedition

        return open_expedition(self.lake, event_id, reason=reason, by=by, settings=self.settings)

    # -- field data and outputs ---------------------------------------------------------------
    def ingest_survey(
        self,
        path: Path | str,
        *,
        expedition: str,
        kind: str | None = None,
        mapping: Path | str | None = None,
        strict: bool = False,
    ) -> SurveyReport:
        """Archive, validate and load one survey file into an expedition
        (:func:`expedition.surveys.ingest.ingest_survey_file`)."""
        from expedition.surveys.ingest import ingest_survey_file

        return ingest_survey_file(self.lake, self.settings, expedition, path, kind=kind, mapping=mapping, strict=strict)

    def brief(
        self, expedition_id: str, fmt: str = "html", lang: str = "en", out: Path | str | None = None
    ) -> BriefResult:
        """Write the expedition brief (:func:`expedition.outputs.briefs.generate.generate_brief`)."""
        from expedition.outputs.briefs.generate import generate_brief

        return generate_brief(self.lake, self.settings, expedition_id, fmt=fmt, lang=lang,
                              out=Path(out) if out is not None else None)

    def query(self, sql: str, params: list[Any] | dict[str, Any] | None = None, *, snapshot: int | None = None) -> pa.Table:
        """Read-only SQL on the lake's tables and views (:func:`warehouse.query.query_lake`), as a
        ``pyarrow.Table``; at most ``settings.query_row_limit`` rows."""
        from warehouse.query import query_lake

        return query_lake(self.lake, sql, params, snapshot=snapshot, row_limit=self.settings.query_row_limit,
                          timeout_s=self.settings.query_timeout_s).table


def open_root(home: Path | str | None = None, *, create: bool = True, **overrides: Any) -> DataRoot:
    """The data root ``home`` (default ``$QE_HOME``, else ``~/.local/share/quake-expedition``).

    Settings resolve as for the command line (defaults < ``qe.toml`` < ``QE_*`` < ``overrides``).
    With ``create`` (the default) the lake and directories are created or migrated (idempotent).
    """
    root = DataRoot(load_settings(home, **overrides))
    if create:
        root.init()
    return root
