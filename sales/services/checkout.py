"""Checkout: a sale priced, taxed, paid and taken from stock in one transaction."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils.timezone import now
from rest_framework import serializers
from rest_framework.exceptions import APIException

from catalog.exceptions import InsufficientStock
from catalog.lock_objects import products_for_update
from catalog.models import Product, StockMovement
from catalog.services import (
    StockChange,
    StockWrite,
    prices_at,
    prices_at_many,
    stock_apply,
    stock_check,
    stock_low_events,
    stock_planned,
)
from core.database.bulk import bound_cursor, family_insert, rows_insert, rows_update
from core.derived import days_changed
from core.events import SALE_COMPLETED, SYNC_CONFLICT, events_after, events_emit
from core.exceptions import ValueOutOfRange
from core.money import (
    MONEY_MAX,
    ZERO,
    column_max,
    format_money,
    quantize_money,
    round_to_step,
)
from customers.models import Customer
from sales.events import (
    SALE_COMPLETED_FILL,
    SYNC_CONFLICT_FILL,
    sale_completed_data,
    sync_conflict_data,
)
from sales.exceptions import DiscountNotAllowed, PriceOverrideNotAllowed, ShiftNotOpen
from sales.lock_objects import open_shift_shared_opening
from sales.models import PaymentMethod, Register, Sale, SaleConflict, SaleLine, SalePayment
from sales.services.numbering import (
    NEXT_NUMBER,
    NEXT_NUMBER_CTE,
    NEXT_NUMBER_FROM,
    NEXT_NUMBER_PARAMS,
    sale_numbers_assign,
)
from stores.clock import local_day
from stores.models import Membership, Store, User
from stores.tenancy import current_store

HUNDRED = Decimal("100")
TOTAL_SPENT_MAX = column_max(Customer._meta.get_field("total_spent"))


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
class OfflineSale:
    """A sale the till made without a connection: when, and the number its receipt shows."""

    occurred_at: datetime
    offline_number: str = ""


def line_errors(errors: dict[int, dict]) -> serializers.ValidationError:
    """Errors of some lines, keyed by their index, as the request serializer reports them."""
    return serializers.ValidationError(
        {"lines": {index: errors[index] for index in sorted(errors)}}
    )


def _priced_lines(
    *,
    lines: Sequence[LineInput],
    products: dict,
    role: str,
    store: Store,
    prices: dict[int, Decimal] | None = None,
) -> list[SaleLine]:
    """Each line priced and taxed, rounded half-up to the store currency's unit per line.

    `prices` are the products' prices the sale is held to (an offline sale's: when it was
    made); by default their prices now."""
    currency = store.currency
    errors: dict[int, dict] = {}
    priced = []
    for index, line in enumerate(lines):
        product = products.get(line.product_id)
        if product is None or not product.is_active:
            errors[index] = {"product": ["No active product has this id."]}
            continue
        price = product.price if prices is None else prices[product.pk]
        unit_price = price if line.unit_price is None else line.unit_price
        if unit_price != price and role == Membership.Role.CASHIER:
            raise PriceOverrideNotAllowed
        gross = quantize_money(line.quantity * unit_price, currency)
        if line.discount > gross:
            errors[index] = {
                "discount": [
                    f"A discount cannot exceed the line amount ({format_money(gross, currency)})."
                ]
            }
            continue
        if (
            role == Membership.Role.CASHIER
            and line.discount * HUNDRED > gross * store.cashier_max_discount_percent
        ):
            raise DiscountNotAllowed(
                f"A cashier may take at most {store.cashier_max_discount_percent} % off a line."
            )
        total = gross - line.discount
        rate = product.tax_rate
        divisor = HUNDRED + rate if store.prices_include_tax else HUNDRED
        priced.append(
            SaleLine(
                product=product,
                name=product.name,
                sku=product.sku or "",
                quantity=line.quantity,
                unit_price=unit_price,
                discount=line.discount,
                tax_rate=rate,
                tax_amount=quantize_money(total * rate / divisor, currency),
                total=total,
            )
        )
    if errors:
        raise line_errors(errors)
    return priced


def _cash_rounding(payments: Sequence[PaymentInput], total: Decimal, store: Store) -> Decimal:
    """The signed adjustment of the cash due to the store's cash step: only what is paid in
    cash is rounded (the rest of a split payment is paid exactly), half-up."""
    if store.cash_rounding <= 0 or not any(p.method == PaymentMethod.CASH for p in payments):
        return ZERO
    not_cash = sum((p.amount for p in payments if p.method != PaymentMethod.CASH), ZERO)
    cash_due = total - not_cash
    if cash_due <= 0:
        return ZERO
    return round_to_step(cash_due, store.cash_rounding, store.currency) - cash_due


def _check_payments(payments: Sequence[PaymentInput], total: Decimal, currency: str) -> Decimal:
    """The change due on `total` (the amount due, cash rounding included); only cash may
    exceed it."""
    paid = sum((payment.amount for payment in payments), ZERO)
    not_cash = sum(
        (payment.amount for payment in payments if payment.method != PaymentMethod.CASH), ZERO
    )
    if not_cash > total:
        raise ValidationError(
            {
                "payments": [
                    "Card and other payments cannot exceed the total "
                    f"({format_money(total, currency)})."
                ]
            }
        )
    if paid < total:
        raise ValidationError(
            {
                "payments": [
                    f"The payments ({format_money(paid, currency)}) do not cover the total "
                    f"({format_money(total, currency)})."
                ]
            }
        )
    return paid - total


def _shift_for(*, register_id: int, offline: OfflineSale | None) -> tuple[int, bool]:
    """The shift a sale lands in, share-locked, and whether it is late for it."""
    found = open_shift_shared_opening(register_id=register_id)
    if found is None:
        raise _shift_refusal(register_id)
    shift_id, opened_at = found
    return shift_id, _late(opened_at, offline)


def _late(opened_at: datetime, offline: OfflineSale | None) -> bool:
    """Made offline before the shift opened: in a shift closed since, or while none was open."""
    return offline is not None and opened_at > offline.occurred_at


def _shift_refusal(register_id: int) -> Exception:
    """Why no sale can be made on the register: it does not exist, or no shift is open."""
    if not Register.objects.filter(pk=register_id).exists():
        return ValidationError({"register": ["No register has this id."]})
    return ShiftNotOpen()


def _offline_conflicts(
    *, products: dict, net: dict[int, Decimal], allow_negative: bool
) -> list[SaleConflict]:
    """What an offline sale takes that is not there; InsufficientStock if it may not."""
    conflicts = [
        SaleConflict(product_id=pk, requested=-delta, available=max(products[pk].stock, ZERO))
        for pk, delta in sorted(net.items())
        if products[pk].stock + delta < 0
    ]
    if conflicts and not allow_negative:
        raise InsufficientStock(
            extra={
                "products": [
                    {
                        "id": conflict.product_id,
                        "requested": str(conflict.requested),
                        "available": str(conflict.available),
                    }
                    for conflict in conflicts
                ]
            }
        )
    return conflicts


@dataclass
class _Made:
    """A sale priced and checked against the locked products, not yet written."""

    sale: Sale
    lines: list[SaleLine]
    payments: list[SalePayment]
    net: dict[int, Decimal]
    conflicts: list[SaleConflict]
    allow_negative: bool | None
    # Its `stock.low` events, where sales are made together (one sale's come from the ledger).
    low: list[tuple[str, dict]] = field(default_factory=list)


def _sale_made(
    *,
    store: Store,
    user: User,
    role: str,
    register_id: int,
    shift_id: int,
    late: bool,
    lines: Sequence[LineInput],
    payments: Sequence[PaymentInput],
    customer_id: int | None,
    note: str,
    client_id: UUID | None,
    offline: OfflineSale | None,
    products: dict[int, Product],
    prices: dict[int, Decimal] | None = None,
) -> _Made:
    """The sale as it will be written: priced, taxed, rounded, paid and checked against the
    stock of `products` (locked by the caller); the rules' refusals are raised, and nothing is
    written here (a price history may be read). An offline sale is priced as its products were
    when it was made: `prices`, or read here."""
    if not lines:
        raise ValidationError({"lines": ["A sale needs at least one line."]})
    if offline is not None and prices is None:
        prices = prices_at(
            products=[products[pk] for pk in {line.product_id for line in lines} if pk in products],
            moment=offline.occurred_at,
        )
    priced = _priced_lines(lines=lines, products=products, role=role, store=store, prices=prices)
    net: dict[int, Decimal] = defaultdict(Decimal)
    for line in priced:
        net[line.product.pk] -= line.quantity
    allow_negative = None  # online: as the store says
    conflicts = []
    if offline is not None:
        allow_negative = store.offline_oversell or store.allow_negative_stock
        conflicts = _offline_conflicts(products=products, net=net, allow_negative=allow_negative)
    stock_check(products=products, net=net, allow_negative=allow_negative)

    subtotal = sum(
        (quantize_money(line.quantity * line.unit_price, store.currency) for line in priced),
        ZERO,
    )
    discount_total = sum((line.discount for line in priced), ZERO)
    tax_total = sum((line.tax_amount for line in priced), ZERO)
    total = sum((line.total for line in priced), ZERO)
    if not store.prices_include_tax:
        total += tax_total
    rounding = _cash_rounding(payments, total, store)
    change_due = _check_payments(payments, total + rounding, store.currency)
    if max(subtotal, total + rounding + change_due) > MONEY_MAX:
        raise ValidationError({"lines": [f"A sale's amounts stay below {MONEY_MAX}."]})
    sale = Sale(
        register_id=register_id,
        shift_id=shift_id,
        cashier=user,
        customer_id=customer_id,
        subtotal=subtotal,
        discount_total=discount_total,
        tax_total=tax_total,
        total=total,
        paid_total=total + rounding + change_due,
        change_due=change_due,
        cash_rounding=rounding,
        prices_include_tax=store.prices_include_tax,
        note=note,
        created_at=now() if offline is None else offline.occurred_at,
        client_id=client_id,
        source=Sale.Source.ONLINE if offline is None else Sale.Source.OFFLINE,
        offline_number="" if offline is None else offline.offline_number,
        received_at=None if offline is None else now(),
        late=late,
    )
    return _Made(
        sale=sale,
        lines=priced,
        payments=[
            SalePayment(method=payment.method, amount=payment.amount) for payment in payments
        ],
        net=net,
        conflicts=conflicts,
        allow_negative=allow_negative,
    )


def _customer_refusal(customer_id: int, *, exists: bool) -> Exception:
    if exists:
        return ValueOutOfRange(
            f"This customer's total spent would pass {TOTAL_SPENT_MAX}, the most Kassa keeps."
        )
    return ValidationError({"customer": ["No customer has this id."]})


def _events(made: _Made) -> list[tuple[str, dict, dict]]:
    """A sale's events: the sale, its conflicts, the stock it took below a reorder level (as a
    sale made alone would write them), each as `(type, data, fill)`: what a statement that
    inserts the sale gives the event of the sale's row (`core.events.events_after`)."""
    sale = made.sale
    return [
        (
            SALE_COMPLETED,
            sale_completed_data(sale, lines=made.lines, payments=made.payments),
            SALE_COMPLETED_FILL,
        ),
        *(
            (SYNC_CONFLICT, sync_conflict_data(conflict, sale=sale), SYNC_CONFLICT_FILL)
            for conflict in made.conflicts
        ),
        *((kind, data, {}) for kind, data in made.low),
    ]


