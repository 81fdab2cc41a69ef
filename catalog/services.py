"""Every write to a store's catalog; stock changes only through `stock_apply`."""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.utils.timezone import now

from catalog.changes import versions_take
from catalog.events import product_changed_data, stock_low_data
from catalog.exceptions import CategoryInUse, InsufficientStock, StockOutOfRange
from catalog.lock_objects import products_for_update
from catalog.models import CatalogDeletion, Category, PriceChange, Product, StockMovement
from core.database.bulk import rows_insert
from core.events import PRODUCT_CHANGED, STOCK_LOW, event_emit, events_emit
from core.money import column_max
from stores.models import User
from stores.tenancy import current_store

# A category tree deeper than this is a mistake, not a catalog.
MAX_CATEGORY_DEPTH = 32


@dataclass(frozen=True)
class StockChange:
    product_id: int
    delta: Decimal
    # The sale it is part of, where changes of several sales are applied together (else the
    # `sale_id` of the call).
    sale_id: int | None = None


_PRODUCTS = Product._meta.db_table
# Each product's net change added to its stock, in one statement whatever the number of products.
_STOCK_ADD = (
    f"UPDATE {_PRODUCTS} SET stock = {_PRODUCTS}.stock + v.delta, updated_at = %s "  # noqa: S608
    f"FROM unnest(%b::bigint[], %b::numeric[]) AS v(id, delta) WHERE {_PRODUCTS}.id = v.id"
)

# numeric(12, 3): a stock stays within ±999 999 999.999.
STOCK_LIMIT = column_max(Product._meta.get_field("stock"))


def stock_check(
    *,
    products: Mapping[int, Product],
    net: Mapping[int, Decimal],
    allow_negative: bool | None = None,
) -> None:
    """Refuse changes the ledger cannot take; `products` are locked by the caller's
    transaction and `net` is each product's total change.

    StockOutOfRange when a stock would pass ±STOCK_LIMIT; InsufficientStock, listing every short
    product, when a decrease would take a stock below zero, unless negatives are allowed
    (`allow_negative`; None: as the store's setting says).
    Increases are never refused for a stock that is below zero already (a store that allowed
    negative stock and no longer does must still be able to restock).
    """
    beyond = [
        {"id": pk, "requested": str(delta), "available": str(products[pk].stock)}
        for pk, delta in sorted(net.items())
        if abs(products[pk].stock + delta) > STOCK_LIMIT
    ]
    if beyond:
        raise StockOutOfRange(
            f"Stock stays within ±{STOCK_LIMIT}; these changes would take it beyond.",
            extra={"products": beyond},
        )
    if current_store().allow_negative_stock if allow_negative is None else allow_negative:
        return
    shortages = [
        {"id": pk, "requested": str(-delta), "available": str(products[pk].stock)}
        for pk, delta in sorted(net.items())
        if delta < 0 and products[pk].stock + delta < 0
    ]
    if shortages:
        raise InsufficientStock(extra={"products": shortages})


def stock_low_events(product: Product, *, before: Decimal) -> list[tuple[str, dict]]:
    """`stock.low` when the product's stock has just fallen from above its reorder level (at
    `before`) to it or below; else nothing."""
    level = product.reorder_level
    if level is not None and before > level >= product.stock:
        return [(STOCK_LOW, stock_low_data(product))]
    return []


@dataclass
class StockWrite:
    """Stock changes checked against products the caller has locked, not yet written: the
    `movements` to insert and the statement adding to the products' counters (`counters`, SQL
    and its parameters), both in one statement of the caller's (`rows_insert`'s `alongside`),
    and the `stock.low` events the changes make (`low`), for the caller to write; then
    `written()`."""

    movements: list[StockMovement]
    counters: tuple[str, list]
    low: list[tuple[str, dict]]
    net: Mapping[int, Decimal]
    products: Mapping[int, Product]

    def written(self) -> list[StockMovement]:
        """After the statement: each product's stock as it now is; the movements."""
        for pk, delta in self.net.items():
            self.products[pk].stock += delta
        for movement in self.movements:
            movement.product = self.products[movement.product_id]
        return self.movements


