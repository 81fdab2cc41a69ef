"""Adopting the rows a pre-tenancy deployment left in `public` into each store's own schema.

Before Kassa, one deployment kept every store's products, customers and sales in `public`
tables, told apart by a `store_id` column (referring to `public.stores_store.id`). This module
reads those tables with plain SQL and writes their rows into the stores' schemas through the
models and services, so the stores' invariants hold (a product's movements sum to its stock,
sales are numbered by the store's counter, a closed shift holds them).

Legacy tables accepted (all in `public`; `information_schema.columns` says which exist). A
missing table is skipped; a missing optional column takes its default; a present table without
a required column stops the whole run (nothing is read or written):

    products_product    id, store_id, name, price                        required
                        sku, barcode (NULL), cost (0), tax_rate (0), stock (0),
                        is_active (true), created_at (time of adoption)  optional
    customers_customer  id, store_id, name                               required
                        phone (""), email (""), note (""), created_at    optional
    sales_sale          id, store_id, total                              required
                        customer_id (none), payment_method ("other"),
                        created_at                                       optional
    sales_saleitem      id, sale_id, product_id, quantity, price         required
                        total (quantity × price), tax_rate (0),
                        tax_amount (the tax included in total at tax_rate)  optional

`id`, `store_id`, `sale_id`, `product_id` and `customer_id` are integers; the other values may
be of any type that reads as their meaning (numbers as numeric, float or text; `is_active` as
boolean, 0/1 or "true"/"false"; moments as timestamps, dates or ISO text, naive ones read in
the store's time zone). Other columns are ignored, and so are other legacy tables (analytics
rows are derived: the adopted sales' days are rebuilt from the sales instead).

Per store, in one transaction in its schema:

* products become catalog products (new ids from the store's sequence); a non-zero legacy
  `stock` becomes one stock movement (reason "other", note "adopted from legacy data") through
  `catalog.services.stock_apply`;
* customers become customers;
* sales become completed sales, priced tax included (their legacy totals are what was paid),
  with one line per item and one payment of their total (`payment_method` when it is one of
  Kassa's methods, else "other"; none for a sale of 0), numbered after the store's last sale,
  on a closed shift made for the adoption on the store's first active register (a "Main
  register" is made when there is none), rung up by the store's owner. They take no stock:
  the legacy stock is net of them. Their customers' spending and visits are added up;
* each adopted row is recorded in the store's `legacy_adoption(kind, legacy_id, new_id)` table
  (made on first use), so a later run skips it and adopts only rows added since.

A row that cannot be read is reported, and nothing at all is moved for its store (its
transaction is rolled back; the other stores go on): a required value that is NULL or empty, a
number that is not one (or has more decimals than Kassa keeps, or is out of range), a quantity
not above 0, a negative stock in a store that does not allow it, a sku or barcode used twice or
already used in the store, an invalid email, a sale whose total is not the sum of its items'
totals. A sale that cannot be placed (no items, an item of an unknown product, an unknown
customer) is reported and left for a later run; the rest of its store is moved. Rows whose
store_id matches no store, and items of no store's sale, are reported once, under "no store".
The legacy rows are never deleted: ops drop the tables once satisfied.
"""

import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.timezone import make_aware, now
from django_tenants.utils import tenant_context

from analytics.services import analytics_rebuild, local_day
from catalog.models import Product, StockMovement
from catalog.services import StockChange, stock_apply
from config.exceptions import DomainError
from config.money import ZERO, quantize_money
from customers.models import Customer
from sales.models import Counter, PaymentMethod, Register, Sale, SaleLine, SalePayment, Shift
from sales.services import MAIN_REGISTER_NAME, SALE_COUNTER, shift_figures
from stores.models import Membership, Store, User

logger = logging.getLogger(__name__)

ADOPTED_NOTE = "adopted from legacy data"
MARK_TABLE = "legacy_adoption"
HUNDRED = Decimal("100")
TRUE_WORDS = frozenset({"t", "true", "y", "yes", "1"})
FALSE_WORDS = frozenset({"f", "false", "n", "no", "0"})


@dataclass(frozen=True)
class LegacyShape:
    required: tuple[str, ...]
    optional: tuple[str, ...]