def _sale_write(made: _Made, stock: StockWrite) -> None:
    """Write a sale made, the transaction's last statement: the sale with its number, its
    lines, payments, stock movements and conflicts, the stock they take, and its events.

    The number's counter is taken in it and the event counter after it (taken from the sale's
    row), so each stays locked only from this statement to the commit. The events are made
    before the sale has its id and number; the statement gives them theirs.
    """
    sale = made.sale
    family = family_insert(
        sale,
        [
            (made.lines, "sale"),
            (made.payments, "sale"),
            (stock.movements, "sale"),
            (made.conflicts, "sale"),
        ],
        given={"number": NEXT_NUMBER},
        given_from=NEXT_NUMBER_FROM,
    )
    events = events_after(
        [*_events(made), *((kind, data, {}) for kind, data in stock.low)], after="sold"
    )
    ctes = [
        f"stock AS ({stock.counters[0]})",
        NEXT_NUMBER_CTE,
        *family.ctes,
        "sold AS (SELECT id, number FROM parent)",
        *events.ctes,
    ]
    params = [*stock.counters[1], *NEXT_NUMBER_PARAMS, *family.params, *events.params]
    selects = [*family.selects, "(SELECT number FROM parent)"]
    with bound_cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} SELECT {', '.join(selects)}", params)
        *keys, sale.number = cursor.fetchone()
    family.saved(keys)
    stock.written()
    events.written()


