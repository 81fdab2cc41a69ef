"""GET /api/catalog/changes/: what changed since a cursor, in pages, never missing a change,
even while the catalog is being written."""

import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from catalog.models import Category, Product
from catalog.services import (
    category_create,
    category_delete,
    prices_at,
    product_create,
    product_delete,
    product_update,
    stock_adjust,
)
from tests.conftest import access_token, make_store
from tests.sales.test_concurrency import api

CHANGES = "/api/catalog/changes/"


def follow(client, cursor: str | None = None, limit: int = 200) -> tuple[list[dict], str]:
    """Every page from `cursor` on: the answers, and the last cursor."""
    pages = []
    while True:
        params = {"limit": limit} if cursor is None else {"since": cursor, "limit": limit}
        response = client.get(CHANGES, params)
        assert response.status_code == 200, response.content
        page = response.json()
        pages.append(page)
        cursor = page["cursor"]
        if not page["has_more"]:
            return pages, cursor


def apply(copy: dict, pages: list[dict]) -> dict:
    """A till's copy of the catalog, brought up to date by the pages."""
    products, categories = copy.setdefault("products", {}), copy.setdefault("categories", {})
    for page in pages:
        for product in page["products"]:
            products[product["id"]] = (product["name"], product["price"], product["is_active"])
        for category in page["categories"]:
            categories[category["id"]] = (category["name"], category["parent"])
        for pk in page["deleted"]["products"]:
            products.pop(pk, None)
        for pk in page["deleted"]["categories"]:
            categories.pop(pk, None)
    return copy


def catalog_now(store) -> dict:
    with tenant_context(store):
        return {
            "products": {
                pk: (name, f"{price:.2f}", active)
                for pk, name, price, active in Product.objects.values_list(
                    "pk", "name", "price", "is_active"
                )
            },
            "categories": {
                pk: (name, parent)
                for pk, name, parent in Category.objects.values_list("pk", "name", "parent_id")
            },
        }


def test_the_first_call_is_the_whole_catalog_and_the_next_only_what_changed(store_a, client_for):
    client = client_for(store_a.cashier, store_a.store)
    with tenant_context(store_a.store):
        drinks = category_create(name="Drinks")
        water = product_create(name="Water", price=Decimal("1.00"), category=drinks)
        tea = product_create(name="Tea", price=Decimal("2.00"))
        gone = product_create(name="Gone soon", price=Decimal("3.00"))

    pages, cursor = follow(client)
    assert len(pages) == 1
    assert [p["name"] for p in pages[0]["products"]] == ["Water", "Tea", "Gone soon"]
    assert [c["name"] for c in pages[0]["categories"]] == ["Drinks"]

    gone_id = gone.pk
    with tenant_context(store_a.store):
        product_update(product=tea, price=Decimal("2.50"))
        stock_adjust(product=water, delta=Decimal("5"), reason="restock", user=None)  # not one
        product_delete(product=gone)  # never sold: deleted
        stock_adjust(product=water, delta=Decimal("-1"), reason="damage", user=None)
        product_delete(product=water)  # has history: deactivated
        empty = category_create(name="Empty")
        empty_id = empty.pk
        category_delete(category=empty)

    later, _ = follow(client, cursor)
    (page,) = later
    assert [(p["name"], p["price"], p["is_active"]) for p in page["products"]] == [
        ("Tea", "2.50", True),
        ("Water", "1.00", False),
    ]
    assert page["categories"] == []  # made and deleted in between: only the deletion
    assert page["deleted"] == {"products": [gone_id], "categories": [empty_id]}
    assert apply(apply({}, pages), later) == catalog_now(store_a.store)


def test_pages_cover_every_change_once(store_a, client_for):
    client = client_for(store_a.cashier, store_a.store)
    with tenant_context(store_a.store):
        for number in range(7):
            product_create(name=f"P{number}", price=Decimal("1.00"))
        category_create(name="C")

    pages, _ = follow(client, limit=3)

    assert [len(p["products"]) + len(p["categories"]) for p in pages] == [3, 3, 2]
    assert [p["has_more"] for p in pages] == [True, True, False]
    names = [p["name"] for page in pages for p in page["products"]]
    assert names == [f"P{number}" for number in range(7)]


def test_nothing_new_is_an_empty_page_with_the_same_cursor_in_constant_statements(
    store_a, client_for
):
    client = client_for(store_a.cashier, store_a.store)
    with tenant_context(store_a.store):
        for number in range(30):
            product_create(name=f"P{number}", price=Decimal("1.00"))
    _, cursor = follow(client)

    with CaptureQueriesContext(connection) as small:
        empty = client.get(CHANGES, {"since": cursor}).json()
    with tenant_context(store_a.store):
        for number in range(300):
            product_create(name=f"Q{number}", price=Decimal("1.00"))
    with CaptureQueriesContext(connection) as page:
        full = client.get(CHANGES, {"since": cursor, "limit": 1000}).json()
    with CaptureQueriesContext(connection) as large:
        client.get(CHANGES, {"since": full["cursor"]})

    assert empty == {
        "products": [],
        "categories": [],
        "deleted": {"products": [], "categories": []},
        "cursor": cursor,
        "has_more": False,
    }
    assert len(full["products"]) == 300
    assert len(small.captured_queries) == len(large.captured_queries)
    # a page of changes costs three queries more, whatever its size
    assert len(page.captured_queries) == len(small.captured_queries) + 3


