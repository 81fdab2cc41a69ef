"""Receipts sent by email: the text receipt as the body, HTML beside it, the PDF attached."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from sales import receipts, selectors
from stores.tenancy import current_store


def receipt_document(*, sale_id: int, refund_id: int | None = None) -> receipts.Receipt:
    """The receipt of a sale of the active store, or of one of its refunds."""
    store = current_store()
    if refund_id is None:
        return receipts.sale_receipt(sale=selectors.sale_receipt_get(sale_id=sale_id), store=store)
    refund = selectors.refund_receipt_get(sale_id=sale_id, refund_id=refund_id)
    return receipts.refund_receipt(refund=refund, store=store)


def receipt_email_send(*, sale_id: int, to: str, refund_id: int | None = None) -> None:
    """Mail a receipt through Django's mail backend (SMTP, or the console in development)."""
    store = current_store()
    receipt = receipt_document(sale_id=sale_id, refund_id=refund_id)
    pdf = receipts.render(receipt, format="pdf")
    message = EmailMultiAlternatives(
        subject=f"{receipt.title} · {receipt.store_name}",
        body=receipts.render_text(receipt),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
    )
    message.attach_alternative(receipts.render_html(receipt, language=store.locale), "text/html")
    message.attach(pdf.filename, pdf.content, pdf.content_type)
    message.send()
