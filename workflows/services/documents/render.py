"""Lay a document out as an A4 PDF in the manner of GB/T 9704 (党政机关公文格式): 22 pt title,
16 pt body, 28 mm / 26 mm side margins. The CJK font is embedded (only the glyphs used), so the
PDF reads the same on a machine without Chinese fonts."""
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, TextMode, WrapMode, XPos, YPos

from .templates import DocumentKind

FONT = Path(__file__).with_name("fonts") / "NotoSerifCJKsc-Regular-GB2312.otf"
FAMILY = "NotoSerifSC"
TITLE_PT, BODY_PT = 22, 16
LINE_MM = 8.5  # about 24 pt between lines


class _Document(FPDF):
    def footer(self):
        self.set_y(-20)
        self.set_font(FAMILY, size=12)
        self.cell(0, 8, f"— {self.page_no()} —", align=Align.C)


def render(kind: DocumentKind, fields: dict[str, str], issued_at: datetime) -> bytes:
    """The PDF of ``kind`` with its placeholders filled from ``fields``."""
    pdf = _Document(orientation="P", unit="mm", format="A4")
    pdf.set_margins(left=28, top=37, right=26)
    pdf.set_auto_page_break(True, margin=35)
    pdf.set_creation_date(issued_at)
    pdf.set_title(f"{kind.title} {fields.get('number', '')}")
    pdf.set_creator("gasflow")
    pdf.add_font(FAMILY, fname=str(FONT))
    # Recomputing the bounding boxes of the subset runs every glyph's charstrings (about two thirds
    # of a document's rendering time); the full font's boxes enclose the subset's, which is all a
    # reader needs of them.
    pdf.fonts[FAMILY.lower()].ttfont.recalcBBoxes = False
    pdf.add_page()
    for style, text in kind.blocks:
        _block(pdf, style, _clean(text.format_map(fields)))
    return bytes(pdf.output())


def _clean(text: str) -> str:
    # Form text arrives with \r\n; tabs and other controls have no glyph.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch == "\n" or ch >= " ").strip()


def _block(pdf: FPDF, style: str, text: str) -> None:
    if style == "space":
        pdf.ln(LINE_MM)
        return
    if not text:
        return
    width = pdf.epw
    if style == "title":
        # Bold by stroking the outlines: the bundled font has one weight.
        with pdf.local_context(text_mode=TextMode.FILL_STROKE, line_width=0.35):
            pdf.set_font(FAMILY, size=TITLE_PT)
            pdf.multi_cell(width, 11, text, align=Align.C, wrapmode=WrapMode.CHAR,
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    elif style == "number":
        pdf.set_font(FAMILY, size=BODY_PT)
        pdf.ln(3)
        pdf.multi_cell(width, LINE_MM, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        y = pdf.get_y() + 2
        pdf.set_draw_color(200, 0, 0)  # the red line under the number (版头分隔线)
        pdf.set_line_width(0.6)
        pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
        pdf.set_draw_color(0, 0, 0)
        pdf.ln(6)
    elif style == "heading":
        with pdf.local_context(text_mode=TextMode.FILL_STROKE, line_width=0.2):
            pdf.set_font(FAMILY, size=BODY_PT)
            pdf.multi_cell(width, LINE_MM, "　　" + text, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    elif style == "addressee":
        pdf.set_font(FAMILY, size=BODY_PT)
        pdf.multi_cell(width, LINE_MM, text, align=Align.L, wrapmode=WrapMode.CHAR,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    elif style == "signature":
        pdf.set_font(FAMILY, size=BODY_PT)
        pdf.multi_cell(width - 16, LINE_MM, text, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:  # para: each paragraph of the text indented two characters
        pdf.set_font(FAMILY, size=BODY_PT)
        for paragraph in text.split("\n"):
            if paragraph.strip():
                # Chinese breaks between any two characters, not at the indent's spaces.
                pdf.multi_cell(width, LINE_MM, "　　" + paragraph.strip(), align=Align.J, wrapmode=WrapMode.CHAR,
                               new_x=XPos.LMARGIN, new_y=YPos.NEXT)
