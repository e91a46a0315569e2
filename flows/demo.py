"""The offline demo, end to end, on a fresh data root (``expedition demo``, ``make demo``).

1. create the lake and a ``qe.toml`` whose one provider (``USGS``) is a local FDSN event service;
2. start that service on 127.0.0.1, serving the bundled sample of real ComCat events
   (``flows/demo_data/comcat_sample_2023-2024.csv``);
3. run ``watch`` once (pull, then respond: trigger decisions, expeditions, first briefs);
4. ingest the bundled SYNTHETIC building survey for the expedition of the 2023 Mindanao M7.6;
5. write that expedition's brief again (now with the survey) and summarise.

This module is plain library code: the steps that run Prefect flows are given by the caller as a
:class:`PipelineRunner` (the command line passes one that runs the flows in ``flows/``), so the
expedition layer never imports Prefect. Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from expedition.errors import ExpeditionError
from expedition.settings import Settings, load_settings

log = logging.getLogger(__name__)

SAMPLE_CATALOG = "comcat_sample_2023-2024.csv"
SAMPLE_SURVEY = "SYNTHETIC_mindanao_2023_building_survey.csv"
#: ComCat id of the mainshock the synthetic survey was made for (2023-12-02 14:37 UTC, M7.6 off Mindanao).
SURVEY_EVENT_ID = "us7000lff4"
#: The demo's first pull starts here (the sample spans 2023-01-08 to 2024-02-20).
DEMO_STARTTIME = datetime(2023, 1, 1, tzinfo=UTC)
DEMO_PROVIDER = "USGS"
_CONFIG_MARK = "# written by `expedition demo`"


class DemoError(ExpeditionError):
    """The demo cannot run here (for example, the data root holds someone else's configuration)."""


class PipelineRunner(Protocol):
    """The pipeline steps the demo runs through Prefect (see ``flows/demo_cmd.py``)."""

    def start_orchestrator(self) -> Callable[[], float]: ...

    def watch(self, settings: Settings, starttime: datetime) -> list[str]: ...

    def ingest_survey(self, settings: Settings, expedition_id: str, path: Path) -> list[str]: ...

    def generate_brief(self, settings: Settings, expedition_id: str) -> Path: ...


@dataclass
class DemoResult:
    """What the demo did: summary lines, the brief written, and the steps that could not run."""

    home: Path
    lines: list[str] = field(default_factory=list)
    brief: Path | None = None
    expedition_id: str | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.skipped


def demo_file(name: str) -> Path:
    """Path of a bundled demo file."""
    return Path(str(resources.files("flows") / "demo_data" / name))


def write_demo_config(home: Path, service_url: str) -> Path:
    """Write ``<home>/qe.toml`` pointing the one provider at the local service (atomic).

    Refuses to replace a ``qe.toml`` that the demo did not write."""
    cfg = home / "qe.toml"
    if cfg.exists() and _CONFIG_MARK not in cfg.read_text(encoding="utf-8", errors="replace"):
        raise DemoError(f"{cfg} exists and was not written by the demo: use an empty --home for the demo")
    text = "\n".join([
        _CONFIG_MARK + " (safe to delete with this directory)",
        "watch_interval_s = 300",
        "",
        "[flows]",
        "retry_delays_s = [0.5, 2.0]",
        "",
        "[[providers]]",
        f'name = "{DEMO_PROVIDER}"',
        f'url = "{service_url}"',
        "priority = 10",
        "min_interval_s = 0.0",
        "timeout_s = 30.0",
        "",
    ])
    home.mkdir(parents=True, exist_ok=True)
    tmp = cfg.with_name(f".{cfg.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(cfg)
    return cfg


@contextlib.contextmanager
def sample_service(path: Path | None = None) -> Iterator[Any]:
    """A local FDSN event service on 127.0.0.1 serving the sample catalog (closed on exit)."""
    from catalogs.detect import read_catalog_file
    from catalogs.fdsnws_server import serve_events

    rows = read_catalog_file(path or demo_file(SAMPLE_CATALOG), provider=DEMO_PROVIDER)
    server = serve_events(rows, host="127.0.0.1", port=0)
    try:
        yield server
    finally:
        server.close()


def survey_expedition(settings: Settings, provider_event_id: str = SURVEY_EVENT_ID) -> str | None:
    """The expedition whose sequence holds the event the provider calls ``provider_event_id``."""
    from warehouse.lake import Lake

    lake = Lake.from_settings(settings)
    aliases = lake.read_table("event_aliases", "WHERE provider_event_id = ?", [provider_event_id])
    for event_id in aliases.column("event_id").to_pylist():
        members = lake.read_table("expedition_events", "WHERE event_id = ? ORDER BY expedition_id", [event_id])
        if members.num_rows:
            return str(members.column("expedition_id")[0].as_py())
    return None


def lake_counts(settings: Settings) -> dict[str, int]:
    """Row counts of the tables and views the summary shows (0 for one that does not exist yet)."""
    import duckdb

    from warehouse.lake import Lake

    names = ("events", "expeditions", "trigger_decisions", "survey_buildings")
    out = dict.fromkeys(names, 0)
    con = Lake.from_settings(settings).connect(read_only=True)
    try:
        for name in names:  # identifiers from this fixed list, never from input
            with contextlib.suppress(duckdb.Error):
                row = con.execute(f"SELECT count(*) FROM {name}").fetchone()
                out[name] = int(row[0]) if row else 0
    finally:
        con.close()
    return out


def _server_ready(say: Callable[[str], None], ready: Callable[[], float], started: float) -> None:
    """Wait for the orchestrator the watch needs; say how long it took to start and how long we waited."""
    t0 = time.perf_counter()
    took = ready()
    if took:
        say(f"  Prefect's temporary local server ready: started in {took:.1f} s "
            f"(waited {time.perf_counter() - t0:.1f} s here, {t0 - started:.1f} s after the start)")


def _step(result: DemoResult, say: Callable[[str], None], name: str, fn: Callable[[], Any]) -> Any:
    """Run one demo step; a missing pipeline module is reported and skipped, not a crash."""
    t0 = time.perf_counter()
    try:
        out = fn()
    except ImportError as exc:  # a pipeline module this version does not have yet
        what = exc.name or str(exc)
        result.skipped.append(f"{name}: {what} is not available in this version")
        say(f"  skipped: {name} ({what} is not available in this version)")
        return None
    say(f"  done in {time.perf_counter() - t0:.1f} s")
    return out


def run_demo(home: Path, runner: PipelineRunner, say: Callable[[str], None] = print) -> DemoResult:
    """Run the demo under ``home``; ``say`` receives progress lines. Returns the summary."""
    from warehouse.lake import Lake

    result = DemoResult(home=home)
    settings = load_settings(home)
    # Prefect's temporary local server starts in the background while the lake and the event
    # service are set up; the watch below starts once it answers (its start-up is timed apart).
    ready = runner.start_orchestrator()
    t_server = time.perf_counter()
    say(f"[1/5] creating the lake under {home} (Prefect's temporary local server starts meanwhile)")
    created = Lake.from_settings(settings).init()
    say(f"  {len(created)} tables created or migrated")
    say("[2/5] starting a local FDSN event service with 40 real USGS ComCat events (2023-2024)")
    with contextlib.ExitStack() as stack:
        server = _step(result, say, "local FDSN service", lambda: stack.enter_context(sample_service()))
        if server is not None:
            write_demo_config(home, server.url)
            settings = load_settings(home)
            say(f"  serving {server.url}")
            _server_ready(say, ready, t_server)
            say("[3/5] watch, once, through Prefect: pull the catalog, then judge every event")
            for line in _step(result, say, "watch", lambda: runner.watch(settings, DEMO_STARTTIME)) or []:
                say(f"  {line}")
        else:
            say("[3/5] watch skipped: no event service")
    result.expedition_id = _survey_target(settings)
    say("[4/5] ingesting the SYNTHETIC sample survey (invented values, for the demo only)")
    if result.expedition_id:
        say(f"  for {result.expedition_id} (the expedition of the 2023-12-02 M7.6 off Mindanao)")
        path = demo_file(SAMPLE_SURVEY)
        exp = result.expedition_id
        for line in _step(result, say, "survey ingest", lambda: runner.ingest_survey(settings, exp, path)) or []:
            say(f"  {line}")
        label_synthetic(settings, exp)
        say("[5/5] writing the brief")
        result.brief = _step(result, say, "brief", lambda: runner.generate_brief(settings, exp))
    else:
        result.skipped.append("survey and brief: no expedition holds the Mindanao mainshock")
        say("  skipped: no expedition holds the Mindanao M7.6 (the trigger policy did not open one)")
    result.lines = _summary(settings, result)
    return result


#: Shown as the expedition's team in the demo brief, so the brief itself says its field data are invented.
SYNTHETIC_TEAM = "SYNTHETIC demo survey (invented values, not real observations)"


def label_synthetic(settings: Settings, expedition_id: str) -> None:
    """Mark the demo expedition: its team line (printed in the brief) says the survey is synthetic."""
    from expedition.decisions.records import update_details
    from warehouse.lake import Lake

    update_details(Lake.from_settings(settings), expedition_id, by="expedition demo", team=[SYNTHETIC_TEAM],
                   note="demo: the field survey of this expedition is SYNTHETIC")


def _survey_target(settings: Settings) -> str | None:
    try:
        return survey_expedition(settings)
    except Exception as exc:  # tables of a missing module: reported as a skipped step by the caller
        log.info("no survey target: %s", exc)
        return None


def _summary(settings: Settings, result: DemoResult) -> list[str]:
    counts = lake_counts(settings)
    lines = [
        "",
        "Demo summary",
        f"  lake:         {settings.lake_dir} ({counts['events']} events, {counts['expeditions']} expeditions, "
        f"{counts['trigger_decisions']} trigger decisions, {counts['survey_buildings']} surveyed buildings)",
    ]
    if result.brief:
        lines.append(f"  brief:        {result.brief}")
    lines += [
        f"  briefs dir:   {settings.briefs_dir}",
        f"  query:        expedition query --home {settings.home} \"SELECT * FROM expeditions\"",
        f"  decisions:    expedition query --home {settings.home} "
        "\"SELECT event_id, magnitude_value, decision, decision_reason FROM trigger_decisions\"",
    ]
    if result.skipped:
        lines.append("  not run yet:  " + "; ".join(result.skipped))
    return lines
