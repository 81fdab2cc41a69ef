"""Shifts: opened on a register with the cash in the drawer, closed with the cash counted."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.utils.timezone import now

from core.events import SHIFT_CLOSED, event_emit
from core.money import ZERO, format_money
from sales.events import shift_closed_data
from sales.exceptions import CashDifferenceTooLarge, ShiftAlreadyOpen, ShiftNotOpen
from sales.lock_objects import open_shift_shared, shift_for_closing
from sales.models import (
    SHIFT_REPORT_FIELDS,
    CashMovement,
    PaymentMethod,
    Refund,
    Register,
    Sale,
    SalePayment,
    Shift,
)
from stores.models import Membership, User
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
        rounding=Sum("cash_rounding", default=ZERO),
    )
    taken = dict(
        SalePayment.objects.filter(sale__shift=shift)
        .values_list("method")
        .annotate(amount=Sum("amount"))
        .values_list("method", "amount")
    )
    # What left the drawer: each cash refund's total with its cash rounding.
    refunds = Refund.objects.filter(shift=shift, method=PaymentMethod.CASH).aggregate(
        paid=Sum(F("total") + F("cash_rounding"), default=ZERO),
        rounding=Sum("cash_rounding", default=ZERO),
    )
    cash_refunds = refunds["paid"]
    drawer = CashMovement.objects.filter(shift=shift).aggregate(
        pay_ins=Sum("amount", filter=Q(kind=CashMovement.Kind.PAY_IN), default=ZERO),
        pay_outs=Sum("amount", filter=Q(kind=CashMovement.Kind.PAY_OUT), default=ZERO),
    )
    cash_sales = taken.get(PaymentMethod.CASH, ZERO) - sales["change"]
    by_method = {method: taken.get(method, ZERO) for method in PaymentMethod.values}
    by_method[PaymentMethod.CASH] = cash_sales
    return {
        "sales_count": sales["count"],
        "cash_sales": cash_sales,
        "cash_refunds": cash_refunds,
        # the cash step's adjustments of the drawer, already in the cash taken and paid out:
        # the sales' (more cash in when rounded up), less the cash refunds' (more cash out)
        "cash_rounding": sales["rounding"] - refunds["rounding"],
        "pay_ins": drawer["pay_ins"],
        "pay_outs": drawer["pay_outs"],
        "expected_cash": shift.opening_cash
        + cash_sales
        - cash_refunds
        + drawer["pay_ins"]
        - drawer["pay_outs"],
        # offline sales made before this shift opened, counted in its drawer, shown apart
        "late_sales_count": sales["late_count"],
        "late_sales_total": sales["late_total"],
        "totals_by_method": [
            {"method": method, "amount": format_money(amount, currency)}
            for method, amount in by_method.items()
        ],
    }


@transaction.atomic
def shift_close(
    *, shift: Shift, counted_cash: Decimal, user: User, role: str | None = None
) -> Shift:
    """Close a shift with the cash counted in the drawer; its Z report is fixed from then on.

    A cashier (`role`) may not close a drawer whose count is further from the expected cash
    than the store's `max_cash_difference`: an owner or a manager closes it (or the cashier
    counts again). The refusal names no figure, so a blind count stays blind."""
    shift = shift_for_closing(shift=shift)
    if shift.status != Shift.Status.OPEN:
        raise ShiftNotOpen("This shift is closed already.")
    figures = shift_figures(shift)
    limit = current_store().max_cash_difference
    if (
        role == Membership.Role.CASHIER
        and limit is not None
        and abs(counted_cash - figures["expected_cash"]) > limit
    ):
        raise CashDifferenceTooLarge
    for field, value in figures.items():
        setattr(shift, field, value)
    shift.status = Shift.Status.CLOSED
    shift.closed_by = user
    shift.closed_at = now()
    shift.counted_cash = counted_cash
    shift.difference = counted_cash - figures["expected_cash"]
    shift.save()
    event_emit(SHIFT_CLOSED, shift_closed_data(shift))
    return shift


def shift_report(shift: Shift) -> dict:
    """The shift's figures now (an X report of an open shift, the Z report of a closed one),
    changing nothing: a few aggregates over the shift's rows, whatever their number."""
    if shift.status == Shift.Status.CLOSED:
        return {field: getattr(shift, field) for field in SHIFT_REPORT_FIELDS}
    return {**shift_figures(shift), "counted_cash": None, "difference": None}


@transaction.atomic
def cash_movement_create(
    *, shift: Shift, kind: str, amount: Decimal, reason: str, user: User
) -> CashMovement:
    """Cash into (`pay_in`) or out of (`pay_out`) an open shift's drawer, with its reason.

    Locked as a sale is (the register gate shared, the shift share-locked): a closing shift
    waits for it, and it finds a shift closed meanwhile closed."""
    if open_shift_shared(register_id=shift.register_id) != shift.pk:
        raise ShiftNotOpen("This shift is closed.")
    return CashMovement.objects.create(
        shift=shift, kind=kind, amount=amount, reason=reason, created_by=user
    )
