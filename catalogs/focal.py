"""QuakeML focal mechanisms: the nodal planes of every ``<focalMechanism>``, per event.

:func:`parse_focal_mechanisms` streams a QuakeML document (same secure ``iterparse`` as
:mod:`catalogs.quakeml`: no DTD, no entities, no network) and returns one
:class:`FocalMechanism` per ``<focalMechanism>`` that has nodal planes: both planes (strike, dip,
rake), which plane the agency prefers (``preferredPlane``), the scalar moment and the derived
moment magnitude id when a moment tensor is given, the method and the author. The event's
``preferredFocalMechanismID`` marks the preferred one. Elements are matched by local name, so
every QuakeML flavour reads the same.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalogs.errors import ParseError
from catalogs.products import NodalPlane
from catalogs.providers_map import event_id_from_public_id
from catalogs.quakeml import _guard_prolog, _secure_iterparse

__all__ = ["FocalMechanism", "parse_focal_mechanisms"]


@dataclass(frozen=True)
class FocalMechanism:
    """The nodal planes of one focal mechanism of one event."""

    event_public_id: str
    provider_event_id: str
    public_id: str
    nodal_plane_1: NodalPlane
    nodal_plane_2: NodalPlane | None
    preferred_plane: int | None  # 1 or 2 when the agency says which plane ruptured
    preferred: bool  # the event's preferredFocalMechanismID
    scalar_moment_nm: float | None
    method_id: str | None
    author: str | None


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(el: Any, name: str) -> Any:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _number(el: Any, *path: str) -> float | None:
    for name in path:
        if el is None:
            return None
        el = _child(el, name)
    if el is None:
        return None
    value = _child(el, "value")
    text = (value.text if value is not None else el.text) or ""
    try:
        out = float(text.strip())
    except ValueError:
        return None
    return out if math.isfinite(out) else None


def _text(el: Any, *path: str) -> str | None:
    for name in path:
        if el is None:
            return None
        el = _child(el, name)
    return el.text.strip() if el is not None and el.text and el.text.strip() else None


def _plane(planes: Any, name: str) -> NodalPlane | None:
    p = _child(planes, name)
    if p is None:
        return None
    strike, dip = _number(p, "strike"), _number(p, "dip")
    if strike is None or dip is None:
        return None
    return NodalPlane(strike, dip, _number(p, "rake"))


def parse_focal_mechanisms(source: bytes | Path | str, label: str | None = None) -> list[FocalMechanism]:
    """Every focal mechanism with nodal planes in a QuakeML document, in document order."""
    if isinstance(source, bytes):
        raw: Any = io.BytesIO(source)
        name = label or "<bytes>"
    else:
        raw = open(source, "rb")
        name = label or str(source)
    out: list[FocalMechanism] = []
    try:
        stream = _guard_prolog(raw, name)
        for _, ev in _secure_iterparse(stream):
            public_id = ev.get("publicID", "")
            pref = _text(ev, "preferredFocalMechanismID")
            for fm in ev:
                if _local(fm.tag) != "focalMechanism":
                    continue
                planes = _child(fm, "nodalPlanes")
                if planes is None:
                    continue
                np1 = _plane(planes, "nodalPlane1")
                if np1 is None:
                    continue
                pp = planes.get("preferredPlane")
                out.append(FocalMechanism(
                    event_public_id=public_id,
                    provider_event_id=event_id_from_public_id(public_id) or public_id.rsplit("/", 1)[-1],
                    public_id=fm.get("publicID", ""),
                    nodal_plane_1=np1,
                    nodal_plane_2=_plane(planes, "nodalPlane2"),
                    preferred_plane=int(pp) if pp in ("1", "2") else None,
                    preferred=pref is not None and pref == fm.get("publicID"),
                    scalar_moment_nm=_number(fm, "momentTensor", "scalarMoment"),
                    method_id=_text(fm, "methodID"),
                    author=_text(fm, "creationInfo", "author") or _text(fm, "creationInfo", "agencyID"),
                ))
            ev.clear()
    except ParseError:
        raise
    except Exception as exc:  # lxml's XMLSyntaxError and friends
        raise ParseError(f"not well-formed QuakeML: {exc}", name) from exc
    finally:
        raw.close()
    return out
