"""What the sales' events say (`core.events`): a sale, a refund, a closed shift, a conflict."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from core.money import MoneyColumn, format_money
from sales.models import (
    SHIFT_REPORT_FIELDS,
    Refund,
    RefundLine,
    Sale,
    SaleConflict,
    SaleLine,
    SalePayment,
    Shift,
)
from stores.tenancy import current_store


def _iso(moment: object) -> str | None:
    return None if moment is None else moment.isoformat()


def _quantity(value: object) -> str:
    """As the API writes a quantity: three places ("2.000")."""
    return format(Decimal(value).quantize(Decimal("0.001")), "f")


def _money(value: object, currency: str) -> str | None:
    # Decimal() first: a service's caller may have given a whole number as an int.
    return None if value is None else format_money(Decimal(value), currency)


# What a sale's events take from the sale where the statement that inserts it writes them too
# (`core.events.events_after`): each key of the data, and the column of the sale's row it is.
SALE_COMPLETED_FILL = {"id": "id", "number": "number"}
SYNC_CONFLICT_FILL = {"sale": "id", "number": "number"}


def sale_completed_data(
    sale: Sale, *, lines: Sequence[SaleLine], payments: Sequence[SalePayment]
) -> dict[str, Any]:
    """`sale.completed`: the sale as made, its lines and payments."""
    currency = current_store().currency
    return {
        "id": sale.pk,
        "number": sale.number,
        "source": sale.source,
        "client_id": None if sale.client_id is None else str(sale.client_id),
        "offline_number": sale.offline_number,
        "register": sale.register_id,
        "shift": sale.shift_id,
        "cashier": sale.cashier_id,
        "customer": sale.customer_id,
        "currency": currency,
        "total": _money(sale.total, currency),
        "tax_total": _money(sale.tax_total, currency),
        "cash_rounding": _money(sale.cash_rounding, currency),
        "lines": [
            {
                "product": line.product_id,
                "quantity": _quantity(line.quantity),
                "unit_price": _money(line.unit_price, currency),
                "total": _money(line.total, currency),
            }
            for line in lines
        ],
        "payments": [
            {"method": payment.method, "amount": _money(payment.amount, currency)}
            for payment in payments
        ],
        "created_at": _iso(sale.created_at),
    }


def sale_refunded_data(refund: Refund, *, lines: Sequence[RefundLine]) -> dict[str, Any]:
    """`sale.refunded`: what was given back of which sale."""
    currency = current_store().currency
    return {
        "id": refund.pk,
        "sale": refund.sale_id,
        "currency": currency,
        "total": _money(refund.total, currency),
        "cash_rounding": _money(refund.cash_rounding, currency),
        "method": refund.method,
        "restock": refund.restock,
        "lines": [
            {
                "line": line.line_id,
                "quantity": _quantity(line.quantity),
                "total": _money(line.total, currency),
            }
            for line in lines
        ],
        "created_at": _iso(refund.created_at),
    }


def shift_closed_data(shift: Shift) -> dict[str, Any]:
    """`shift.closed`: the Z report, its amounts with the currency's places."""
    currency = current_store().currency
    figures = {}
    for name in ("opening_cash", *SHIFT_REPORT_FIELDS):
        value = getattr(shift, name)
        money = isinstance(Shift._meta.get_field(name), MoneyColumn)
        figures[name] = _money(value, currency) if money else value
    return {
        "id": shift.pk,
        "register": shift.register_id,
        "currency": currency,
        "opened_at": _iso(shift.opened_at),
        "closed_at": _iso(shift.closed_at),
        **figures,
    }


def sync_conflict_data(conflict: SaleConflict, *, sale: Sale) -> dict[str, Any]:
    """`sync.conflict`: an offline sale took stock that was no longer there."""
    return {
        "sale": sale.pk,
        "number": sale.number,
        "client_id": None if sale.client_id is None else str(sale.client_id),
        "product": conflict.product_id,
        "requested": _quantity(conflict.requested),
        "available": _quantity(conflict.available),
    }
