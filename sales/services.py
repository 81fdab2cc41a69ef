"""Every write to a store's sales data; each function runs in the active store's schema."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Sum
from django.utils.timezone import now
from rest_framework import serializers

from analytics.services import analytics_refresh_schedule, local_day
from catalog.lock_objects import products_for_update
from catalog.models import StockMovement
from catalog.services import StockChange, stock_apply, stock_check
from config.money import ZERO, quantize_money
from customers.models import Customer
from sales.exceptions import (
    PriceOverrideNotAllowed,
    RefundExceedsSale,
    ShiftAlreadyOpen,
    ShiftNotOpen,
)
from sales.lock_objects import open_shift_shared, sale_for_update, shift_for_closing
from sales.models import (
    Counter,
    PaymentMethod,
    Refund,
    RefundLine,
    Register,
    Sale,
    SaleLine,
    SalePayment,
    Shift,
)
from stores.models import Membership, User
from stores.tenancy import current_store

MAIN_REGISTER_NAME = "Main register"
SALE_COUNTER = "sale"
HUNDRED = Decimal("100")
# The largest amount the money columns hold (12 digits, 2 of them decimals).
MONEY_MAX = Decimal("9999999999.99")


@dataclass(frozen=True)
class LineInput:
    product_id: int
    quantity: Decimal
    discount: Decimal = ZERO
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class PaymentInput:
    method: str
    amount: Decimal


@dataclass(frozen=True)
class RefundLineInput:
    line_id: int
    quantity: Decimal


# --- Registers ------------------------------------------------------------------------------


def register_create(*, name: str, is_active: bool = True) -> Register:
    return Register.objects.create(name=name, is_active=is_active)


@transaction.atomic
def register_update(
    *, register: Register, name: str | None = None, is_active: bool | None = None
) -> Register:
    changed = []
    if name is not None:
        register.name = name
        changed.append("name")
    if is_active is not None:
        register.is_active = is_active
        changed.append("is_active")
    if changed:
        register.save(update_fields=changed)
    return register


@transaction.atomic
def register_delete(*, register: Register) -> bool:
    """Delete a register that never had a shift; deactivate one with history. True if deleted."""
    if register.shifts.exists():
        if register.is_active:
            register.is_active = False
            register.save(update_fields=["is_active"])
        return False
    register.delete()
    return True


# --- Shifts ---------------------------------------------------------------------------------


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
    sales = Sale.objects.filter(shift=shift).aggregate(
        count=Count("id"), change=Sum("change_due", default=ZERO)
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
        "totals_by_method": [
            {"method": method, "amount": str(amount)} for method, amount in by_method.items()
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


# --- Checkout -------------------------------------------------------------------------------


def _number_sale(sale: Sale) -> None:
    """Give the sale the store's next gap-free number, as the transaction's last write.

    The counter row stays locked from here until the commit, so checkouts queue only for this
    last step rather than for the whole checkout; a rollback gives the number back.
    """
    counter, sales = Counter._meta.db_table, Sale._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH next AS (INSERT INTO {counter} (name, value) VALUES (%s, 1) "  # noqa: S608
            f"ON CONFLICT (name) DO UPDATE SET value = {counter}.value + 1 RETURNING value) "
            f"UPDATE {sales} SET number = next.value FROM next WHERE {sales}.id = %s "
            "RETURNING number",
            [SALE_COUNTER, sale.pk],
        )
        sale.number = cursor.fetchone()[0]


def _line_errors(errors: dict[int, dict]) -> serializers.ValidationError:
    """Errors of some lines, keyed by their index, as the request serializer reports them."""
    return serializers.ValidationError(
        {"lines": {index: errors[index] for index in sorted(errors)}}
    )


def _priced_lines(
    *, lines: Sequence[LineInput], products: dict, role: str, prices_include_tax: bool
) -> list[SaleLine]:
    errors: dict[int, dict] = {}
    priced = []
    for index, line in enumerate(lines):
        product = products.get(line.product_id)
        if product is None or not product.is_active:
            errors[index] = {"product": ["No active product has this id."]}
            continue
        unit_price = product.price if line.unit_price is None else line.unit_price
        if unit_price != product.price and role == Membership.Role.CASHIER:
            raise PriceOverrideNotAllowed
        gross = quantize_money(line.quantity * unit_price)
        if line.discount > gross:
            errors[index] = {"discount": [f"A discount cannot exceed the line amount ({gross})."]}
            continue
        total = gross - line.discount
        rate = product.tax_rate
        divisor = HUNDRED + rate if prices_include_tax else HUNDRED
        priced.append(
            SaleLine(
                product=product,
                name=product.name,
                sku=product.sku or "",
                quantity=line.quantity,
                unit_price=unit_price,
                discount=line.discount,
                tax_rate=rate,
                tax_amount=quantize_money(total * rate / divisor),
                total=total,
            )
        )
    if errors:
        raise _line_errors(errors)
    return priced


def _check_payments(payments: Sequence[PaymentInput], total: Decimal) -> Decimal:
    """The change due; only cash may exceed the total."""
    paid = sum((payment.amount for payment in payments), ZERO)
    not_cash = sum(
        (payment.amount for payment in payments if payment.method != PaymentMethod.CASH), ZERO
    )
    if not_cash > total:
        raise ValidationError(
            {"payments": [f"Card and other payments cannot exceed the total ({total})."]}
        )
    if paid < total:
        raise ValidationError(
            {"payments": [f"The payments ({paid}) do not cover the total ({total})."]}
        )
    return paid - total


def sale_checkout(
    *,
    user: User,
    role: str,
    register_id: int,
    lines: Sequence[LineInput],
    payments: Sequence[PaymentInput],
    customer_id: int | None = None,
    note: str = "",
) -> Sale:
    """Ring up a sale in one transaction: all of it, or nothing (no number, no stock) at all.

    The statements issued do not grow with the number of lines: the shift, the products and the
    counter are each locked by one statement, and lines, payments and stock movements are
    inserted in bulk. No savepoint of its own (two statements fewer on the hot path): inside
    another transaction, a refused sale dooms that transaction too, so a caller that goes on
    after a refusal wraps the call in its own `transaction.atomic()`.
    """
    if not lines:
        raise ValidationError({"lines": ["A sale needs at least one line."]})
    store = current_store()
    with transaction.atomic(savepoint=False):
        shift_id = open_shift_shared(register_id=register_id)
        if shift_id is None:
            if not Register.objects.filter(pk=register_id).exists():
                raise ValidationError({"register": ["No register has this id."]})
            raise ShiftNotOpen
        products = {
            product.pk: product
            for product in products_for_update(product_ids={line.product_id for line in lines})
        }
        priced = _priced_lines(
            lines=lines, products=products, role=role, prices_include_tax=store.prices_include_tax
        )
        net: dict[int, Decimal] = defaultdict(Decimal)
        for line in priced:
            net[line.product.pk] -= line.quantity
        stock_check(products=products, net=net)

        subtotal = sum((quantize_money(line.quantity * line.unit_price) for line in priced), ZERO)
        discount_total = sum((line.discount for line in priced), ZERO)
        tax_total = sum((line.tax_amount for line in priced), ZERO)
        total = sum((line.total for line in priced), ZERO)
        if not store.prices_include_tax:
            total += tax_total
        change_due = _check_payments(payments, total)
        if max(subtotal, total + change_due) > MONEY_MAX:
            raise ValidationError({"lines": [f"A sale's amounts stay below {MONEY_MAX}."]})
        created_at = now()

        if customer_id is not None:
            updated = Customer.objects.filter(pk=customer_id).update(
                total_spent=F("total_spent") + total,
                visits=F("visits") + 1,
                last_purchase_at=created_at,
            )
            if not updated:
                raise ValidationError({"customer": ["No customer has this id."]})

        sale = Sale.objects.create(
            register_id=register_id,
            shift_id=shift_id,
            cashier=user,
            customer_id=customer_id,
            subtotal=subtotal,
            discount_total=discount_total,
            tax_total=tax_total,
            total=total,
            paid_total=total + change_due,
            change_due=change_due,
            prices_include_tax=store.prices_include_tax,
            note=note,
            created_at=created_at,
        )
        for line in priced:
            line.sale = sale
        sale_lines = SaleLine.objects.bulk_create(priced)
        sale_payments = SalePayment.objects.bulk_create(
            SalePayment(sale=sale, method=payment.method, amount=payment.amount)
            for payment in payments
        )
        stock_apply(
            changes=[
                StockChange(product_id=line.product.pk, delta=-line.quantity) for line in priced
            ],
            reason=StockMovement.Reason.SALE,
            user=user,
            sale=sale,
            locked_products=products,
        )
        _number_sale(sale)
        transaction.on_commit(
            partial(
                analytics_refresh_schedule,
                schema_name=connection.schema_name,
                days=[local_day(created_at)],
            )
        )
    # The caller serializes the sale as written, without reading it back.
    sale._prefetched_objects_cache = {"lines": sale_lines, "payments": sale_payments}
    return sale


# --- Refunds --------------------------------------------------------------------------------


def _refund_lines(
    *, sale: Sale, requested: Sequence[RefundLineInput]
) -> list[tuple[SaleLine, RefundLine]]:
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
        raise _line_errors(errors)

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
                quantize_money(paid * item.quantity / line.quantity), paid - line.refunded_amount
            )
            tax = min(
                quantize_money(line.tax_amount * item.quantity / line.quantity),
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
        pairs = _refund_lines(sale=sale, requested=lines)
        total = sum((refund_line.total for _, refund_line in pairs), ZERO)

        refund = Refund.objects.create(
            sale=sale,
            shift_id=shift_id,
            method=method,
            restock=restock,
            reason=reason,
            total=total,
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
                refund=refund,
            )
        if sale.customer_id is not None:  # after the products: the lock order of sales
            Customer.objects.filter(pk=sale.customer_id).update(
                total_spent=F("total_spent") - total
            )
        transaction.on_commit(
            partial(
                analytics_refresh_schedule,
                schema_name=connection.schema_name,
                days=[local_day(refund.created_at)],
            )
        )
    refund._prefetched_objects_cache = {"lines": refund_lines}
    return refund
