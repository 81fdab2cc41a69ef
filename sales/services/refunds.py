"""Refunds: money, and optionally goods, given back for some of a sale's lines."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum

from catalog.models import StockMovement
from catalog.services import StockChange, stock_apply
from core.derived import days_changed
from core.events import SALE_REFUNDED, event_emit
from core.money import ZERO, quantize_money, round_to_step
from customers.models import Customer
from sales.events import sale_refunded_data
from sales.exceptions import RefundExceedsSale, ShiftNotOpen
from sales.lock_objects import open_shift_shared, sale_for_update
from sales.models import PaymentMethod, Refund, RefundLine, Sale, SaleLine
from sales.services.checkout import line_errors
from stores.clock import local_day
from stores.models import User
from stores.tenancy import current_store


@dataclass(frozen=True)
class RefundLineInput:
    line_id: int
    quantity: Decimal


def _refund_lines(
    *, sale: Sale, requested: Sequence[RefundLineInput], currency: str
) -> list[tuple[SaleLine, RefundLine]]:
    """Each line's refund, prorated from what was paid for it, in the currency's unit."""
    sale_lines = {line.pk: line for line in sale.lines.all()}
    errors: dict[int, dict] = {}
    seen: set[int] = set()
    for index, item in enumerate(requested):
        if item.line_id not in sale_lines:
            errors[index] = {"line": ["Not a line of this sale."]}
        elif item.line_id in seen:
            errors[index] = {"line": ["This line is listed twice."]}
        seen.add(item.line_id)
    if errors:
        raise line_errors(errors)

    exceeding = [
        {
            "line": item.line_id,
            "requested": str(item.quantity),
            "refundable": str(
                sale_lines[item.line_id].quantity - sale_lines[item.line_id].refunded_quantity
            ),
        }
        for item in requested
        if item.quantity
        > sale_lines[item.line_id].quantity - sale_lines[item.line_id].refunded_quantity
    ]
    if exceeding:
        raise RefundExceedsSale(extra={"lines": exceeding})

    pairs = []
    for item in requested:
        line = sale_lines[item.line_id]
        paid = line.total if sale.prices_include_tax else line.total + line.tax_amount
        if item.quantity == line.quantity - line.refunded_quantity:
            # The last units take what is left, so a line's refunds add up to what was paid.
            amount = paid - line.refunded_amount
            tax = line.tax_amount - line.refunded_tax
        else:
            amount = min(
                quantize_money(paid * item.quantity / line.quantity, currency),
                paid - line.refunded_amount,
            )
            tax = min(
                quantize_money(line.tax_amount * item.quantity / line.quantity, currency),
                line.tax_amount - line.refunded_tax,
            )
        line.refunded_quantity += item.quantity
        line.refunded_amount += amount
        line.refunded_tax += tax
        pairs.append(
            (line, RefundLine(line=line, quantity=item.quantity, total=amount, tax_amount=tax))
        )
    return pairs


def sale_refund(
    *,
    sale: Sale,
    user: User,
    lines: Sequence[RefundLineInput],
    method: str,
    restock: bool = False,
    reason: str = "",
) -> Refund:
    """Give back money for some of a sale's lines (and the goods to stock, with `restock`).

    The money is paid from the open shift of the sale's register, which a cash refund needs.
    """
    if not lines:
        raise ValidationError({"lines": ["A refund needs at least one line."]})
    with transaction.atomic():
        sale = sale_for_update(sale_id=sale.pk).get()
        shift_id = open_shift_shared(register_id=sale.register_id)
        if shift_id is None and method == PaymentMethod.CASH:
            raise ShiftNotOpen("A cash refund is paid from an open shift of the sale's register.")
        store = current_store()
        pairs = _refund_lines(sale=sale, requested=lines, currency=store.currency)
        total = sum((refund_line.total for _, refund_line in pairs), ZERO)
        rounding = ZERO
        if method == PaymentMethod.CASH and store.cash_rounding:
            # Coins the drawer lacks are not paid out either: the cash given is rounded too,
            # as a running total over the sale's cash refunds, so that refunding a line a unit
            # at a time never pays out more than refunding it at once (the sale is locked).
            before = Refund.objects.filter(sale=sale, method=PaymentMethod.CASH).aggregate(
                total=Sum("total", default=ZERO)
            )["total"]

            def rounded(amount: Decimal) -> Decimal:
                return round_to_step(amount, store.cash_rounding, store.currency)

            rounding = rounded(before + total) - rounded(before) - total

        refund = Refund.objects.create(
            sale=sale,
            shift_id=shift_id,
            method=method,
            restock=restock,
            reason=reason,
            total=total,
            cash_rounding=rounding,
            created_by=user,
        )
        for _, refund_line in pairs:
            refund_line.refund = refund
        refund_lines = RefundLine.objects.bulk_create(refund_line for _, refund_line in pairs)
        SaleLine.objects.bulk_update(
            [line for line, _ in pairs], ["refunded_quantity", "refunded_amount", "refunded_tax"]
        )
        Sale.objects.filter(pk=sale.pk).update(refunded_total=F("refunded_total") + total)
        sale.refunded_total += total
        if restock:
            stock_apply(
                changes=[
                    StockChange(product_id=line.product_id, delta=refund_line.quantity)
                    for line, refund_line in pairs
                ],
                reason=StockMovement.Reason.REFUND,
                user=user,
                refund_id=refund.pk,
            )
        if sale.customer_id is not None:  # after the products: the lock order of sales
            Customer.objects.filter(pk=sale.customer_id).update(
                total_spent=F("total_spent") - total
            )
        event_emit(SALE_REFUNDED, sale_refunded_data(refund, lines=refund_lines))
        days_changed(days=[local_day(refund.created_at)])
    refund._prefetched_objects_cache = {"lines": refund_lines}
    return refund
