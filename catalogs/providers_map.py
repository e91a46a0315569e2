"""Provider names, provider event ids and event types: one place for the vocabularies.

* :func:`provider_from_agency` turns an agency or catalog code (``us``, ``NEIC PDE``, ``EMSC-RTS``)
  into a provider name (``USGS``, ``EMSC``). ComCat network codes (``us``, ``ak``, ``ci``, ``pr``, ...)
  all mean ``USGS``: ComCat ids are USGS ids, whoever contributed the solution.
* :func:`provider_from_public_id` recognises well-known QuakeML ``publicID`` authorities
  (``smi:ISC`` -> ``ISC``, ``quakeml:earthquake.usgs.gov`` -> ``USGS``, ``smi:ch.ethz.sed`` -> ``SED``,
  ``webservices.ingv.it`` -> ``INGV``, ``eu.emsc``/NERIES -> ``EMSC``, ``iris.edu`` -> ``IRIS``,
  ``org.gfz-potsdam.de/geofon`` -> ``GFZ``).
* :func:`event_id_from_public_id` gives the id a provider also prints as ``EventID`` in its FDSN text
  output: the ``eventid=``/``evid=`` value of a URI when present, else its last path segment.
* :func:`normalize_event_type` maps event types to the lower-case QuakeML 1.2 vocabulary
  (``quarry_blast``/``quarry`` -> ``quarry blast``, QuakeML 1.0 ``null`` -> ``not reported``,
  Kaggle ``Nuclear Explosion`` -> ``nuclear explosion``); unknown types are kept, lower-cased.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote

UNKNOWN_PROVIDER = "UNKNOWN"

# ComCat contributor (network) codes, as ComCat writes them (lower case).
COMCAT_NETWORKS = frozenset(
    "ak at av ci ew hv ismp ld mb nc nm nn ok pr pt se tx us uu uw "
    "admin atlas cgs choy duputel gcmt iscgem iscgemsup official".split()
)

# Agency / catalog codes (upper-cased) that name a provider.
AGENCY_PROVIDERS = {
    "US": "USGS",
    "USGS": "USGS",
    "NEIC": "USGS",
    "NEIC PDE": "USGS",
    "NEIC PDE-W": "USGS",
    "PDE": "USGS",
    "COMCAT": "USGS",
    "ANSS": "USGS",
    "EMSC": "EMSC",
    "EMSC-RTS": "EMSC",
    "CSEM": "EMSC",
    "EMSC-CSEM": "EMSC",
    "ISC": "ISC",
    "GFZ": "GFZ",
    "GEOFON": "GFZ",
    "INGV": "INGV",
    "SED": "SED",
    "IRIS": "IRIS",
}

# Tokens of a publicID authority (``smi:<authority>/...``) that name a provider.
AUTHORITY_TOKENS = {
    "usgs": "USGS",
    "isc": "ISC",
    "sed": "SED",
    "ingv": "INGV",
    "emsc": "EMSC",
    "emsc-csem": "EMSC",
    "neries": "EMSC",
    "seismicportal": "EMSC",
    "iris": "IRIS",
    "gfz-potsdam": "GFZ",
    "geofon": "GFZ",
}

EVENT_TYPES = frozenset(
    [
        "not existing", "not reported", "earthquake", "anthropogenic event", "collapse",
        "cavity collapse", "mine collapse", "building collapse", "explosion", "accidental explosion",
        "chemical explosion", "controlled explosion", "experimental explosion", "industrial explosion",
        "mining explosion", "quarry blast", "road cut", "blasting levee", "nuclear explosion",
        "induced or triggered event", "rock burst", "reservoir loading", "fluid injection",
        "fluid extraction", "crash", "plane crash", "train crash", "boat crash", "other event",
        "atmospheric event", "sonic boom", "sonic blast", "acoustic noise", "thunder", "avalanche",
        "snow avalanche", "debris avalanche", "hydroacoustic event", "ice quake", "slide", "landslide",
        "rockslide", "meteorite", "volcanic eruption",
    ]
)  # fmt: skip
EVENT_TYPE_ALIASES = {
    "null": "not reported",
    "quarry": "quarry blast",
    "rock slide": "rockslide",
    "other": "other event",
    "induced earthquake": "induced or triggered event",
    "mine blast": "mining explosion",
    "icequake": "ice quake",
}

_ID_PARAM = re.compile(r"(?:^|[?&;/])(?:eventid|evid|event_id)=([^&;#]+)", re.IGNORECASE)
_SCHEME = re.compile(r"^(?:smi|quakeml):", re.IGNORECASE)


@lru_cache(maxsize=4096)
def provider_from_agency(code: str | None) -> str | None:
    """Provider name for an agency/catalog code, or None when empty. Unknown codes are upper-cased."""
    if code is None:
        return None
    code = code.strip()
    if not code:
        return None
    if code in COMCAT_NETWORKS:
        return "USGS"
    upper = code.upper()
    return AGENCY_PROVIDERS.get(upper, upper)


def authority(public_id: str) -> str:
    """``ch.ethz.sed`` for ``smi:ch.ethz.sed/sc20a/Event/2024avbpsd`` ('' if there is none)."""
    head = public_id[:8].lower()
    if head.startswith("smi:"):
        rest = public_id[4:]
    elif head == "quakeml:":
        rest = public_id[8:]
    else:
        return ""
    return rest.split("/", 1)[0].split("?", 1)[0]


def provider_from_public_id(public_id: str | None) -> str | None:
    """Provider of a well-known publicID authority, else None."""
    if not public_id:
        return None
    return provider_from_authority(authority(public_id.strip()))


@lru_cache(maxsize=4096)
def provider_from_authority(auth: str) -> str | None:
    """Provider named by a publicID authority (``earthquake.usgs.gov`` -> ``USGS``), else None."""
    for token in auth.lower().split("."):
        hit = AUTHORITY_TOKENS.get(token)
        if hit:
            return hit
    return None


def event_id_from_public_id(public_id: str) -> str:
    """A provider's own event id from a publicID or URI (itself when it is a plain id)."""
    pid = public_id.strip()
    m = _ID_PARAM.search(pid)
    if m:
        return unquote(m.group(1).strip())
    if "/" not in pid and not _SCHEME.match(pid):
        return pid
    tail = pid.rstrip("/").rsplit("/", 1)[-1]
    if _SCHEME.match(tail):  # "smi:abc" without a path
        tail = tail.split(":", 1)[1]
    return unquote(tail) or pid


def looks_like_uri(event_id: str) -> bool:
    return "/" in event_id or bool(_SCHEME.match(event_id)) or "=" in event_id


@lru_cache(maxsize=1024)
def normalize_event_type(value: str | None) -> str | None:
    """Lower-case QuakeML event type (see module docstring); None for empty input."""
    if value is None:
        return None
    t = " ".join(value.replace("_", " ").split()).lower()
    if not t:
        return None
    return EVENT_TYPE_ALIASES.get(t, t)


@lru_cache(maxsize=256)
def normalize_status(value: str | None) -> str | None:
    """Lower-case review status (QuakeML evaluationStatus/Mode, ComCat ``status``); None when empty."""
    if value is None:
        return None
    s = value.strip().lower()
    return s or None