def _answer(made: _Made) -> Sale:
    # The caller serializes the sale as written, without reading it back.
    made.sale._prefetched_objects_cache = {"lines": made.lines, "payments": made.payments}
    made.sale.recorded_conflicts = made.conflicts
    return made.sale


def sale_checkout(
    *,
    user: User,
    role: str,
    register_id: int,
    lines: Sequence[LineInput],
    payments: Sequence[PaymentInput],
    customer_id: int | None = None,
    note: str = "",
    client_id: UUID | None = None,
    offline: OfflineSale | None = None,
) -> Sale:
    """Ring up a sale in one transaction: all of it, or nothing (no number, no stock) at all.

    `client_id` is the till's id of the sale (the caller has claimed it: `client_id_claim`).
    An `offline` sale is dated when the till made it and lands in the register's open shift,
    marked late when made before that shift opened; stock that is no longer there is still
    taken (the goods have left the shop) and recorded as the sale's conflicts, unless the store
    turned `offline_oversell` off: then InsufficientStock, as online. The conflicts are in
    `sale.recorded_conflicts`.

    The statements issued do not grow with the number of lines: the register's gate with its
    shift, and the products, are each locked by one statement, and everything is written by one
    more (`_sale_write`: the sale with its number, lines, payments, stock movements and events,
    and the stock they take); a customer's sale adds its customer's. No savepoint of its
    own (two statements fewer on the hot path): inside another transaction, a refused sale
    dooms that transaction too, so a caller that goes on after a refusal wraps the call in its
    own `transaction.atomic()`.
    """
    if not lines:
        raise ValidationError({"lines": ["A sale needs at least one line."]})
    store = current_store()
    with transaction.atomic(savepoint=False):
        shift_id, late = _shift_for(register_id=register_id, offline=offline)
        products = {
            product.pk: product
            for product in products_for_update(product_ids={line.product_id for line in lines})
        }
        made = _sale_made(
            store=store,
            user=user,
            role=role,
            register_id=register_id,
            shift_id=shift_id,
            late=late,
            lines=lines,
            payments=payments,
            customer_id=customer_id,
            note=note,
            client_id=client_id,
            offline=offline,
            products=products,
        )
        total, created_at = made.sale.total, made.sale.created_at
        if customer_id is not None:
            # Within the column's limit, in the same statement: a full customer is refused.
            updated = Customer.objects.filter(
                pk=customer_id, total_spent__lte=TOTAL_SPENT_MAX - total
            ).update(
                total_spent=F("total_spent") + total,
                visits=F("visits") + 1,
                # an offline sale synced late does not move the last purchase back in time
                last_purchase_at=Greatest(Coalesce(F("last_purchase_at"), created_at), created_at),
            )
            if not updated:
                raise _customer_refusal(
                    customer_id, exists=Customer.objects.filter(pk=customer_id).exists()
                )
        stock = stock_planned(
            changes=[
                StockChange(product_id=line.product.pk, delta=-line.quantity) for line in made.lines
            ],
            reason=StockMovement.Reason.SALE,
            user=user,
            locked_products=products,
            allow_negative=made.allow_negative,
        )
        _sale_write(made, stock)
        days_changed(days=[local_day(created_at)])
    return _answer(made)


