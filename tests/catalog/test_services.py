"""The catalog's services: the stock ledger (stock_apply, stock_adjust), categories, products."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import services
from catalog.exceptions import CategoryInUse, InsufficientStock
from catalog.lock_objects import products_for_update
from catalog.models import Category, Product, StockMovement
from catalog.services import StockChange
from sales.models import Sale, SaleLine, Shift
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.conftest import STORE_SCHEMAS, make_store


def ledger_sum(product: Product) -> Decimal:
    return StockMovement.objects.filter(product=product).aggregate(total=Sum("delta"))["total"]


def stocks() -> dict[int, Decimal]:
    return dict(Product.objects.order_by("pk").values_list("pk", "stock"))


def movements() -> list[tuple]:
    return list(
        StockMovement.objects.order_by("pk").values_list(
            "pk", "product_id", "delta", "reason", "note", "created_by_id"
        )
    )


# --- stock_apply -----------------------------------------------------------------------------


def test_stock_apply_writes_one_movement_per_change_and_moves_the_counter_by_the_net(store_a):
    with tenant_context(store_a.store):
        bread = ProductFactory(stock="10")
        milk = ProductFactory()

        written = services.stock_apply(
            changes=[
                StockChange(product_id=bread.pk, delta=Decimal("-2")),
                StockChange(product_id=milk.pk, delta=Decimal("5.5")),
                StockChange(product_id=bread.pk, delta=Decimal("-3.250")),
            ],
            reason="count",
            user=store_a.manager,
            note="inventory",
        )

        assert [(m.product_id, m.delta, m.product.stock) for m in written] == [
            (bread.pk, Decimal("-2"), Decimal("4.750")),
            (milk.pk, Decimal("5.5"), Decimal("5.500")),
            (bread.pk, Decimal("-3.250"), Decimal("4.750")),
        ]
        assert movements() == [
            (1, bread.pk, Decimal("10.000"), "restock", "", None),
            (2, bread.pk, Decimal("-2.000"), "count", "inventory", store_a.manager.pk),
            (3, milk.pk, Decimal("5.500"), "count", "inventory", store_a.manager.pk),
            (4, bread.pk, Decimal("-3.250"), "count", "inventory", store_a.manager.pk),
        ]
        assert stocks() == {bread.pk: Decimal("4.750"), milk.pk: Decimal("5.500")}
        assert [ledger_sum(product) for product in (bread, milk)] == [
            Decimal("4.750"),
            Decimal("5.500"),
        ]


def test_a_shortage_lists_each_short_product_and_writes_nothing(store_a):
    with tenant_context(store_a.store):
        bread = ProductFactory(stock="2")
        milk = ProductFactory(stock="1")
        cheese = ProductFactory(stock="10")
        stocks_before, movements_before = stocks(), movements()

        with pytest.raises(InsufficientStock) as raised:
            services.stock_apply(
                changes=[
                    StockChange(product_id=cheese.pk, delta=Decimal("-4")),
                    StockChange(product_id=milk.pk, delta=Decimal("-1")),
                    StockChange(product_id=bread.pk, delta=Decimal("-3")),
                    StockChange(product_id=milk.pk, delta=Decimal("-0.5")),
                ],
                reason="damage",
                user=None,
            )

        assert raised.value.status_code == 409
        assert raised.value.default_code == "insufficient_stock"
        assert raised.value.extra == {
            "products": [
                {"id": bread.pk, "requested": "3", "available": "2.000"},
                {"id": milk.pk, "requested": "1.5", "available": "1.000"},
            ]
        }
        assert stocks() == stocks_before
        assert movements() == movements_before


def test_a_gain_on_the_same_product_covers_a_loss(store_a):
    with tenant_context(store_a.store):
        bread = ProductFactory(stock="1")

        services.stock_apply(
            changes=[
                StockChange(product_id=bread.pk, delta=Decimal("-3")),
                StockChange(product_id=bread.pk, delta=Decimal("2")),
            ],
            reason="count",
            user=None,
        )

        assert stocks() == {bread.pk: Decimal("0.000")}
        assert ledger_sum(bread) == Decimal("0.000")


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ([(1, "0")], {"delta": ["A stock change cannot be zero."]}),
        ([(1, "1"), (1, "0.000")], {"delta": ["A stock change cannot be zero."]}),
        ([(1, "1"), (98, "1"), (99, "-1")], {"product": ["Unknown product(s): [98, 99]."]}),
    ],
)
def test_stock_apply_refuses_zero_changes_and_unknown_products(store_a, changes, errors):
    with tenant_context(store_a.store):
        ProductFactory(stock="1")
        stocks_before, movements_before = stocks(), movements()

        with pytest.raises(ValidationError) as raised:
            services.stock_apply(
                changes=[StockChange(product_id=pk, delta=Decimal(d)) for pk, d in changes],
                reason="restock",
                user=None,
            )

        assert raised.value.message_dict == errors
        assert stocks() == stocks_before
        assert movements() == movements_before


def test_no_changes_is_no_statement(store_a):
    with tenant_context(store_a.store), CaptureQueriesContext(connection) as queries:
        written = services.stock_apply(changes=[], reason="restock", user=None)

    assert written == []
    assert len(queries) == 0


def data_statements(queries: CaptureQueriesContext) -> list[str]:
    """The first word of each statement, savepoints left out."""
    words = [query["sql"].split(None, 1)[0].upper() for query in queries.captured_queries]
    return [word for word in words if word not in {"SAVEPOINT", "RELEASE", "ROLLBACK"}]


def test_stock_apply_issues_the_same_statements_for_1_and_20_changes(store_a):
    # Observed: SELECT … FOR UPDATE, then the movements and counters (WITH … UPDATE … INSERT),
    # for 1 change and for 20 changes.
    with tenant_context(store_a.store):
        products = ProductFactory.create_batch(10, stock="100")
        one = [StockChange(product_id=products[0].pk, delta=Decimal("-1"))]
        twenty = [
            StockChange(product_id=product.pk, delta=Decimal(delta))
            for product in products
            for delta in ("-1.5", "2")
        ]

        with CaptureQueriesContext(connection) as for_one:
            services.stock_apply(changes=one, reason="count", user=None)
        with CaptureQueriesContext(connection) as for_twenty:
            services.stock_apply(changes=twenty, reason="count", user=None)

        assert data_statements(for_one) == ["SELECT", "WITH"]
        assert data_statements(for_twenty) == data_statements(for_one)
        assert StockMovement.objects.count() == 10 + 1 + 20
        assert all(ledger_sum(product) == product.stock for product in Product.objects.all())


# --- stock_adjust ----------------------------------------------------------------------------


def test_stock_adjust_records_a_manual_change_and_refreshes_the_product(store_a):
    with tenant_context(store_a.store):
        bread = ProductFactory()

        movement = services.stock_adjust(
            product=bread, delta=Decimal("2.5"), reason="restock", user=store_a.owner, note="van"
        )

        assert bread.stock == Decimal("2.500")
        assert movement.product.stock == Decimal("2.500")
        assert movements() == [
            (movement.pk, bread.pk, Decimal("2.500"), "restock", "van", store_a.owner.pk)
        ]
        assert Product.objects.get(pk=bread.pk).stock == Decimal("2.500")


@pytest.mark.parametrize("reason", ["sale", "refund", "theft", ""])
def test_stock_adjust_takes_only_manual_reasons(store_a, reason):
    with tenant_context(store_a.store):
        bread = ProductFactory(stock="3")
        stocks_before, movements_before = stocks(), movements()

        with pytest.raises(ValidationError) as raised:
            services.stock_adjust(product=bread, delta=Decimal("1"), reason=reason, user=None)

        assert raised.value.message_dict == {
            "reason": [f"'{reason}' is not a reason for a manual adjustment."]
        }
        assert stocks() == stocks_before
        assert movements() == movements_before


def test_stock_adjust_below_zero_raises_and_leaves_the_caller_free_to_go_on(store_a):
    """A refused change writes nothing and does not spoil the caller's transaction."""
    with tenant_context(store_a.store):
        bread = ProductFactory(stock="1")
        stocks_before, movements_before = stocks(), movements()

        with pytest.raises(InsufficientStock) as raised:
            services.stock_adjust(
                product=bread, delta=Decimal("-1.001"), reason="damage", user=None
            )

        assert raised.value.extra == {
            "products": [{"id": bread.pk, "requested": "1.001", "available": "1.000"}]
        }
        assert bread.stock == Decimal("1.000")
        assert stocks() == stocks_before
        assert movements() == movements_before


