"""Every write to a store's sales data; each function runs in the active store's schema.

`registers` and `shifts` keep the tills and their sessions, `checkout` rings sales up, `sync`
applies the sales a till made offline, `refunds` gives money and goods back, `numbering`
hands out the store's gap-free sale numbers, and `receipts` mails receipts.
"""

from sales.services.checkout import LineInput, OfflineSale, PaymentInput, sale_checkout
from sales.services.numbering import SALE_COUNTER, sale_numbers_assign
from sales.services.receipts import receipt_document, receipt_email_send
from sales.services.refunds import RefundLineInput, sale_refund
from sales.services.registers import (
    MAIN_REGISTER_NAME,
    register_create,
    register_delete,
    register_update,
)
from sales.services.shifts import (
    cash_movement_create,
    shift_close,
    shift_figures,
    shift_open,
    shift_report,
)
from sales.services.sync import REJECTED, SyncResult, SyncSale, sales_sync

__all__ = [
    "MAIN_REGISTER_NAME",
    "REJECTED",
    "SALE_COUNTER",
    "LineInput",
    "OfflineSale",
    "PaymentInput",
    "RefundLineInput",
    "SyncResult",
    "SyncSale",
    "cash_movement_create",
    "receipt_document",
    "receipt_email_send",
    "register_create",
    "register_delete",
    "register_update",
    "sale_checkout",
    "sale_numbers_assign",
    "sale_refund",
    "sales_sync",
    "shift_close",
    "shift_figures",
    "shift_open",
    "shift_report",
]