@dataclass(frozen=True)
class OfflineCheckout:
    """A sale a till made offline, for `offline_sales_checkout`."""

    client_id: UUID
    offline: OfflineSale
    lines: Sequence[LineInput]
    payments: Sequence[PaymentInput]
    customer_id: int | None = None
    note: str = ""


def offline_sales_checkout(
    *, user: User, role: str, register_id: int, sales: Sequence[OfflineCheckout]
) -> list[Sale | Exception]:
    """Ring up a till's offline sales, in the order given, in the caller's transaction, with
    the rules of `sale_checkout`, a few statements in all whatever their number.

    Each sale is all or nothing: every rule is checked for it (against the stock the sales
    before it left, and its customer as they left them) before anything is written, so one
    refused writes nothing and the others are made. For each sale: the Sale made (numbered in
    the order given, with `recorded_conflicts`), or the exception that refused it. A failure
    of the database itself (a constraint) is raised: the caller's transaction then holds
    nothing of any of them.
    """
    if not sales:
        return []
    store = current_store()
    shift = open_shift_shared_opening(register_id=register_id)
    if shift is None:
        refusal = _shift_refusal(register_id)
        return [refusal for _ in sales]
    shift_id, opened_at = shift
    products = {
        product.pk: product
        for product in products_for_update(
            product_ids={line.product_id for sale in sales for line in sale.lines}
        )
    }
    customers = {
        customer.pk: customer
        for customer in Customer.objects.filter(
            pk__in={sale.customer_id for sale in sales if sale.customer_id is not None}
        )
        .order_by("pk")
        .select_for_update(no_key=True)  # as the online sale's UPDATE locks it
    }
    counted: set[int] = set()  # the customers the sales made are counted for
    stock_before = {pk: product.stock for pk, product in products.items()}
    prices = prices_at_many(
        products=products,
        wanted=[
            ({line.product_id for line in item.lines}, item.offline.occurred_at) for item in sales
        ],
    )
    outcomes: list[_Made | Exception] = []
    for item, prices_then in zip(sales, prices, strict=True):
        try:
            made = _sale_made(
                store=store,
                user=user,
                role=role,
                register_id=register_id,
                shift_id=shift_id,
                late=_late(opened_at, item.offline),
                lines=item.lines,
                payments=item.payments,
                customer_id=item.customer_id,
                note=item.note,
                client_id=item.client_id,
                offline=item.offline,
                products=products,
                prices=prices_then,
            )
            if item.customer_id is not None:
                _customer_take(customers, made.sale)
                counted.add(item.customer_id)
        except (ValidationError, APIException) as refusal:
            outcomes.append(refusal)
            continue
        for pk, delta in made.net.items():
            product = products[pk]
            before = product.stock
            product.stock += delta  # what the next sale finds
            made.low.extend(stock_low_events(product, before=before))
        outcomes.append(made)
    for pk, stock in stock_before.items():
        products[pk].stock = stock  # the ledger adds the sales' changes below
    made_sales = [outcome for outcome in outcomes if isinstance(outcome, _Made)]
    if made_sales:
        _offline_sales_write(
            made_sales,
            user=user,
            products=products,
            customers=[customers[pk] for pk in sorted(counted)],
            store=store,
        )
    return [_answer(outcome) if isinstance(outcome, _Made) else outcome for outcome in outcomes]


