"""The brief as PDF with fpdf2: DejaVu Sans for Latin text, WenQuanYi Micro Hei for Chinese (embedded as
subsets, see :mod:`expedition.outputs.briefs.fonts`). The creation date is the generation time, so the same
context and time give the same bytes."""

from __future__ import annotations

import datetime as dt
import io

from fpdf import FPDF
from fpdf.enums import TextEmphasis, XPos, YPos
from fpdf.fonts import FontFace
from fpdf.util import Padding

from expedition.outputs.briefs.blocks import Block, Document
from expedition.outputs.briefs.fonts import cjk_font, latin_fonts

__all__ = ["render_pdf"]


class _Pdf(FPDF):
    footer_text = ""
    #: families registered with one face only (the CJK face has no bold): a bold request uses that face, so
    #: the large CJK font is parsed and subset once per document, not twice
    single_face: frozenset[str] = frozenset()

    def set_font(self, family: str | None = None, style: str | TextEmphasis = "", size: float = 0) -> None:
        if (family or self.font_family or "").lower() in self.single_face:
            style = (style.style if isinstance(style, TextEmphasis) else style).upper().replace("B", "")
        super().set_font(family, style, size)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(size=7)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")


def _fonts(pdf: _Pdf, lang: str) -> str:
    regular, bold = latin_fonts()
    pdf.add_font("dejavu", "", str(regular))
    pdf.add_font("dejavu", "B", str(bold))
    if lang != "zh":
        return "dejavu"
    path, index = cjk_font()
    pdf.add_font("cjk", "", str(path), collection_font_number=index)
    pdf.single_face = frozenset({"cjk"})  # the face has no bold: bold text uses the same glyphs
    pdf.set_fallback_fonts(["dejavu"])
    return "cjk"


ALERT_FILL = {"red": (215, 25, 28), "orange": (255, 140, 0), "yellow": (255, 215, 0), "green": (0, 176, 79)}
STATUS_FILL = {"approved": (166, 217, 106), "draft": (254, 224, 139), "none": (254, 224, 139), "safety": (255, 243, 205)}


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its IHDR chunk."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _need_mm(b: Block, width: float) -> float:
    """Height (mm) the start of block ``b`` needs on the page, so a heading is never left alone at a page foot."""
    if b.kind == "img":
        w, h = _png_size(b.image)
        return width * 0.9 * h / w + 6
    if b.kind == "figs":
        return max(width * share * _png_size(png)[1] / _png_size(png)[0] for png, _, share in b.figures) + 6
    if b.kind == "table":
        return 4.0 * min(len(b.rows) + 1, 4) + 2
    return 12.0