SHAPES: Mapping[str, LegacyShape] = {
    "products_product": LegacyShape(
        ("id", "store_id", "name", "price"),
        ("sku", "barcode", "cost", "tax_rate", "stock", "is_active", "created_at"),
    ),
    "customers_customer": LegacyShape(
        ("id", "store_id", "name"), ("phone", "email", "note", "created_at")
    ),
    "sales_sale": LegacyShape(
        ("id", "store_id", "total"), ("customer_id", "payment_method", "created_at")
    ),
    "sales_saleitem": LegacyShape(
        ("id", "sale_id", "product_id", "quantity", "price"), ("total", "tax_rate", "tax_amount")
    ),
}
STORE_TABLES = ("products_product", "customers_customer", "sales_sale")


class LegacyShapeError(Exception):
    """A legacy table lacks a column this adoption needs."""


class _Malformed(Exception):
    """A row that cannot be read: its store moves nothing."""


class _NotMoved(Exception):
    """A sale that cannot be placed in its store: left for a later run."""


@dataclass
class StoreAdoption:
    """What one store's adoption moved (or would move, in a dry run), skipped and refused."""

    slug: str
    schema_name: str
    moved: dict[str, int] = field(default_factory=dict)
    already_adopted: dict[str, int] = field(default_factory=dict)
    not_moved: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    error: str | None = None
    analytics_error: str | None = None

    @property
    def failed(self) -> bool:
        return bool(self.malformed) or self.error is not None


@dataclass
class LegacyAdoption:
    dry_run: bool
    tables: dict[str, frozenset[str]]
    stores: list[StoreAdoption] = field(default_factory=list)
    no_store: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(store.failed for store in self.stores)


@dataclass
class _SalePlan:
    legacy_id: int
    sale: Sale
    customer: int | None
    method: str
    lines: list[tuple[int, int, SaleLine]]  # legacy item id, legacy product id, line


@dataclass
class _Plan:
    user: User | None = None
    marks: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    # Legacy id -> id in the store, of adopted rows that still exist (one may have been deleted).
    product_ids: dict[int, int] = field(default_factory=dict)
    customer_ids: dict[int, int] = field(default_factory=dict)
    products: list[tuple[int, Product, Decimal]] = field(default_factory=list)
    customers: list[tuple[int, Customer]] = field(default_factory=list)
    sales: list[_SalePlan] = field(default_factory=list)


# --- Reading the legacy tables --------------------------------------------------------------


def legacy_tables() -> dict[str, frozenset[str]]:
    """The legacy tables present in `public`, with their columns; checks the required ones."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ANY(%s)",
            [list(SHAPES)],
        )
        found: dict[str, set[str]] = defaultdict(set)
        for table, column in cursor.fetchall():
            found[table].add(column)
    for table, columns in found.items():
        missing = [column for column in SHAPES[table].required if column not in columns]
        if missing:
            raise LegacyShapeError(f"public.{table} has no column {', '.join(missing)}.")
    return {table: frozenset(found[table]) for table in SHAPES if table in found}


def _rows(
    *, tables: Mapping[str, frozenset[str]], table: str, where: str, params: list[object]
) -> list[dict[str, object]]:
    """The table's rows matching `where` (about `t`), by id; absent columns read as None."""
    if table not in tables:
        return []
    shape = SHAPES[table]
    columns = [name for name in (*shape.required, *shape.optional) if name in tables[table]]
    select = ", ".join(f"t.{connection.ops.quote_name(name)}" for name in columns)
    with connection.cursor() as cursor:
        # Table and column names come from SHAPES only, never from the data.
        cursor.execute(
            f"SELECT {select} FROM public.{table} AS t WHERE {where} ORDER BY t.id",  # noqa: S608
            params,
        )
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _stores_with_rows(tables: Mapping[str, frozenset[str]]) -> list[Store]:
    store_ids: set[int] = set()
    with connection.cursor() as cursor:
        for table in STORE_TABLES:
            if table in tables:
                cursor.execute(f"SELECT DISTINCT store_id FROM public.{table}")  # noqa: S608
                store_ids.update(row[0] for row in cursor.fetchall() if row[0] is not None)
    return list(Store.objects.filter(pk__in=store_ids).order_by("pk"))


def _no_store_rows(tables: Mapping[str, frozenset[str]]) -> list[str]:
    """Rows of no existing store, and items of no such store's sale, one line each."""
    orphan = "NOT EXISTS (SELECT 1 FROM public.stores_store AS st WHERE st.id = t.store_id)"
    lines = [
        f"{table} {row['id']}: store_id {row['store_id']} matches no store"
        for table in STORE_TABLES
        for row in _rows(tables=tables, table=table, where=orphan, params=[])
    ]
    where = "TRUE"
    if "sales_sale" in tables:
        where = (
            "NOT EXISTS (SELECT 1 FROM public.sales_sale AS s JOIN public.stores_store AS st "
            "ON st.id = s.store_id WHERE s.id = t.sale_id)"
        )
    lines.extend(
        f"sales_saleitem {row['id']}: sale {row['sale_id']} is no sale of any store"
        for row in _rows(tables=tables, table="sales_saleitem", where=where, params=[])
    )
    return lines


