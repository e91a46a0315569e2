"""The brief as a list of blocks, built once from the context and the message catalogue of one language,
then written as HTML, Markdown or PDF by the renderers.

Page 1 stands alone, like USGS PAGER's onePAGER (:mod:`expedition.outputs.briefs.first_page`): the alerts with
the fatality-probability histogram, the intensity map, exposure by intensity, the most affected places,
the aftershock forecast and field-safety note, team status and what changed since the previous version,
with the sources as compact numbered notes. Later pages keep the detail (:mod:`expedition.outputs.briefs.detail`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from expedition.outputs.briefs import detail, first_page
from expedition.outputs.briefs.blocks import Block, Document, Lang, Notes
from expedition.outputs.briefs.context import BriefContext
from expedition.outputs.briefs.i18n import texts

__all__ = ["Block", "Document", "Lang", "Notes", "build_document"]


def build_document(ctx: BriefContext, lang: str, version: int, generated_utc: dt.datetime,
                   cache_dir: Path | None = None) -> Document:
    """The blocks of the brief of ``ctx`` in ``lang`` (first page, then the detail pages)."""
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
