"""The building blocks of a brief: :class:`Block`, :class:`Document`, numbered source :class:`Notes` and
:class:`Lang` (the catalogue of one language with the name look-ups)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expedition.outputs.briefs.i18n import Texts
from expedition.outputs.briefs.names import country_name, place_name

__all__ = ["Block", "Document", "Lang", "Notes"]


@dataclass(frozen=True)
class Block:
    """One element of the brief.

    ``kind``: h1 | h2 | h3 | p | note | status | alert | table | img | figs | notes | changes | pagebreak.
    A ``table`` with an empty ``header`` is a key-value grid; ``figs`` holds several images side by side
    (``figures``: png, caption, width share); ``notes`` holds numbered source notes in ``rows``.
    """

    kind: str
    text: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    image: bytes = b""
    caption: str = ""
    figures: tuple[tuple[bytes, str, float], ...] = ()
    level: str = ""  # colour key of alert and status blocks


@dataclass
class Document:
    lang: str
    title: str
    generated_utc: str
    blocks: list[Block] = field(default_factory=list)
    footer: str = ""

    def add(self, kind: str, text: str = "", **kw: Any) -> None:
        self.blocks.append(Block(kind, text, **kw))


class Notes:
    """Numbered source notes: :meth:`ref` returns ``[n]`` for a note, the same number for the same text."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def ref(self, text: str) -> str:
        if text not in self.items:
            self.items.append(text)
        return f"[{self.items.index(text) + 1}]"

    def rows(self) -> tuple[tuple[str, ...], ...]:
        return tuple((f"[{i}]", s) for i, s in enumerate(self.items, start=1))


@dataclass
class Lang:
    """The catalogue of one language with the name look-ups of the brief."""

    t: Texts
    cache_dir: Path | None = None

    @property
    def code(self) -> str:
        return self.t.lang

    def country(self, iso3: str | None) -> str:
        return country_name(iso3, self.code, self.cache_dir) if iso3 else self.t["na"]

    def place(self, name: str, iso3: str | None) -> str:
        return place_name(name, iso3, self.code)

    def countries(self, codes: list[str] | None) -> str:
        return self.t.join([self.country(c) for c in codes or []]) or self.t["na"]
