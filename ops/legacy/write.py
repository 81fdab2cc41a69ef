"""Writing a planned adoption into the store's schema, through the catalog and sales services."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import F, Value
from django.db.models.functions import Greatest

from catalog.changes import versions_take
from catalog.models import Product, StockMovement
from catalog.services import StockChange, stock_apply
from core.money import ZERO
from customers.models import Customer
from ops.legacy.plan import MARK_TABLE, Plan
from ops.legacy.report import StoreAdoption
from sales.models import Register, Sale, SaleLine, SalePayment, Shift
from sales.services import MAIN_REGISTER_NAME, sale_numbers_assign, shift_figures

ADOPTED_NOTE = "adopted from legacy data"


def _adoption_shift(*, plan: Plan) -> Shift:
    """A closed shift to hold the adopted sales, on the store's first active register."""
    register = Register.objects.filter(is_active=True).order_by("pk").first()
    if register is None:
        register = Register.objects.create(name=MAIN_REGISTER_NAME)
    # Created closed: the register may have a shift open for today's sales, and only one may be.
    return Shift.objects.create(
        register=register,
        status=Shift.Status.CLOSED,
        opened_by=plan.user,
        opened_at=plan.sales[0].sale.created_at,
        opening_cash=ZERO,
        closed_by=plan.user,
        closed_at=plan.sales[-1].sale.created_at,
    )


def _credit_customers(*, sales: Sequence[Sale]) -> None:
    """Add the sales to their customers' spending and visits, as a checkout would have."""
    spent: dict[int, tuple[Decimal, int, datetime]] = {}
    for sale in sales:
        if sale.customer_id is not None:
            total, visits, last = spent.get(sale.customer_id, (ZERO, 0, sale.created_at))
            spent[sale.customer_id] = (total + sale.total, visits + 1, max(last, sale.created_at))
    for customer_id, (total, visits, last) in sorted(spent.items()):  # pk order: no deadlocks
        Customer.objects.filter(pk=customer_id).update(
            total_spent=F("total_spent") + total,
            visits=F("visits") + visits,
            last_purchase_at=Greatest("last_purchase_at", Value(last)),  # GREATEST skips NULL
        )


def _write_sales(*, plan: Plan) -> list[tuple[str, int, int]]:
    """The planned sales with their lines and payments, on a shift of their own; their marks."""
    shift = _adoption_shift(plan=plan)
    sales = [planned.sale for planned in plan.sales]
    for planned in plan.sales:
        planned.sale.register_id, planned.sale.shift = shift.register_id, shift
        planned.sale.cashier = plan.user
        planned.sale.customer_id = plan.customer_ids.get(planned.customer)
    Sale.objects.bulk_create(sales)

    products = Product.objects.in_bulk(
        {plan.product_ids[legacy_id] for each in plan.sales for _, legacy_id, _ in each.lines}
    )
    lines = []
    for planned in plan.sales:
        for _, legacy_id, line in planned.lines:
            product = products[plan.product_ids[legacy_id]]
            line.sale, line.product = planned.sale, product
            # What the receipt said is unknown; the product's name and sku as adopted are closest.
            line.name, line.sku = product.name, product.sku or ""
            lines.append(line)
    SaleLine.objects.bulk_create(lines)
    SalePayment.objects.bulk_create(
        SalePayment(sale=planned.sale, method=planned.method, amount=planned.sale.total)
        for planned in plan.sales
        if planned.sale.total > 0  # a payment is of something (amount > 0)
    )

    figures = shift_figures(shift)  # the Z report, as closing the shift would fix it
    for name, value in figures.items():
        setattr(shift, name, value)
    shift.counted_cash, shift.difference = figures["expected_cash"], ZERO
    shift.save()
    _credit_customers(sales=sales)
    # Last: the store's live checkouts wait for the counter's row until this commits.
    sale_numbers_assign(sales=sales)
    return [
        mark
        for planned in plan.sales
        for mark in (
            ("sale", planned.legacy_id, planned.sale.pk),
            *(("sale_item", item_id, line.pk) for item_id, _, line in planned.lines),
        )
    ]


def plan_write(*, plan: Plan, result: StoreAdoption) -> None:
    marks: list[tuple[str, int, int]] = []
    if plan.products:
        for (_, product, _), version in zip(
            plan.products, versions_take(len(plan.products)), strict=True
        ):
            product.version = version
        Product.objects.bulk_create([product for _, product, _ in plan.products])
        changes = [
            StockChange(product_id=product.pk, delta=stock)
            for _, product, stock in plan.products
            if stock != 0
        ]
        stock_apply(
            changes=changes, reason=StockMovement.Reason.OTHER, user=None, note=ADOPTED_NOTE
        )
        for legacy_id, product, _ in plan.products:
            plan.product_ids[legacy_id] = product.pk
            marks.append(("product", legacy_id, product.pk))
        result.moved.update(product=len(plan.products), stock_movement=len(changes))
    if plan.customers:
        Customer.objects.bulk_create([customer for _, customer in plan.customers])
        for legacy_id, customer in plan.customers:
            plan.customer_ids[legacy_id] = customer.pk
            marks.append(("customer", legacy_id, customer.pk))
        result.moved["customer"] = len(plan.customers)
    if plan.sales:
        marks.extend(_write_sales(plan=plan))
        result.moved.update(
            sale=len(plan.sales),
            sale_item=sum(len(planned.lines) for planned in plan.sales),
            payment=sum(1 for planned in plan.sales if planned.sale.total > 0),
        )
    if marks:
        mark_table = f"{connection.ops.quote_name(connection.schema_name)}.{MARK_TABLE}"
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {mark_table} (kind, legacy_id, new_id) VALUES (%s, %s, %s)",  # noqa: S608
                marks,
            )