def _net(changes: Sequence[StockChange]) -> dict[int, Decimal]:
    if any(change.delta == 0 for change in changes):
        raise ValidationError({"delta": ["A stock change cannot be zero."]})
    net: dict[int, Decimal] = defaultdict(Decimal)
    for change in changes:
        net[change.product_id] += change.delta
    return net


def _stock_refusal(
    *, products: Mapping[int, Product], net: Mapping[int, Decimal], allow_negative: bool | None
) -> Exception | None:
    unknown = sorted(set(net) - set(products))
    if unknown:
        return ValidationError({"product": [f"Unknown product(s): {unknown}."]})
    try:
        stock_check(products=products, net=net, allow_negative=allow_negative)
    except (InsufficientStock, StockOutOfRange) as shortage:
        return shortage
    return None


def _stock_planned(
    *,
    changes: Sequence[StockChange],
    net: Mapping[int, Decimal],
    products: Mapping[int, Product],
    reason: str,
    user: User | None,
    note: str,
    sale_id: int | None,
    refund_id: int | None,
) -> StockWrite:
    created_at = now()
    movements = [
        StockMovement(
            product_id=change.product_id,
            delta=change.delta,
            reason=reason,
            note=note,
            sale_id=sale_id if change.sale_id is None else change.sale_id,
            refund_id=refund_id,
            created_by=user,
            created_at=created_at,
        )
        for change in changes
    ]
    low = []
    for pk, delta in net.items():
        product = products[pk]
        after = copy(product)  # the product as the change leaves it, for its event
        after.stock = product.stock + delta
        low.extend(stock_low_events(after, before=product.stock))
    return StockWrite(
        movements=movements,
        counters=(_STOCK_ADD, [created_at, list(net), list(net.values())]),
        low=low,
        net=net,
        products=products,
    )


def stock_planned(
    *,
    changes: Sequence[StockChange],
    reason: str,
    user: User | None,
    locked_products: Mapping[int, Product],
    allow_negative: bool | None = None,
) -> StockWrite:
    """`stock_apply`'s changes checked, for a caller that writes them in a statement of its
    own, with other rows (a sale's movements, inserted with the sale: the caller gives them
    their sale), and their `stock.low` events with its own. The products are locked by the
    caller's transaction already (`locked_products`). A refusal is raised before anything is
    written."""
    if not changes:
        raise ValueError("No stock changes to plan.")
    net = _net(changes)
    refusal = _stock_refusal(products=locked_products, net=net, allow_negative=allow_negative)
    if refusal is not None:
        raise refusal
    return _stock_planned(
        changes=changes,
        net=net,
        products=locked_products,
        reason=reason,
        user=user,
        note="",
        sale_id=None,
        refund_id=None,
    )


