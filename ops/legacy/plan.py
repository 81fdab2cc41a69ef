"""Planning a store's adoption: every legacy row read and checked before anything is written."""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection

from catalog.models import Product
from core.money import ZERO, quantize_money
from customers.models import Customer
from ops.legacy.report import StoreAdoption
from ops.legacy.values import (
    Malformed,
    boolean_value,
    decimal_value,
    moment_value,
    money_value,
    reading_row,
    reference_value,
    text_value,
)
from sales.models import PaymentMethod, Sale, SaleLine
from stores.models import Membership, Store, User

MARK_TABLE = "legacy_adoption"
HUNDRED = Decimal("100")


class NotMoved(Exception):
    """A sale that cannot be placed in its store: left for a later run."""


@dataclass
class SalePlan:
    legacy_id: int
    sale: Sale
    customer: int | None
    method: str
    lines: list[tuple[int, int, SaleLine]]  # legacy item id, legacy product id, line


@dataclass
class Plan:
    user: User | None = None
    marks: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    # Legacy id -> id in the store, of adopted rows that still exist (one may have been deleted).
    product_ids: dict[int, int] = field(default_factory=dict)
    customer_ids: dict[int, int] = field(default_factory=dict)
    products: list[tuple[int, Product, Decimal]] = field(default_factory=list)
    customers: list[tuple[int, Customer]] = field(default_factory=list)
    sales: list[SalePlan] = field(default_factory=list)


def marks_load(plan: Plan) -> None:
    mark_table = f"{connection.ops.quote_name(connection.schema_name)}.{MARK_TABLE}"
    with connection.cursor() as cursor:
        # Two runs on one store at once would both read "not adopted yet": the second waits.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"kassa:{mark_table}"])
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {mark_table} (kind text NOT NULL, "
            "legacy_id bigint NOT NULL, new_id bigint NOT NULL, PRIMARY KEY (kind, legacy_id))"
        )
        cursor.execute(f"SELECT kind, legacy_id, new_id FROM {mark_table}")  # noqa: S608
        for kind, legacy_id, new_id in cursor.fetchall():
            plan.marks[kind][legacy_id] = new_id
    for model, marks, live in (
        (Product, plan.marks["product"], plan.product_ids),
        (Customer, plan.marks["customer"], plan.customer_ids),
    ):
        existing = set(model.objects.filter(pk__in=marks.values()).values_list("pk", flat=True))
        live.update({legacy: new for legacy, new in marks.items() if new in existing})


def _stock(row: Mapping[str, object], *, store: Store) -> Decimal:
    stock = decimal_value(row, "stock", places=3, minimum=None, default=ZERO)
    if stock < 0 and not store.allow_negative_stock:
        raise Malformed(f"stock {stock} is below 0, which the store does not allow")
    return stock


def products_plan(
    *, store: Store, rows: list[dict], plan: Plan, result: StoreAdoption, adopted_at: datetime
) -> None:
    zone = ZoneInfo(store.timezone)
    for row in rows:
        if row["id"] in plan.marks["product"]:
            result.already_adopted["product"] = result.already_adopted.get("product", 0) + 1
            continue
        try:
            with reading_row(f"products_product {row['id']}"):
                stock = _stock(row, store=store)
                product = Product(
                    name=text_value(row, "name", max_length=200, is_required=True),
                    sku=text_value(row, "sku", max_length=64) or None,
                    barcode=text_value(row, "barcode", max_length=64) or None,
                    price=money_value(row, "price", currency=store.currency),
                    cost=money_value(row, "cost", currency=store.currency, default=ZERO),
                    tax_rate=decimal_value(
                        row, "tax_rate", places=2, maximum=HUNDRED, default=ZERO
                    ),
                    is_active=boolean_value(row, "is_active", default=True),
                    created_at=moment_value(row, "created_at", zone=zone, default=adopted_at),
                )
        except Malformed as problem:
            result.malformed.append(str(problem))
            continue
        plan.products.append((row["id"], product, stock))
    for code in ("sku", "barcode"):
        # The unique constraints would refuse these too, but without naming the legacy row.
        wanted = [getattr(product, code) for _, product, _ in plan.products]
        owners = dict(
            Product.objects.filter(**{f"{code}__in": [value for value in wanted if value]})
            .values_list(code, "pk")
            .order_by("pk")
        )
        seen: dict[str, int] = {}
        for legacy_id, product, _ in plan.products:
            value = getattr(product, code)
            if value in owners:
                result.malformed.append(
                    f"products_product {legacy_id}: {code} {value!r} is product "
                    f"{owners[value]}'s in the store already"
                )
            elif value in seen:
                result.malformed.append(
                    f"products_product {legacy_id}: {code} {value!r} is also legacy product "
                    f"{seen[value]}'s"
                )
            elif value is not None:
                seen[value] = legacy_id


def customers_plan(
    *, store: Store, rows: list[dict], plan: Plan, result: StoreAdoption, adopted_at: datetime
) -> None:
    zone = ZoneInfo(store.timezone)
    for row in rows:
        if row["id"] in plan.marks["customer"]:
            result.already_adopted["customer"] = result.already_adopted.get("customer", 0) + 1
            continue
        try:
            with reading_row(f"customers_customer {row['id']}"):
                email = text_value(row, "email", max_length=254)
                if email:
                    try:
                        validate_email(email)
                    except ValidationError:
                        raise Malformed(f"email {email!r} is not an email address") from None
                customer = Customer(
                    name=text_value(row, "name", max_length=200, is_required=True),
                    phone=text_value(row, "phone", max_length=32),
                    email=email,
                    note=text_value(row, "note", max_length=2000),
                    created_at=moment_value(row, "created_at", zone=zone, default=adopted_at),
                )
        except Malformed as problem:
            result.malformed.append(str(problem))
            continue
        plan.customers.append((row["id"], customer))


