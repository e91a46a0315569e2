"""The brief as one self-contained HTML page: images embedded as ``data:`` URIs, no external resource,
print CSS for A4 (Jinja2 template ``templates/brief.html.j2``, autoescaped)."""

from __future__ import annotations

import base64
from functools import cache

import jinja2

from expedition.outputs.briefs.blocks import Document

__all__ = ["render_html"]


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("expedition.outputs.briefs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
    return env


def render_html(doc: Document, font_url: str | None = None) -> bytes:
    """The brief as HTML bytes; ``font_url`` is where a served page finds the CJK web font (else system fonts)."""
    return _env().get_template("brief.html.j2").render(doc=doc, font_url=font_url).encode("utf-8")