def stock_apply(
    *,
    changes: Sequence[StockChange],
    reason: str,
    user: User | None,
    note: str = "",
    sale_id: int | None = None,
    refund_id: int | None = None,
    locked_products: Mapping[int, Product] | None = None,
    allow_negative: bool | None = None,
    events: list | None = None,
) -> list[StockMovement]:
    """Apply stock changes: one movement per change, each counter added to in the same statement.

    A product falling to its reorder level or below emits `stock.low`; a caller that writes
    events of its own later in the transaction passes `events`, and the `stock.low` events are
    appended there for it to write with its own: the event counter is always the last lock a
    transaction takes (a checkout takes the sale number before it).

    The products are locked in pk order first (or were, by the caller, in this transaction:
    `locked_products`), so concurrent calls with the same products in any order neither deadlock
    nor lose an update. Nothing is written when any product would go below zero (unless the
    store allows it): InsufficientStock lists each short product. Two statements whatever the
    number of changes: the lock, then the movements inserted and the counters added to.
    """
    if not changes:
        return []
    net = _net(changes)

    # No savepoint of its own (two statements in all): so a refusal must not be raised inside
    # the block, or it would doom the caller's transaction too. It is raised after it instead.
    refusal: Exception | None = None
    with transaction.atomic(savepoint=False):
        products = locked_products
        if products is None:
            products = {product.pk: product for product in products_for_update(product_ids=net)}
        refusal = _stock_refusal(products=products, net=net, allow_negative=allow_negative)
        if refusal is None:
            planned = _stock_planned(
                changes=changes,
                net=net,
                products=products,
                reason=reason,
                user=user,
                note=note,
                sale_id=sale_id,
                refund_id=refund_id,
            )
            # The movements and the counters they add to: one statement.
            rows_insert(planned.movements, alongside=planned.counters)
            movements = planned.written()
            if events is None:
                events_emit(planned.low)  # rare: no statement at all when nothing crossed
            else:
                events.extend(planned.low)
    if refusal is not None:
        raise refusal
    return movements


def stock_adjust(
    *, product: Product, delta: Decimal, reason: str, user: User | None, note: str = ""
) -> StockMovement:
    """A change of stock by hand (restock, count, damage, other)."""
    if reason not in StockMovement.MANUAL_REASONS:
        raise ValidationError({"reason": [f"'{reason}' is not a reason for a manual adjustment."]})
    (movement,) = stock_apply(
        changes=[StockChange(product_id=product.pk, delta=delta)],
        reason=reason,
        user=user,
        note=note,
    )
    product.stock = movement.product.stock
    return movement


def _check_parent(*, category: Category | None, parent: Category | None) -> None:
    """A category may not become its own ancestor."""
    depth = 0
    ancestor = parent
    while ancestor is not None:
        if category is not None and ancestor.pk == category.pk:
            raise ValidationError({"parent": ["A category cannot be placed under itself."]})
        depth += 1
        if depth > MAX_CATEGORY_DEPTH:
            raise ValidationError(
                {"parent": [f"Categories nest at most {MAX_CATEGORY_DEPTH} deep."]}
            )
        ancestor = ancestor.parent


@transaction.atomic
def category_create(*, name: str, parent: Category | None = None) -> Category:
    _check_parent(category=None, parent=parent)
    category = Category(name=name, parent=parent)
    category.full_clean()
    (category.version,) = versions_take()
    category.save()
    return category


