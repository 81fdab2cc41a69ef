"""Many rows in one statement (`core.database.bulk`): what is written is what Django's own save
would write, whether a value is read straight off the object or prepared by its field."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from django_tenants.utils import tenant_context

from catalog.models import Category, Product, StockMovement
from catalog.services import product_create
from core.database.bulk import (
    _as_is,
    bound_cursor,
    family_insert,
    rows_insert,
    rows_insert_family,
    rows_update,
)
from core.events import PRODUCT_CHANGED, event_emit
from core.models import Event
from tests.conftest import make_store

COLUMNS = ("name", "sku", "barcode", "price", "cost", "tax_rate", "is_active", "reorder_level")


def _stored(pk: int) -> dict:
    return Product.objects.filter(pk=pk).values(*COLUMNS, "created_at", "version").get()


def test_django_fields_that_take_their_values_as_they_are_are_known_and_others_are_not():
    fields = {field.name: _as_is(field) for field in Product._meta.concrete_fields}

    assert fields["name"] is str
    assert fields["price"] is Decimal  # a DecimalField of Kassa's own that prepares as Django's
    assert fields["category"] is int  # a key, prepared as the key it refers to
    assert fields["is_active"] is bool
    assert fields["updated_at"] is None  # auto_now: made as it is saved
    assert fields["created_at"] is None


@pytest.mark.parametrize(
    ("price", "reorder_level", "is_active"),
    [
        pytest.param(Decimal("3.50"), Decimal("2.000"), True, id="values-of-their-own-types"),
        pytest.param("3.50", 2, 1, id="values-each-field-must-prepare"),
    ],
)
def test_rows_are_inserted_and_updated_as_a_save_would_write_them(
    store_a, price, reorder_level, is_active
):
    created_at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    with tenant_context(store_a.store):
        saved = Product(
            name='Tea «Ёлка» "quoted" {braced}, comma',
            sku="T-1",
            price=price,
            reorder_level=reorder_level,
            is_active=is_active,
            created_at=created_at,
        )
        saved.save()
        bulk = Product(
            name=saved.name,
            sku="T-2",
            price=price,
            reorder_level=reorder_level,
            is_active=is_active,
            created_at=created_at,
        )
        with CaptureQueriesContext(connection) as queries:
            rows_insert([bulk])
        assert len(queries.captured_queries) == 1
        assert bulk.pk is not None
        assert bulk._state.adding is False

        mine, theirs = _stored(bulk.pk), _stored(saved.pk)
        assert {**mine, "sku": None} == {**theirs, "sku": None}
        assert mine["price"] == Decimal("3.50")
        assert mine["is_active"] is True

        bulk.name, bulk.cost, bulk.barcode = "Green tea", "1.20", None
        assert rows_update([bulk], fields=["name", "cost", "barcode"]) == 1
        updated = _stored(bulk.pk)
        assert (updated["name"], updated["cost"], updated["barcode"]) == (
            "Green tea", Decimal("1.20"), None,
        )  # fmt: skip


def test_many_rows_keep_their_order_and_choices_and_keys_are_written(store_a):
    with tenant_context(store_a.store):
        products = [product_create(name=f"P{n}", price=Decimal(n)) for n in range(1, 4)]
        movements = [
            StockMovement(
                product_id=product.pk,
                delta=Decimal(n),
                reason=StockMovement.Reason.COUNT,
                note="",
                created_by=store_a.owner,
                created_at=now(),
            )
            for n, product in enumerate(products, start=1)
        ]
        rows_insert(movements)

        stored = list(
            StockMovement.objects.filter(pk__in=[m.pk for m in movements])
            .order_by("pk")
            .values_list("product_id", "delta", "reason", "created_by_id")
        )
        assert stored == [
            (product.pk, Decimal(n), "count", store_a.owner.pk)
            for n, product in enumerate(products, start=1)
        ]
        assert rows_insert([]) is None
        assert rows_update([], fields=["name"]) == 0


@pytest.mark.usefixtures("committed_stores")
def test_a_bulk_statement_first_on_a_connection_runs_in_the_active_stores_schema():
    """Its cursor is made beside Django's, which is where django-tenants sets the path: a bulk
    statement first on a new connection, or first after a switch of store, must set it too."""
    alpha = make_store("tenant_test_alpha", name="Alpha")
    beta = make_store("tenant_test_beta", name="Beta")
    for first, then in ((alpha, beta), (beta, alpha)):
        connection.close()
        with tenant_context(then.store), transaction.atomic():
            rows_insert([Product(name=then.store.name, price=Decimal(1), created_at=now())])
        with tenant_context(first.store):
            Product.objects.exists()  # the connection's path is this store's now
        with tenant_context(then.store), transaction.atomic():
            event_emit(PRODUCT_CHANGED, {"store": then.store.name})

    for staffed in (alpha, beta):
        with tenant_context(staffed.store):
            assert list(Product.objects.values_list("name", flat=True)) == [staffed.store.name]
            assert [e.data for e in Event.objects.all()] == [{"store": staffed.store.name}]


def test_a_parent_and_its_children_are_inserted_in_one_statement_each_child_keyed_to_it(store_a):
    with tenant_context(store_a.store):
        category = Category(name="Tea", created_at=now())
        teas = [Product(name=f"Tea {n}", price=Decimal(n), created_at=now()) for n in (3, 1, 2)]
        assert not Category.objects.exists()  # the store's path is set

        with CaptureQueriesContext(connection) as queries:
            rows_insert_family(category, [(teas, "category"), ([], "category")])

        assert len(queries.captured_queries) == 1
        assert Category.objects.get(pk=category.pk).name == "Tea"
        stored = list(
            Product.objects.filter(category=category).order_by("pk").values_list("pk", "name")
        )
        assert stored == [(tea.pk, tea.name) for tea in teas]  # keys in the objects' order
        assert all(tea.category_id == category.pk and tea.category is category for tea in teas)
        assert all(tea._state.adding is False for tea in [*teas, category])


def test_a_value_the_column_cannot_hold_is_refused_as_a_save_would_refuse_it(store_a):
    with tenant_context(store_a.store):
        too_long = Product(name="T" * 201, price=Decimal(1), created_at=now())
        with pytest.raises(DataError), transaction.atomic():
            rows_insert([too_long])  # never cut to the column's 200 characters
        with pytest.raises(ValidationError), transaction.atomic():
            rows_insert([Product(name="Tea", price=Decimal("NaN"), created_at=now())])
        with pytest.raises(ValueError, match="sequence"):
            rows_insert([Product(name="Tea", price=Decimal(1))], fields=["id", "name"])
        assert not Product.objects.exists()


def test_a_statement_alongside_runs_when_there_is_nothing_to_insert(store_a):
    with tenant_context(store_a.store):
        tea = product_create(name="Tea", price=Decimal(1))
        rows_insert(
            [], alongside=("UPDATE catalog_product SET name = %s WHERE id = %s", ["Green", tea.pk])
        )
        tea.refresh_from_db()
        assert tea.name == "Green"


def test_a_parents_value_given_as_sql_is_read_from_the_callers_cte_and_returned(store_a):
    with tenant_context(store_a.store):
        category = Category(name="unused", created_at=now())
        teas = [Product(name="Tea", price=Decimal(1), created_at=now())]
        family = family_insert(
            category, [(teas, "category")], given={"name": "src.name"}, given_from="src"
        )
        with pytest.raises(ValueError, match="given_from"):
            family_insert(category, [], given={"name": "src.name"})

        with bound_cursor() as cursor:
            cursor.execute(
                f"WITH src AS (SELECT %s::text AS name), {', '.join(family.ctes)} "
                f"SELECT {', '.join(family.selects)}, (SELECT name FROM parent)",
                ["Green", *family.params],
            )
            *keys, name = cursor.fetchone()
        family.saved(keys)

        assert name == "Green"
        assert Category.objects.get(pk=category.pk).name == "Green"
        assert Product.objects.get(pk=teas[0].pk).category_id == category.pk