def _sale_line(item: Mapping[str, object], *, currency: str) -> SaleLine:
    with reading_row(f"sales_saleitem {item['id']}"):
        quantity = decimal_value(item, "quantity", places=3)
        if quantity == 0:
            raise Malformed("quantity is 0")
        unit_price = money_value(item, "price", currency=currency)
        gross = quantize_money(quantity * unit_price, currency)
        total = money_value(item, "total", currency=currency, default=gross)
        if total > gross:
            raise Malformed(f"total {total} exceeds quantity × price ({gross})")
        rate = decimal_value(item, "tax_rate", places=2, maximum=HUNDRED, default=ZERO)
        included = quantize_money(total * rate / (HUNDRED + rate), currency)
        return SaleLine(
            quantity=quantity,
            unit_price=unit_price,
            discount=gross - total,
            tax_rate=rate,
            tax_amount=money_value(
                item, "tax_amount", currency=currency, maximum=total, default=included
            ),
            total=total,
        )


def _plan_sale(
    *,
    row: Mapping[str, object],
    items: list[dict],
    products: set[int],
    customers: set[int],
    zone: ZoneInfo,
    currency: str,
    at: datetime,
) -> SalePlan:
    """A sale and its lines, unsaved; `products` and `customers` are the legacy ids known."""
    label = f"sales_sale {row['id']}"
    with reading_row(label):
        total = money_value(row, "total", currency=currency)
        created_at = moment_value(row, "created_at", zone=zone, default=at)
        customer = reference_value(row, "customer_id")
        method = text_value(row, "payment_method", max_length=100).lower()
    lines = []
    for item in items:
        line = _sale_line(item, currency=currency)
        with reading_row(f"sales_saleitem {item['id']}"):
            lines.append((item["id"], reference_value(item, "product_id"), line))
    # Checked once every item is read: a malformed row fails the store, which matters more.
    for item_id, product_id, _ in lines:
        if product_id not in products:
            raise NotMoved(
                f"sales_saleitem {item_id}: product {product_id} is unknown, so its sale "
                f"{row['id']} is not moved"
            )
    if not lines:
        raise NotMoved(f"{label}: it has no items")
    if customer is not None and customer not in customers:
        raise NotMoved(f"{label}: customer {customer} is unknown")
    line_total = sum((line.total for _, _, line in lines), ZERO)
    if line_total != total:
        raise Malformed(f"{label}: total {total} is not the sum of its items' totals {line_total}")
    sale = Sale(
        subtotal=sum((line.discount + line.total for _, _, line in lines), ZERO),
        discount_total=sum((line.discount for _, _, line in lines), ZERO),
        tax_total=sum((line.tax_amount for _, _, line in lines), ZERO),
        total=total,
        paid_total=total,
        change_due=ZERO,
        prices_include_tax=True,
        created_at=created_at,
    )
    return SalePlan(
        legacy_id=int(row["id"]),
        sale=sale,
        customer=customer,
        method=method if method in PaymentMethod.values else PaymentMethod.OTHER,
        lines=lines,
    )


def sales_plan(
    *,
    store: Store,
    rows: list[dict],
    items: list[dict],
    plan: Plan,
    result: StoreAdoption,
    adopted_at: datetime,
) -> None:
    zone = ZoneInfo(store.timezone)
    products = set(plan.product_ids) | {legacy_id for legacy_id, _, _ in plan.products}
    customers = set(plan.customer_ids) | {legacy_id for legacy_id, _ in plan.customers}
    items_of: dict[int, list[dict]] = defaultdict(list)
    for item in items:
        items_of[item["sale_id"]].append(item)
    for row in rows:
        if row["id"] in plan.marks["sale"]:
            result.already_adopted["sale"] = result.already_adopted.get("sale", 0) + 1
            for item in items_of[row["id"]]:
                if item["id"] in plan.marks["sale_item"]:
                    count = result.already_adopted.get("sale_item", 0) + 1
                    result.already_adopted["sale_item"] = count
                else:
                    result.not_moved.append(
                        f"sales_saleitem {item['id']}: its sale {row['id']} was adopted already"
                    )
            continue
        try:
            sale = _plan_sale(
                row=row,
                items=items_of[row["id"]],
                products=products,
                customers=customers,
                zone=zone,
                currency=store.currency,
                at=adopted_at,
            )
        except Malformed as problem:
            result.malformed.append(str(problem))
        except NotMoved as reason:
            result.not_moved.append(str(reason))
        else:
            plan.sales.append(sale)
    plan.sales.sort(key=lambda sale: (sale.sale.created_at, sale.legacy_id))
    if plan.sales:
        # Sales are rung up by someone: the owner, or else the longest-standing member.
        membership = (
            Membership.objects.filter(store=store, is_active=True, user__is_active=True)
            .select_related("user")
            .order_by("-role", "pk")  # descending: "owner", "manager", then "cashier"
            .first()
        )
        if membership is None:
            result.malformed.append("the store has no active member to ring up its sales")
        else:
            plan.user = membership.user