# --- Reading values -------------------------------------------------------------------------


def _decimal(
    row: Mapping[str, object],
    column: str,
    *,
    places: int,
    digits: int = 12,
    minimum: Decimal | None = ZERO,
    maximum: Decimal | None = None,
    default: Decimal | None = None,
) -> Decimal:
    value = row.get(column)
    if value is None:
        if default is None:
            raise _Malformed(f"{column} is missing")
        return default
    try:
        # str() first: a float's shortest repr is the number its column showed (9.99, not 9.9899…).
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise _Malformed(f"{column} {value!r} is not a number") from None
    if not number.is_finite():
        raise _Malformed(f"{column} {value!r} is not a number")
    if abs(number) >= Decimal(10) ** (digits - places):
        raise _Malformed(f"{column} {value} is too large")
    exact = number.quantize(Decimal(1).scaleb(-places))
    if exact != number:  # rounding legacy money silently would change what was paid
        raise _Malformed(f"{column} {value} has more than {places} decimal places")
    if minimum is not None and exact < minimum:
        raise _Malformed(f"{column} {value} is below {minimum}")
    if maximum is not None and exact > maximum:
        raise _Malformed(f"{column} {value} is above {maximum}")
    return exact


def _text(
    row: Mapping[str, object], column: str, *, max_length: int, is_required: bool = False
) -> str:
    value = row.get(column)
    text = "" if value is None else str(value).strip()
    if is_required and not text:
        raise _Malformed(f"{column} is {'missing' if value is None else 'empty'}")
    if len(text) > max_length:
        raise _Malformed(f"{column} is longer than {max_length} characters")
    return text


def _boolean(row: Mapping[str, object], column: str, *, default: bool) -> bool:
    value = row.get(column)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise _Malformed(f"{column} {value!r} is neither true nor false")


def _moment(
    row: Mapping[str, object], column: str, *, zone: ZoneInfo, default: datetime
) -> datetime:
    value = row.get(column)
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = parse_datetime(value.strip()) or parse_date(value.strip()) or value
        except ValueError:  # well formed, but no such day or hour
            raise _Malformed(f"{column} {value!r} is not a date") from None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else make_aware(value, zone)
    if isinstance(value, date):
        return make_aware(datetime.combine(value, time()), zone)
    raise _Malformed(f"{column} {value!r} is not a date")


def _reference(row: Mapping[str, object], column: str) -> int | None:
    value = row.get(column)
    if value is None or isinstance(value, int):
        return value
    raise _Malformed(f"{column} {value!r} is not an id")


@contextmanager
def _row(label: str) -> Iterator[None]:
    """Name the row in a problem found while reading it."""
    try:
        yield
    except _Malformed as problem:
        raise _Malformed(f"{label}: {problem}") from None


# --- Planning a store: read and check everything before writing anything --------------------


def _load_marks(plan: _Plan) -> None:
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
    stock = _decimal(row, "stock", places=3, minimum=None, default=ZERO)
    if stock < 0 and not store.allow_negative_stock:
        raise _Malformed(f"stock {stock} is below 0, which the store does not allow")
    return stock


def _plan_products(
    *, store: Store, rows: list[dict], plan: _Plan, result: StoreAdoption, adopted_at: datetime
) -> None:
    zone = ZoneInfo(store.timezone)
    for row in rows:
        if row["id"] in plan.marks["product"]:
            result.already_adopted["product"] = result.already_adopted.get("product", 0) + 1
            continue
        try:
            with _row(f"products_product {row['id']}"):
                stock = _stock(row, store=store)
                product = Product(
                    name=_text(row, "name", max_length=200, is_required=True),
                    sku=_text(row, "sku", max_length=64) or None,
                    barcode=_text(row, "barcode", max_length=64) or None,
                    price=_decimal(row, "price", places=2),
                    cost=_decimal(row, "cost", places=2, default=ZERO),
                    tax_rate=_decimal(row, "tax_rate", places=2, maximum=HUNDRED, default=ZERO),
                    is_active=_boolean(row, "is_active", default=True),
                    created_at=_moment(row, "created_at", zone=zone, default=adopted_at),
                )
        except _Malformed as problem:
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


