"""The brief as a list of blocks, built once from the context and the message catalogue of one language,
then written as HTML, Markdown or PDF by the renderers.

Page 1 stands alone, like USGS PAGER's onePAGER (:mod:`expedition.outputs.briefs.first_page`): the alerts with
the fatality-probability histogram, the intensity map, exposure by intensity, the most affected places,
the aftershock forecast and field-safety note, team status and what changed since the previous version,
with the sources as compact numbered notes. Later pages keep the detail (:mod:`expedition.outputs.briefs.detail`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from expedition.outputs.briefs.context import BriefContext
from expedition.outputs.briefs.i18n import Texts, texts
from expedition.outputs.briefs.names import country_name, place_name

__all__ = ["Block", "Document", "Lang", "Notes", "build_document"]


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


def build_document(ctx: BriefContext, lang: str, version: int, generated_utc: dt.datetime,
                   cache_dir: Path | None = None) -> Document:
    """The blocks of the brief of ``ctx`` in ``lang`` (first page, then the detail pages)."""
    from expedition.outputs.briefs import detail, first_page

    t = texts(lang)
    lg = Lang(t, cache_dir)
    exp = ctx.data["expedition"]
    doc = Document(lang, t.fmt("doc_title", expedition=exp["expedition_id"]), generated_utc.isoformat(timespec="seconds"))
    doc.footer = t.fmt("footer", expedition=exp["expedition_id"], version=version)
    first_page.build(doc, ctx, lg, version)
    doc.add("pagebreak")
    detail.build(doc, ctx, lg)
    doc.add("p", t.fmt("generated_line", when=t.date(generated_utc)))
    return doc