@pytest.mark.parametrize(
    "params",
    [
        {"since": "not-a-cursor"},
        {"since": "eyJ2IjoxLCJuIjotNX0"},  # a negative number
        {"since": "eyJ2IjoyLCJuIjo1fQ"},  # another version
        {"since": "x" * 201},
        {"limit": 0},
        {"limit": 1001},
    ],
)
def test_a_bad_cursor_or_limit_is_a_400(store_a, client_for, params):
    response = client_for(store_a.cashier, store_a.store).get(CHANGES, params)

    assert response.status_code == 400
    assert set(response.json()) <= {"since", "limit"}


def test_another_stores_member_sees_nothing(store_a, store_b, client_for):
    assert client_for(store_b.owner, store_a.store).get(CHANGES).status_code == 403


@pytest.mark.usefixtures("committed_stores")
def test_a_reader_following_cursors_while_the_catalog_is_written_ends_with_its_state():
    staffed = make_store("tenant_test_alpha", name="Busy Catalog")
    token = access_token(staffed.cashier)
    stop = threading.Event()
    errors: list[Exception] = []
    writes = [0, 0, 0]

    def writer(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311 - a test's repeatable choices
        try:
            with tenant_context(staffed.store):
                mine = []
                while not stop.is_set():
                    roll = rng.random()
                    if roll < 0.5 or not mine:
                        mine.append(
                            product_create(name=f"W{seed}-{rng.random():.6f}", price=Decimal("1"))
                        )
                    elif roll < 0.85:
                        product = rng.choice(mine)
                        product_update(product=product, price=Decimal(rng.randint(1, 999)) / 100)
                    else:
                        product_delete(product=mine.pop(rng.randrange(len(mine))))
                    writes[seed] += 1
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(3)]
    for thread in writers:
        thread.start()
    reader = api(token, staffed.store)
    copy: dict = {}
    cursor = None
    # Reads and writes interleaved for a while, however slow the machine: enough of both.
    deadline = time.monotonic() + 60
    calls = 0
    try:
        while (calls < 30 or sum(writes) < 90) and time.monotonic() < deadline:
            pages, cursor = follow(reader, cursor, limit=7)
            apply(copy, pages)
            calls += len(pages)
    finally:
        stop.set()
        for thread in writers:
            thread.join(60)
    pages, cursor = follow(reader, cursor, limit=7)
    apply(copy, pages)

    assert errors == []
    assert calls >= 30
    assert sum(writes) >= 90
    state = catalog_now(staffed.store)
    assert len(state["products"]) > 10
    assert copy["products"] == state["products"]


@pytest.mark.usefixtures("committed_stores")
def test_changes_committed_between_the_pages_queries_are_not_skipped():
    """A product repriced and another deleted, both committed while a page is being read
    (after its product query, before its deletions query): the next pages bring both."""
    staffed = make_store("tenant_test_alpha", name="Racing Catalog")
    with tenant_context(staffed.store):
        kept = product_create(name="Kept", price=Decimal("1.00"))
        doomed = product_create(name="Doomed", price=Decimal("1.00"))
        doomed_id = doomed.pk
    reader = api(access_token(staffed.cashier), staffed.store)
    _, cursor = follow(reader)
    with tenant_context(staffed.store):
        product_update(product=kept, price=Decimal("1.50"))  # a change the page will see

    def write_meanwhile() -> None:
        try:
            with tenant_context(staffed.store):
                product_update(product=Product.objects.get(pk=kept.pk), price=Decimal("2.00"))
                product_delete(product=Product.objects.get(pk=doomed_id))
        finally:
            connection.close()

    def between(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if 'FROM "catalog_product"' in sql and "version" in sql:
            writer = threading.Thread(target=write_meanwhile)
            writer.start()
            writer.join(30)
        return result

    with connection.execute_wrapper(between):
        racing = reader.get(CHANGES, {"since": cursor}).json()
    rest, _ = follow(reader, racing["cursor"])

    # the till's copy had both products; the pages since bring it to the catalog's state
    copy = apply({"products": {kept.pk: None, doomed_id: None}}, [racing, *rest])
    assert (
        copy["products"]
        == catalog_now(staffed.store)["products"]
        == {kept.pk: ("Kept", "2.00", True)}
    )


def test_rows_without_a_change_number_page_without_a_gap(store_a, client_for):
    """Rows written without a number (0, as from before numbers): pages never cut a number."""
    with tenant_context(store_a.store):
        for number in range(5):
            Product.objects.create(name=f"Old {number}", price=Decimal("1.00"))
        product_create(name="New", price=Decimal("1.00"))

    pages, _ = follow(client_for(store_a.cashier, store_a.store), limit=2)

    names = [product["name"] for page in pages for product in page["products"]]
    assert sorted(names) == sorted([f"Old {number}" for number in range(5)] + ["New"])
    assert len(names) == len(set(names))


def test_the_price_before_the_first_recorded_change_is_kept(store_a):
    with tenant_context(store_a.store):
        product = Product.objects.create(name="Old", price=Decimal("2.00"))  # no history
        product_update(product=product, price=Decimal("3.00"))
        then = prices_at(products=[product], moment=product.created_at)
    assert then == {product.pk: Decimal("2.00")}