def _plan_customers(
    *, store: Store, rows: list[dict], plan: _Plan, result: StoreAdoption, adopted_at: datetime
) -> None:
    zone = ZoneInfo(store.timezone)
    for row in rows:
        if row["id"] in plan.marks["customer"]:
            result.already_adopted["customer"] = result.already_adopted.get("customer", 0) + 1
            continue
        try:
            with _row(f"customers_customer {row['id']}"):
                email = _text(row, "email", max_length=254)
                if email:
                    try:
                        validate_email(email)
                    except ValidationError:
                        raise _Malformed(f"email {email!r} is not an email address") from None
                customer = Customer(
                    name=_text(row, "name", max_length=200, is_required=True),
                    phone=_text(row, "phone", max_length=32),
                    email=email,
                    note=_text(row, "note", max_length=2000),
                    created_at=_moment(row, "created_at", zone=zone, default=adopted_at),
                )
        except _Malformed as problem:
            result.malformed.append(str(problem))
            continue
        plan.customers.append((row["id"], customer))


def _sale_line(item: Mapping[str, object]) -> SaleLine:
    with _row(f"sales_saleitem {item['id']}"):
        quantity = _decimal(item, "quantity", places=3)
        if quantity == 0:
            raise _Malformed("quantity is 0")
        unit_price = _decimal(item, "price", places=2)
        gross = quantize_money(quantity * unit_price)
        total = _decimal(item, "total", places=2, default=gross)
        if total > gross:
            raise _Malformed(f"total {total} exceeds quantity × price ({gross})")
        rate = _decimal(item, "tax_rate", places=2, maximum=HUNDRED, default=ZERO)
        included = quantize_money(total * rate / (HUNDRED + rate))
        return SaleLine(
            quantity=quantity,
            unit_price=unit_price,
            discount=gross - total,
            tax_rate=rate,
            tax_amount=_decimal(item, "tax_amount", places=2, maximum=total, default=included),
            total=total,
        )


def _plan_sale(
    *,
    row: Mapping[str, object],
    items: list[dict],
    products: set[int],
    customers: set[int],
    zone: ZoneInfo,
    at: datetime,
) -> _SalePlan:
    """A sale and its lines, unsaved; `products` and `customers` are the legacy ids known."""
    label = f"sales_sale {row['id']}"
    with _row(label):
        total = _decimal(row, "total", places=2)
        created_at = _moment(row, "created_at", zone=zone, default=at)
        customer = _reference(row, "customer_id")
        method = _text(row, "payment_method", max_length=100).lower()
    lines = []
    for item in items:
        line = _sale_line(item)
        with _row(f"sales_saleitem {item['id']}"):
            lines.append((item["id"], _reference(item, "product_id"), line))
    # Checked once every item is read: a malformed row fails the store, which matters more.
    for item_id, product_id, _ in lines:
        if product_id not in products:
            raise _NotMoved(
                f"sales_saleitem {item_id}: product {product_id} is unknown, so its sale "
                f"{row['id']} is not moved"
            )
    if not lines:
        raise _NotMoved(f"{label}: it has no items")
    if customer is not None and customer not in customers:
        raise _NotMoved(f"{label}: customer {customer} is unknown")
    line_total = sum((line.total for _, _, line in lines), ZERO)
    if line_total != total:
        raise _Malformed(f"{label}: total {total} is not the sum of its items' totals {line_total}")
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
    return _SalePlan(
        legacy_id=int(row["id"]),
        sale=sale,
        customer=customer,
        method=method if method in PaymentMethod.values else PaymentMethod.OTHER,
        lines=lines,
    )


def _plan_sales(
    *,
    store: Store,
    rows: list[dict],
    items: list[dict],
    plan: _Plan,
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
                at=adopted_at,
            )
        except _Malformed as problem:
            result.malformed.append(str(problem))
        except _NotMoved as reason:
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


# --- Writing a store ------------------------------------------------------------------------


def _adoption_shift(*, plan: _Plan) -> Shift:
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