def _image_block(pdf: FPDF, family: str, b: Block, width: float) -> None:
    figs: tuple[tuple[bytes, str, float], ...]
    if b.kind == "img":
        figs = ((b.image, b.caption, 0.9),)
        x = pdf.l_margin + width * 0.05
    else:
        figs = b.figures
        x = pdf.l_margin
    y0, bottom = pdf.get_y(), pdf.get_y()
    gap = 3.0
    usable = width - gap * (len(figs) - 1)
    for png, caption, share in figs:
        w = usable * share / (sum(f[2] for f in figs) if b.kind == "figs" else 1.0) if b.kind == "figs" else width * share
        pw, ph = _png_size(png)
        h = w * ph / pw
        pdf.image(io.BytesIO(png), x=x, y=y0, w=w, h=h)
        pdf.set_xy(x, y0 + h + 0.5)
        pdf.set_font(family, "", 6.5)
        pdf.set_text_color(90)
        pdf.multi_cell(w, 3.0, caption, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_text_color(0)
        bottom = max(bottom, pdf.get_y())
        x += w + gap
    pdf.set_xy(pdf.l_margin, bottom + 1.5)


def _table(pdf: _Pdf, family: str, b: Block, width: float) -> None:
    pdf.set_font(family, "", 7)
    bold = None if family in pdf.single_face else "BOLD"  # a one-face family: the fill marks the headings
    kv = not b.header
    ncol = len(b.header) if b.header else len(b.rows[0]) if b.rows else 1
    widths = None
    if kv and ncol == 4:
        widths = (16, 34, 16, 34)
    with pdf.table(width=width, line_height=3.6, first_row_as_headings=not kv, col_widths=widths,
                   headings_style=FontFace(emphasis=bold, fill_color=(240, 240, 240)),
                   text_align="LEFT") as table:
        if not kv:
            table.row(list(b.header))
        for r in b.rows:
            row = table.row()
            for i, c in enumerate(r):
                if kv and i % 2 == 0:
                    row.cell(str(c), style=FontFace(emphasis=bold, fill_color=(246, 246, 246)))
                else:
                    row.cell(str(c))
    if b.caption:
        pdf.set_font(family, "", 6.5)
        pdf.set_text_color(90)
        pdf.multi_cell(width, 3.2, b.caption, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0)
    pdf.ln(1.2)


def _box(pdf: FPDF, family: str, text: str, fill: tuple[int, int, int], width: float, bold: bool = True,
         white: bool = False, size: float = 8.5) -> None:
    pdf.set_font(family, "B" if bold else "", size)
    pdf.set_fill_color(*fill)
    if white:
        pdf.set_text_color(255)
    pdf.multi_cell(width, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, fill=True, padding=Padding(1.2, 2, 1.2, 2), align="L")  # noqa: E501
    pdf.set_text_color(0)
    pdf.set_fill_color(255, 255, 255)
    pdf.ln(1)


def render_pdf(doc: Document, generated_utc: dt.datetime) -> bytes:  # noqa: C901
    """The brief as A4 PDF bytes (headings kept with what follows them; page 1 is the summary page)."""
    pdf = _Pdf(format="A4")
    pdf.set_creation_date(generated_utc)
    pdf.set_title(doc.title)
    pdf.set_author("Quake Expedition")
    pdf.set_creator("Quake Expedition")
    pdf.set_producer("Quake Expedition (fpdf2)")
    pdf.footer_text = doc.footer or doc.title
    family = _fonts(pdf, doc.lang)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_margins(12, 11, 12)
    pdf.add_page()
    width = pdf.epw
    blocks = doc.blocks
    for i, b in enumerate(blocks):
        if b.kind in ("h1", "h2", "h3"):
            size = {"h1": 14, "h2": 12, "h3": 9.5}[b.kind]
            nxt = next((x for x in blocks[i + 1:] if x.kind not in ("h2", "h3")), None)
            need = size * 0.6 + 3 + (_need_mm(nxt, width) if nxt is not None else 0)
            if b.kind != "h1" and pdf.get_y() + need > pdf.page_break_trigger and pdf.get_y() > pdf.t_margin + 20:
                pdf.add_page()
            pdf.ln(1.5 if b.kind != "h3" else 0.8)
            pdf.set_font(family, "B", size)
            pdf.set_text_color(165, 0, 38) if b.kind != "h3" else pdf.set_text_color(0)
            pdf.multi_cell(width, size * 0.5, b.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(0)
            pdf.ln(0.6)
        elif b.kind in ("p", "note"):
            pdf.set_font(family, "", 7.5 if i == 1 else 8.5)
            pdf.multi_cell(width, 4.0, b.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
            pdf.ln(0.8)
        elif b.kind == "status":
            text = f"{b.caption}: {b.text}" if b.level == "safety" else b.text
            _box(pdf, family, text, STATUS_FILL.get(b.level, (254, 224, 139)), width, bold=b.level != "safety", size=8)
        elif b.kind == "alert":
            _box(pdf, family, b.text, ALERT_FILL.get(b.level, (220, 220, 220)), width,
                 white=b.level in ("red", "green"), size=9.5)
        elif b.kind == "table":
            _table(pdf, family, b, width)
        elif b.kind in ("img", "figs"):
            if pdf.get_y() + _need_mm(b, width) > pdf.page_break_trigger:
                pdf.add_page()
            _image_block(pdf, family, b, width)
        elif b.kind == "changes":
            _box(pdf, family, b.text + "\n" + "\n".join(f"· {r[0]}" for r in b.rows), (238, 244, 251), width,
                 bold=False, size=7.5)
        elif b.kind == "notes":
            pdf.set_font(family, "", 6)
            pdf.set_text_color(70)
            pdf.multi_cell(width, 2.8, "  ".join(f"{n} {s}" for n, s in b.rows), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
            pdf.set_text_color(0)
        elif b.kind == "pagebreak":
            pdf.add_page()
    return bytes(pdf.output())