@transaction.atomic
def category_update(*, category: Category, **fields: Any) -> Category:
    if "parent" in fields:
        # Lock the tree's rows we walk, so two moves cannot build a cycle together.
        list(Category.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        _check_parent(category=category, parent=fields["parent"])
    for field, value in fields.items():
        setattr(category, field, value)
    category.full_clean()
    (category.version,) = versions_take()
    category.save()
    return category


def category_delete(*, category: Category) -> None:
    pk = category.pk
    try:
        with transaction.atomic():
            (version,) = versions_take()  # the counter before the row, as every catalog write
            category.delete()
            CatalogDeletion.objects.create(
                kind=CatalogDeletion.Kind.CATEGORY, object_id=pk, version=version
            )
    except ProtectedError as error:
        raise CategoryInUse from error


@transaction.atomic
def product_create(**fields: Any) -> Product:
    product = Product(**fields)
    product.full_clean()
    (product.version,) = versions_take()
    product.price_changed_at = product.created_at
    product.save()
    PriceChange.objects.create(product=product, price=product.price, changed_at=product.created_at)
    event_emit(PRODUCT_CHANGED, product_changed_data(product, change="created"))
    return product


@transaction.atomic
def product_update(*, product: Product, **fields: Any) -> Product:
    fields.pop("stock", None)  # stock changes only through stock_apply
    repriced = "price" in fields and fields["price"] != product.price
    if repriced and product.price_changed_at is None:
        # A product from before price history: its price until now, from its creation on.
        PriceChange.objects.create(
            product=product, price=product.price, changed_at=product.created_at
        )
    for field, value in fields.items():
        setattr(product, field, value)
    product.full_clean(exclude=["stock"])
    (product.version,) = versions_take()
    updated = [*fields, "updated_at", "version"]
    if repriced:
        product.price_changed_at = now()
        updated.append("price_changed_at")
        PriceChange.objects.create(
            product=product, price=product.price, changed_at=product.price_changed_at
        )
    product.save(update_fields=updated)
    event_emit(PRODUCT_CHANGED, product_changed_data(product, change="updated"))
    return product


def _has_history(product: Product) -> bool:
    """Whether anything refers to the product: a stock movement, or a line of a sale (sales
    adopted from legacy data have lines but took no stock, so no movement)."""
    return product.movements.exists() or product.sale_lines.exists()


@transaction.atomic
def product_delete(*, product: Product) -> bool:
    """Delete a product never sold nor moved; deactivate one with history. True if deleted."""
    if not _has_history(product):
        pk = product.pk
        try:
            with transaction.atomic():
                (version,) = versions_take()  # the counter before the row, as every write
                product.delete()
                CatalogDeletion.objects.create(
                    kind=CatalogDeletion.Kind.PRODUCT, object_id=pk, version=version
                )
                event_emit(PRODUCT_CHANGED, {"id": pk, "change": "deleted"})
        except ProtectedError:
            pass  # something else refers to it: it stays, deactivated, like one with history
        else:
            return True
    if product.is_active:
        product.is_active = False
        (product.version,) = versions_take()
        product.save(update_fields=["is_active", "updated_at", "version"])
        event_emit(PRODUCT_CHANGED, product_changed_data(product, change="deactivated"))
    return False


def prices_at(*, products: Sequence[Product], moment: datetime) -> dict[int, Decimal]:
    """Each product's price at `moment`: its price now, or for one repriced since, the price it
    had then (one query for those). A product repriced since but with no earlier price on
    record (made before price history was kept) keeps its price now."""
    (prices,) = prices_at_many(
        products={product.pk: product for product in products},
        wanted=[({product.pk for product in products}, moment)],
    )
    return prices


_PRICE_CHANGES = PriceChange._meta.db_table
# Each (product, moment)'s price then: the last change at or before it.
_PRICES_THEN = (
    "SELECT r.n, r.product_id, earlier.price "  # noqa: S608 - our own table name
    "FROM unnest(%s::int[], %s::bigint[], %s::timestamptz[]) AS r(n, product_id, moment) "
    f"CROSS JOIN LATERAL (SELECT price FROM {_PRICE_CHANGES} "
    "WHERE product_id = r.product_id AND changed_at <= r.moment "
    "ORDER BY changed_at DESC, id DESC LIMIT 1) AS earlier"
)


def prices_at_many(
    *, products: Mapping[int, Product], wanted: Sequence[tuple[Collection[int], datetime]]
) -> list[dict[int, Decimal]]:
    """`prices_at` for many moments, each with the ids of the products it needs (among
    `products`): one query at most, whatever their number."""
    found = [
        {pk: products[pk].price for pk in product_ids if pk in products}
        for product_ids, _ in wanted
    ]
    asked = [
        (n, pk, moment)
        for n, (prices, (_, moment)) in enumerate(zip(found, wanted, strict=True))
        for pk in prices
        if products[pk].price_changed_at is not None and products[pk].price_changed_at > moment
    ]
    if asked:
        numbers, product_ids, moments = (list(column) for column in zip(*asked, strict=True))
        with connection.cursor() as cursor:
            cursor.execute(_PRICES_THEN, [numbers, product_ids, moments])
            for n, pk, price in cursor.fetchall():
                found[n][pk] = price
    return found