def test_a_store_allowing_negative_stock_goes_below_zero(store_a):
    store_a.store.allow_negative_stock = True
    store_a.store.save()
    with tenant_context(store_a.store):
        bread = ProductFactory(stock="1")

        services.stock_adjust(product=bread, delta=Decimal("-4"), reason="count", user=None)

        assert stocks() == {bread.pk: Decimal("-3.000")}
        assert ledger_sum(bread) == Decimal("-3.000")


def test_a_negative_stock_can_be_restocked_in_a_store_that_no_longer_allows_it(store_a):
    """A store allowed negative stock, sold past zero, then forbade it: restocking must work,
    and only decreases are checked."""
    store_a.store.allow_negative_stock = True
    store_a.store.save()
    with tenant_context(store_a.store):
        bread = ProductFactory(stock="1")
        services.stock_adjust(product=bread, delta=Decimal("-4"), reason="count", user=None)
    store_a.store.allow_negative_stock = False
    store_a.store.save()

    with tenant_context(store_a.store):
        services.stock_adjust(product=bread, delta=Decimal("2"), reason="restock", user=None)
        with pytest.raises(InsufficientStock):
            services.stock_adjust(product=bread, delta=Decimal("-1"), reason="damage", user=None)

        assert stocks() == {bread.pk: Decimal("-1.000")}
        assert ledger_sum(bread) == Decimal("-1.000")


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    product_count=st.integers(min_value=1, max_value=3),
    adjustments=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2),
            st.decimals(
                min_value=Decimal("-5"),
                max_value=Decimal("5"),
                places=3,
                allow_nan=False,
                allow_infinity=False,
            ).filter(lambda delta: delta != 0),
        ),
        max_size=30,
    ),
)
def test_the_ledger_always_sums_to_the_stock_which_never_goes_below_zero(
    store_a, product_count, adjustments
):
    with tenant_context(store_a.store), transaction.atomic():
        products = ProductFactory.create_batch(product_count)
        expected = {product.pk: Decimal("0") for product in products}
        refused = 0

        for index, delta in adjustments:
            product = products[index % product_count]
            try:
                services.stock_adjust(product=product, delta=delta, reason="count", user=None)
            except InsufficientStock:
                refused += 1
            else:
                expected[product.pk] += delta

        for product in Product.objects.filter(pk__in=expected):
            assert product.stock >= 0
            assert (ledger_sum(product) or Decimal("0")) == product.stock
            assert product.stock == expected[product.pk]
        assert StockMovement.objects.filter(product__in=products).count() == (
            len(adjustments) - refused
        )
        transaction.set_rollback(True)


