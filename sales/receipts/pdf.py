"""A receipt as a PDF (fpdf2): one page as wide as the paper (58 or 80 mm) and as long as the
receipt, for a printer driver, a screen or an email attachment.

The fonts are TrueType files named by `RECEIPT_FONTS` (a regular face, a bold one, then
fallbacks for scripts the first lacks, such as CJK); the defaults are Debian's DejaVu Sans and
Droid Sans Fallback (packages `fonts-dejavu-core` and `fonts-droid-fallback`). Without any of
them the receipt falls back to the PDF core font Helvetica, which writes Latin-1 only: other
characters come out as `?`, and `manage.py doctor` names the missing fonts.
"""

from functools import cache
from pathlib import Path

from django.conf import settings
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

from sales.receipts.content import Receipt

MARGIN = 3.0  # mm
LINE = 4.2  # mm, for the body's 8.5 pt
_BODY_PT = 8.5
_TITLE_PT = 11.0
_TOTAL_PT = 10.0
_FAMILY = "receipt"


def paper_width(columns: int) -> float:
    """The paper a text width belongs to: 32 columns are 58 mm paper, 42 and 48 are 80 mm."""
    return 58.0 if columns <= 32 else 80.0


@cache
def _fonts() -> tuple[str | None, str | None, tuple[str, ...]]:
    """The regular face, the bold face and the fallbacks that exist on this machine."""
    found = [str(path) for path in map(Path, settings.RECEIPT_FONTS) if path.is_file()]
    regular = next((path for path in found if "bold" not in path.lower()), None)
    bold = next((path for path in found if "bold" in path.lower()), None)
    fallbacks = tuple(path for path in found if path not in (regular, bold))
    return regular, bold, fallbacks


@cache
def _covered(path: str) -> frozenset[int]:
    """The code points a font has glyphs for."""
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


def missing_fonts() -> list[str]:
    """The configured font files this machine lacks (for `doctor`)."""
    return [path for path in settings.RECEIPT_FONTS if not Path(path).is_file()]


class _Page(FPDF):
    """One page as wide as the paper, lengthened to the receipt once it is measured."""

    def __init__(self, width: float, text: str) -> None:
        super().__init__(unit="mm", format=(width, 2000.0))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)
        self.set_creator("Kassa")
        regular, bold, fallbacks = _fonts()
        self.unicode = regular is not None
        if self.unicode:
            self.add_font(_FAMILY, fname=regular)
            self.add_font(_FAMILY, style="B", fname=bold or regular)
            # A fallback (CJK: megabytes to read) only when the text has what the face lacks.
            if not {ord(char) for char in text} <= _covered(regular):
                for index, path in enumerate(fallbacks):
                    self.add_font(f"fallback{index}", fname=path)
                if fallbacks:
                    self.set_fallback_fonts(
                        [f"fallback{index}" for index in range(len(fallbacks))], exact_match=False
                    )
            self.family = _FAMILY
        else:
            self.family = "helvetica"
        self.add_page()

    def lengthen(self, height: float) -> None:
        """Make the (still empty) page `height` mm long."""
        self.h = height
        self.h_pt = height * self.k
        self.pages[self.page].set_dimensions(self.w_pt, self.h_pt)

    def text_of(self, text: str) -> str:
        if self.unicode:
            return text
        return text.encode("latin-1", "replace").decode("latin-1")

    def style(self, *, bold: bool = False, size: float = _BODY_PT) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def block(
        self, x: float, y: float, width: float, height: float, text: str, *, align: str, dry: bool
    ) -> float:
        """A wrapped block of text at (x, y); how tall it is."""
        if dry:
            return self.multi_cell(
                width, height, text, align=align, dry_run=True, output=MethodReturnValue.HEIGHT
            )
        self.set_xy(x, y)
        self.multi_cell(width, height, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return self.get_y() - y


def _draw(receipt: Receipt, page: _Page, *, dry: bool) -> float:
    """Lay the rows out on `page` (or only measure them, `dry`); where they end, in mm."""
    full = page.epw
    y = MARGIN
    for row in receipt.rows:
        left, right = page.text_of(row.left), page.text_of(row.right)
        if row.kind == "rule":
            y += 1.0
            if not dry:
                page.set_draw_color(120)
                page.set_dash_pattern(dash=0.8, gap=0.6)
                page.line(MARGIN, y, MARGIN + full, y)
                page.set_dash_pattern()
            y += 1.2
        elif row.kind in ("title", "center", "item"):
            title = row.kind == "title"
            page.style(bold=title, size=_TITLE_PT if title else _BODY_PT)
            align = "L" if row.kind == "item" else "C"
            y += page.block(
                MARGIN, y, full, LINE * (1.25 if title else 1), left, align=align, dry=dry
            )
        else:
            page.style(bold=row.strong, size=_TOTAL_PT if row.strong else _BODY_PT)
            indent = 3.0 if row.indent else 0.0
            label_width = max(full - indent - page.get_string_width(right) - 1.0, 10.0)
            height = page.block(MARGIN + indent, y, label_width, LINE, left, align="L", dry=dry)
            if not dry:
                page.set_xy(MARGIN, y)
                page.cell(full, LINE, right, align="R")
            y += max(height, LINE)
    return y + MARGIN


def render_pdf(receipt: Receipt, columns: int = 42) -> bytes:
    """The receipt as a PDF document, on paper for `columns` (58 mm for 32, else 80 mm)."""
    text = "".join(row.left + row.right for row in receipt.rows)
    page = _Page(paper_width(columns), text)
    page.set_title(f"{receipt.title} · {receipt.store_name}")
    page.lengthen(max(_draw(receipt, page, dry=True), 40.0))
    _draw(receipt, page, dry=False)
    return bytes(page.output())
