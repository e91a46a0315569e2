"""The brief as PDF with fpdf2: DejaVu Sans for Latin text, WenQuanYi Micro Hei for Chinese (embedded as
subsets, see :mod:`expedition.outputs.briefs.fonts`). The creation date is the generation time, so the same
context and time give the same bytes."""

from __future__ import annotations

import datetime as dt
import io

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from expedition.outputs.briefs.document import Document
from expedition.outputs.briefs.fonts import cjk_font, latin_fonts
from expedition.outputs.briefs.i18n import texts

__all__ = ["render_pdf"]


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(size=7)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.footer_text} · {self.page_no()}", align="C")


def _fonts(pdf: FPDF, lang: str) -> str:
    regular, bold = latin_fonts()
    pdf.add_font("dejavu", "", str(regular))
    pdf.add_font("dejavu", "B", str(bold))
    if lang != "zh":
        return "dejavu"
    path, index = cjk_font()
    pdf.add_font("cjk", "", str(path), collection_font_number=index)
    pdf.add_font("cjk", "B", str(path), collection_font_number=index)  # the face has no bold: same glyphs
    pdf.set_fallback_fonts(["dejavu"])
    return "cjk"


def render_pdf(doc: Document, generated_utc: dt.datetime) -> bytes:
    pdf = _Pdf(format="A4")
    pdf.set_creation_date(generated_utc)
    pdf.set_title(doc.title)
    pdf.set_author("Quake Expedition")
    pdf.set_creator("Quake Expedition")
    pdf.set_producer("Quake Expedition (fpdf2)")
    pdf.footer_text = doc.title
    family = _fonts(pdf, doc.lang)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_margins(14, 14, 14)
    pdf.add_page()
    width = pdf.epw
    for b in doc.blocks:
        if b.kind in ("h1", "h2", "h3"):
            size = {"h1": 15, "h2": 12.5, "h3": 10.5}[b.kind]
            if b.kind == "h2" and pdf.get_y() > pdf.h - 45:
                pdf.add_page()
            pdf.ln(2)
            pdf.set_font(family, "B", size)
            pdf.set_text_color(165, 0, 38) if b.kind != "h3" else pdf.set_text_color(0)
            pdf.multi_cell(width, size * 0.5, b.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(0)
            pdf.ln(1)
        elif b.kind in ("p", "note", "status"):
            pdf.set_font(family, "B" if b.kind == "status" else "", 8.5)
            if b.kind == "status":
                pdf.set_fill_color(*((166, 217, 106) if b.caption == "approved" else (254, 224, 139)))
            pdf.multi_cell(width, 4.2, b.text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, fill=b.kind == "status")
            pdf.set_fill_color(255, 255, 255)
            pdf.ln(1)
        elif b.kind == "table":
            pdf.set_font(family, "", 7)
            with pdf.table(width=width, line_height=3.6, first_row_as_headings=True,
                           headings_style=FontFace(emphasis="BOLD", fill_color=(240, 240, 240)),
                           text_align="LEFT") as table:
                table.row(list(b.header))
                for r in b.rows:
                    table.row([str(c) for c in r])
            if b.caption:
                pdf.set_font(family, "", 6.5)
                pdf.set_text_color(90)
                pdf.multi_cell(width, 3.2, b.caption, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
                pdf.set_text_color(0)
            pdf.ln(1.5)
        elif b.kind == "img":
            img_w = width * 0.9
            pdf.image(io.BytesIO(b.image), w=img_w, x=pdf.l_margin + (width - img_w) / 2)
            pdf.set_font(family, "", 6.5)
            pdf.set_text_color(90)
            pdf.multi_cell(width, 3.2, b.caption, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(0)
            pdf.ln(1.5)
    pdf.set_font(family, "", 6.5)
    pdf.multi_cell(width, 3.2, f"{texts(doc.lang)['generated']} {doc.generated_utc}")
    return bytes(pdf.output())
