"""Shifts: opened on a register with the cash in the drawer, closed with the cash counted."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils.timezone import now

from core.money import ZERO, format_money
from sales.exceptions import ShiftAlreadyOpen, ShiftNotOpen
from sales.lock_objects import shift_for_closing
from sales.models import PaymentMethod, Refund, Register, Sale, SalePayment, Shift
from stores.models import User
from stores.tenancy import current_store


@transaction.atomic
def shift_open(*, register_id: int, opening_cash: Decimal, user: User) -> Shift:
    """Open a shift on an active register; one open shift per register."""
    if not Register.objects.filter(pk=register_id, is_active=True).exists():
        raise ValidationError({"register": ["No active register has this id."]})
    if Shift.objects.filter(register_id=register_id, status=Shift.Status.OPEN).exists():
        raise ShiftAlreadyOpen
    try:
        with transaction.atomic():
            return Shift.objects.create(
                register_id=register_id, opening_cash=opening_cash, opened_by=user
            )
    except IntegrityError as error:  # opened concurrently: the partial unique index decided
        raise ShiftAlreadyOpen from error


def shift_figures(shift: Shift) -> dict:
    """The Z report's figures of a shift, from its sales, payments and refunds."""
    currency = current_store().currency
    sales = Sale.objects.filter(shift=shift).aggregate(
        count=Count("id"),
        change=Sum("change_due", default=ZERO),
        late_count=Count("id", filter=Q(late=True)),
        late_total=Sum("total", filter=Q(late=True), default=ZERO),
    )
    taken = dict(
        SalePayment.objects.filter(sale__shift=shift)
        .values_list("method")
        .annotate(amount=Sum("amount"))
        .values_list("method", "amount")
    )
    cash_refunds = Refund.objects.filter(shift=shift, method=PaymentMethod.CASH).aggregate(
        total=Sum("total", default=ZERO)
    )["total"]
    cash_sales = taken.get(PaymentMethod.CASH, ZERO) - sales["change"]
    by_method = {method: taken.get(method, ZERO) for method in PaymentMethod.values}
    by_method[PaymentMethod.CASH] = cash_sales
    return {
        "sales_count": sales["count"],
        "cash_sales": cash_sales,
        "cash_refunds": cash_refunds,
        "expected_cash": shift.opening_cash + cash_sales - cash_refunds,
        # offline sales made before this shift opened, counted in its drawer, shown apart
        "late_sales_count": sales["late_count"],
        "late_sales_total": sales["late_total"],
        "totals_by_method": [
            {"method": method, "amount": format_money(amount, currency)}
            for method, amount in by_method.items()
        ],
    }


@transaction.atomic
def shift_close(*, shift: Shift, counted_cash: Decimal, user: User) -> Shift:
    """Close a shift with the cash counted in the drawer; its Z report is fixed from then on."""
    shift = shift_for_closing(shift=shift)
    if shift.status != Shift.Status.OPEN:
        raise ShiftNotOpen("This shift is closed already.")
    figures = shift_figures(shift)
    for field, value in figures.items():
        setattr(shift, field, value)
    shift.status = Shift.Status.CLOSED
    shift.closed_by = user
    shift.closed_at = now()
    shift.counted_cash = counted_cash
    shift.difference = counted_cash - figures["expected_cash"]
    shift.save()
    return shift