def _customer_take(customers: dict[int, Customer], sale: Sale) -> None:
    """Count the sale for its customer (locked), or refuse it as `sale_checkout` would."""
    customer = customers.get(sale.customer_id)
    if customer is None:
        raise _customer_refusal(sale.customer_id, exists=False)
    if customer.total_spent + sale.total > TOTAL_SPENT_MAX:
        raise _customer_refusal(sale.customer_id, exists=True)
    customer.total_spent += sale.total
    customer.visits += 1
    # an offline sale synced late does not move the last purchase back in time
    customer.last_purchase_at = max(customer.last_purchase_at or sale.created_at, sale.created_at)


def _offline_sales_write(
    made_sales: list[_Made],
    *,
    user: User,
    products: dict[int, Product],
    customers: list[Customer],
    store: Store,
) -> None:
    """Write the sales made (in order), and what they change: one statement each for the
    customers, the sales, their lines and payments, the stock, the conflicts, the numbers and
    the events."""
    rows_update(customers, fields=["total_spent", "visits", "last_purchase_at"])
    rows_insert([made.sale for made in made_sales])
    for made in made_sales:
        for child in (*made.lines, *made.payments, *made.conflicts):
            child.sale = made.sale
    rows_insert([line for made in made_sales for line in made.lines])
    rows_insert([payment for made in made_sales for payment in made.payments])
    stock_apply(
        changes=[
            StockChange(product_id=line.product.pk, delta=-line.quantity, sale_id=made.sale.pk)
            for made in made_sales
            for line in made.lines
        ],
        reason=StockMovement.Reason.SALE,
        user=user,
        locked_products=products,
        allow_negative=store.offline_oversell or store.allow_negative_stock,
        events=[],  # each sale's own `stock.low` are in its events (`_Made.low`)
    )
    rows_insert([conflict for made in made_sales for conflict in made.conflicts])
    sale_numbers_assign(sales=[made.sale for made in made_sales])
    # Last: the event counter stays locked from here to the commit.
    events_emit([(kind, data) for made in made_sales for kind, data, _ in _events(made)])
    days_changed(days={local_day(made.sale.created_at) for made in made_sales})
