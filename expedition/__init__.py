"""Quake Expedition: which earthquakes call for a scientific expedition, and the expeditions' data.

Two ways in from Python::

    import expedition
    qe = expedition.open("~/qe")                 # one handle on a data root (see expedition.dataroot)
    qe.import_catalog("comcat.csv")
    qe.evaluate()                                # judge new events, open expeditions
    qe.expeditions()                             # current state of every expedition

    verdict = expedition.judge({                 # one event, no lake: the shipped policy and membership
        "origin_time_utc": "2015-04-25T06:11:25Z", "origin_latitude_deg": 28.23,
        "origin_longitude_deg": 84.73, "origin_depth_km": 8.2, "magnitude_value": 7.8,
    })
    verdict.opens, verdict.countries, verdict.reason

Catalog files and ObsPy objects are the :mod:`catalogs` package's; the lake is :mod:`warehouse`'s.
Importing this package is cheap (no pandas, ObsPy or Prefect): each name loads its module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warehouse.lazy import lazy_exports

if TYPE_CHECKING:
    from expedition.dataroot import DataRoot
    from expedition.dataroot import open_root as open
    from expedition.decisions.policy import TriggerPolicy, Verdict, load_policy
    from expedition.decisions.records import Expedition, Status
    from expedition.decisions.response.decisions import Decision
    from expedition.decisions.response.events import EventRow
    from expedition.decisions.response.judge import Judgement
    from expedition.decisions.response.judge import judge_event as judge
    from expedition.errors import ExpeditionError, NotFound, PolicyError
    from expedition.settings import Settings, SettingsError, load_settings

__all__ = [
    "DataRoot",
    "Decision",
    "EventRow",
    "Expedition",
    "ExpeditionError",
    "Judgement",
    "NotFound",
    "PolicyError",
    "Settings",
    "SettingsError",
    "Status",
    "TriggerPolicy",
    "Verdict",
    "judge",
    "load_policy",
    "load_settings",
    "open",
]

#: public name -> (module, name in that module)
_EXPORTS: dict[str, tuple[str, str]] = {
    "DataRoot": ("expedition.dataroot", "DataRoot"),
    "Decision": ("expedition.decisions.response.decisions", "Decision"),
    "EventRow": ("expedition.decisions.response.events", "EventRow"),
    "Expedition": ("expedition.decisions.records", "Expedition"),
    "ExpeditionError": ("expedition.errors", "ExpeditionError"),
    "Judgement": ("expedition.decisions.response.judge", "Judgement"),
    "NotFound": ("expedition.errors", "NotFound"),
    "PolicyError": ("expedition.errors", "PolicyError"),
    "Settings": ("expedition.settings", "Settings"),
    "SettingsError": ("expedition.settings", "SettingsError"),
    "Status": ("expedition.decisions.records", "Status"),
    "TriggerPolicy": ("expedition.decisions.policy", "TriggerPolicy"),
    "Verdict": ("expedition.decisions.policy", "Verdict"),
    "judge": ("expedition.decisions.response.judge", "judge_event"),
    "load_policy": ("expedition.decisions.policy", "load_policy"),
    "load_settings": ("expedition.settings", "load_settings"),
    "open": ("expedition.dataroot", "open_root"),
}


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS, __all__)
