"""Receipts of sales and refunds: one content (`content`), laid out as text for thermal
printers, as HTML and as PDF."""

from dataclasses import dataclass

from django.template.loader import render_to_string

from sales.receipts.content import Receipt, Row, refund_receipt, sale_receipt
from sales.receipts.pdf import render_pdf
from sales.receipts.text import DEFAULT_WIDTH, WIDTHS, render_text

FORMATS = ("text", "html", "pdf")


@dataclass(frozen=True)
class Rendered:
    content: bytes
    content_type: str
    filename: str


def render_html(receipt: Receipt, *, language: str = "en") -> str:
    """The receipt as an HTML page (Django's template escapes every name in it)."""
    return render_to_string(
        "sales/receipt.html", {"receipt": receipt, "language": language.replace("_", "-")}
    )


def render(
    receipt: Receipt, *, format: str, columns: int = DEFAULT_WIDTH, language: str = "en"
) -> Rendered:
    """The receipt in one of `FORMATS`, with its media type and a file name."""
    stem = receipt.title.lower().replace(" ", "-")
    if format == "text":
        return Rendered(
            render_text(receipt, columns).encode(), "text/plain; charset=utf-8", f"{stem}.txt"
        )
    if format == "html":
        return Rendered(
            render_html(receipt, language=language).encode(),
            "text/html; charset=utf-8",
            f"{stem}.html",
        )
    if format == "pdf":
        return Rendered(render_pdf(receipt, columns), "application/pdf", f"{stem}.pdf")
    raise ValueError(f"A receipt is one of {', '.join(FORMATS)}.")


__all__ = [
    "DEFAULT_WIDTH",
    "FORMATS",
    "WIDTHS",
    "Receipt",
    "Rendered",
    "Row",
    "refund_receipt",
    "render",
    "render_html",
    "render_pdf",
    "render_text",
    "sale_receipt",
]