def _number_sales(*, sales: Sequence[Sale]) -> None:
    """Number the sales after the store's last one, in the order given.

    Called last: the counter's row stays locked until the commit and the store's live checkouts
    wait for it, so it is held for as short a time as can be.
    """
    counter = Counter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {counter} (name, value) VALUES (%s, %s) ON CONFLICT (name) "  # noqa: S608
            f"DO UPDATE SET value = {counter}.value + EXCLUDED.value RETURNING value",
            [SALE_COUNTER, len(sales)],
        )
        last_number = cursor.fetchone()[0]
    for number, sale in enumerate(sales, start=last_number - len(sales) + 1):
        sale.number = number
    Sale.objects.bulk_update(sales, ["number"])


def _write_sales(*, plan: _Plan) -> list[tuple[str, int, int]]:
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
    _number_sales(sales=sales)
    return [
        mark
        for planned in plan.sales
        for mark in (
            ("sale", planned.legacy_id, planned.sale.pk),
            *(("sale_item", item_id, line.pk) for item_id, _, line in planned.lines),
        )
    ]


def _write(*, plan: _Plan, result: StoreAdoption) -> None:
    marks: list[tuple[str, int, int]] = []
    if plan.products:
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


# --- The adoption ---------------------------------------------------------------------------


def _adopt_store(
    *, store: Store, tables: Mapping[str, frozenset[str]], dry_run: bool
) -> StoreAdoption:
    """Plan, check and write one store's rows in one transaction: all of them, or none."""
    result = StoreAdoption(slug=store.slug, schema_name=store.schema_name)
    days: tuple[date, date] | None = None
    try:
        with tenant_context(store), transaction.atomic():
            plan = _Plan()
            _load_marks(plan)
            adopted_at = now()
            by_store = {"where": "t.store_id = %s", "params": [store.pk]}
            _plan_products(
                store=store,
                rows=_rows(tables=tables, table="products_product", **by_store),
                plan=plan,
                result=result,
                adopted_at=adopted_at,
            )
            _plan_customers(
                store=store,
                rows=_rows(tables=tables, table="customers_customer", **by_store),
                plan=plan,
                result=result,
                adopted_at=adopted_at,
            )
            items = []
            if "sales_sale" in tables:
                items = _rows(
                    tables=tables,
                    table="sales_saleitem",
                    where="EXISTS (SELECT 1 FROM public.sales_sale AS s "
                    "WHERE s.id = t.sale_id AND s.store_id = %s)",
                    params=[store.pk],
                )
            _plan_sales(
                store=store,
                rows=_rows(tables=tables, table="sales_sale", **by_store),
                items=items,
                plan=plan,
                result=result,
                adopted_at=adopted_at,
            )
            if not result.malformed:
                _write(plan=plan, result=result)
                if plan.sales:
                    days = (
                        local_day(plan.sales[0].sale.created_at),
                        local_day(plan.sales[-1].sale.created_at),
                    )
            if dry_run or result.malformed:
                transaction.set_rollback(True)
    except (DatabaseError, ValidationError, DomainError) as error:
        result.moved.clear()  # rolled back
        result.error = f"{type(error).__name__}: {error}".strip()
        logger.warning("legacy adoption failed", extra={"store": store.slug, "error": str(error)})
        return result
    if days is not None and not dry_run and not result.failed:
        # Derived rows, rebuilt in their own transactions once the sales are committed: a
        # failure here loses nothing, the store's rebuild can be rerun at any time.
        try:
            with tenant_context(store):
                analytics_rebuild(first=days[0], last=days[1])
        except DatabaseError as error:
            result.analytics_error = str(error)
            logger.warning("analytics not rebuilt", extra={"store": store.slug})
    logger.info(
        "legacy adoption",
        extra={"store": store.slug, "moved": result.moved, "dry_run": dry_run},
    )
    return result


def legacy_adopt(*, dry_run: bool = False, store: Store | None = None) -> LegacyAdoption:
    """Move the legacy rows of `store` (of every store that has some, when None) into its schema.

    Each store in its own transaction: a store whose rows cannot all be read moves nothing and
    the others go on. `dry_run` does all the work and rolls every store back, so its report is
    exactly what a real run would do. Rows of no existing store are listed when every store is
    adopted. Raises LegacyShapeError before anything when a legacy table lacks a required column.
    """
    tables = legacy_tables()
    adoption = LegacyAdoption(dry_run=dry_run, tables=tables)
    if not tables:
        return adoption
    stores = [store] if store is not None else _stores_with_rows(tables)
    for each in stores:
        adoption.stores.append(_adopt_store(store=each, tables=tables, dry_run=dry_run))
    if store is None:
        adoption.no_store = _no_store_rows(tables)
    return adoption