# --- Concurrency -----------------------------------------------------------------------------


def test_concurrent_adjustments_never_oversell_nor_lose_an_update(committed_stores):
    staffed = make_store(STORE_SCHEMAS[0], name="Магазин Альфа")
    store = staffed.store
    with tenant_context(store):
        product = ProductFactory(stock="5")
    start = threading.Barrier(10)
    outcomes: list[str] = []
    outcomes_lock = threading.Lock()

    def take_one() -> None:
        try:
            with tenant_context(store):
                start.wait()
                try:
                    services.stock_adjust(
                        product=Product.objects.get(pk=product.pk),
                        delta=Decimal("-1"),
                        reason="damage",
                        user=None,
                    )
                    outcome = "done"
                except InsufficientStock:
                    outcome = "refused"
            with outcomes_lock:
                outcomes.append(outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=take_one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["done"] * 5 + ["refused"] * 5
    with tenant_context(store):
        assert stocks() == {product.pk: Decimal("0.000")}
        assert ledger_sum(product) == Decimal("0.000")
        assert StockMovement.objects.filter(reason="damage").count() == 5


# --- Categories ------------------------------------------------------------------------------


def test_category_create_and_move(store_a):
    with tenant_context(store_a.store):
        food = services.category_create(name="Food")
        dairy = services.category_create(name="Dairy", parent=food)
        toys = services.category_create(name="Toys")

        services.category_update(category=dairy, parent=toys, name="Dairy toys")

        assert list(Category.objects.order_by("pk").values_list("pk", "name", "parent_id")) == [
            (food.pk, "Food", None),
            (dairy.pk, "Dairy toys", toys.pk),
            (toys.pk, "Toys", None),
        ]


@pytest.mark.parametrize(("moved", "new_parent"), [(0, 0), (0, 1), (0, 2), (1, 2)])
def test_a_category_cannot_become_its_own_ancestor(store_a, moved, new_parent):
    with tenant_context(store_a.store):
        food = CategoryFactory(name="Food")
        dairy = CategoryFactory(name="Dairy", parent=food)
        milk = CategoryFactory(name="Milk", parent=dairy)
        tree = [food, dairy, milk]
        before = list(Category.objects.order_by("pk").values_list("pk", "name", "parent_id"))

        with pytest.raises(ValidationError) as raised:
            services.category_update(category=tree[moved], parent=tree[new_parent])

        assert raised.value.message_dict == {
            "parent": ["A category cannot be placed under itself."]
        }
        assert list(Category.objects.order_by("pk").values_list("pk", "name", "parent_id")) == (
            before
        )


def test_a_category_has_at_most_max_depth_ancestors(store_a):
    with tenant_context(store_a.store):
        parent = None
        for level in range(services.MAX_CATEGORY_DEPTH + 1):
            parent = services.category_create(name=f"Level {level}", parent=parent)
        count_before = Category.objects.count()

        with pytest.raises(ValidationError) as raised:
            services.category_create(name="Too deep", parent=parent)

        assert raised.value.message_dict == {"parent": ["Categories nest at most 32 deep."]}
        assert Category.objects.count() == count_before == services.MAX_CATEGORY_DEPTH + 1


def test_category_delete_refuses_a_category_in_use(store_a):
    with tenant_context(store_a.store):
        food = CategoryFactory(name="Food")
        CategoryFactory(name="Dairy", parent=food)
        bakery = CategoryFactory(name="Bakery")
        ProductFactory(category=bakery)
        empty = CategoryFactory(name="Empty")

        for in_use in (food, bakery):
            with pytest.raises(CategoryInUse):
                services.category_delete(category=in_use)
        services.category_delete(category=empty)

        assert list(Category.objects.order_by("pk").values_list("name", flat=True)) == [
            "Food",
            "Dairy",
            "Bakery",
        ]
        assert Product.objects.filter(category=bakery).count() == 1


# --- Products --------------------------------------------------------------------------------


def test_product_delete_removes_a_product_never_moved(store_a):
    with tenant_context(store_a.store):
        bread = ProductFactory()
        milk = ProductFactory()

        assert services.product_delete(product=bread) is True

        assert list(Product.objects.values_list("pk", flat=True)) == [milk.pk]


def test_product_delete_deactivates_a_product_with_movements(store_a):
    with tenant_context(store_a.store):
        bread = ProductFactory(stock="2")
        services.stock_adjust(product=bread, delta=Decimal("-2"), reason="damage", user=None)
        movements_before = movements()

        first = services.product_delete(product=bread)
        again = services.product_delete(product=Product.objects.get(pk=bread.pk))

        assert (first, again) == (False, False)
        assert list(Product.objects.values_list("pk", "is_active", "stock")) == [
            (bread.pk, False, Decimal("0.000"))
        ]
        assert movements() == movements_before


def test_product_delete_deactivates_a_product_sold_without_a_movement(store_a):
    """Sales adopted from legacy data have lines but took no stock: what was sold counts too."""
    with tenant_context(store_a.store):
        bread = ProductFactory()
        shift = Shift.objects.create(
            register=store_a.register,
            status=Shift.Status.CLOSED,
            opened_by=store_a.owner,
            opening_cash=Decimal("0"),
        )
        sale = Sale.objects.create(
            register=store_a.register,
            shift=shift,
            cashier=store_a.owner,
            **dict.fromkeys(("subtotal", "discount_total", "tax_total", "total"), Decimal("1")),
            paid_total=Decimal("1"),
            change_due=Decimal("0"),
            prices_include_tax=True,
        )
        SaleLine.objects.create(
            sale=sale,
            product=bread,
            name=bread.name,
            quantity=Decimal("1"),
            unit_price=Decimal("1"),
            tax_rate=Decimal("0"),
            tax_amount=Decimal("0"),
            total=Decimal("1"),
        )

        deleted = services.product_delete(product=bread)

        assert deleted is False
        assert list(Product.objects.values_list("pk", "is_active")) == [(bread.pk, False)]
        assert StockMovement.objects.count() == 0


def test_product_update_never_touches_stock(store_a):
    with tenant_context(store_a.store):
        bread = ProductFactory(stock="2")
        stale = Product.objects.get(pk=bread.pk)
        services.stock_adjust(product=bread, delta=Decimal("3"), reason="restock", user=None)

        services.product_update(product=stale, name="Rye bread", stock=Decimal("100"))

        assert list(Product.objects.values_list("name", "stock")) == [
            ("Rye bread", Decimal("5.000"))
        ]
        assert ledger_sum(bread) == Decimal("5.000")


def test_products_are_locked_in_a_transaction_only(committed_stores):
    # given a product, and no transaction open (autocommit)
    store = make_store(STORE_SCHEMAS[0])
    with tenant_context(store.store):
        product = ProductFactory()

        # then locking it is refused rather than held for one statement only
        with pytest.raises(transaction.TransactionManagementError, match="inside a transaction"):
            products_for_update(product_ids=[product.pk])
        with transaction.atomic():
            locked = products_for_update(product_ids=[product.pk, 10**12])

    assert [(found.pk, found.name, found.stock) for found in locked] == [
        (product.pk, product.name, product.stock)
    ]
