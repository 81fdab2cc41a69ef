"""Hostile input is a quick JSON 4xx and changes nothing: ids, days, pages, nesting, overflow.

Each test is one class of input found by probing the running API; the mechanisms are in
`core` (filters, fields, parsers, exceptions), so every endpoint gets them.
"""

import json
import time
from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from catalog.models import Product, StockMovement
from customers.models import Customer
from sales.models import Sale
from tests.catalog.factories import ProductFactory
from tests.conftest import StoreWithStaff

# Turning "-1e300000" into an integer took minutes; a bounded parse answers in microseconds.
QUICK_SECONDS = 1.0
HUGE_NUMBERS = ["-1e300000", "1e300000", "9" * 5000, "1.5", "0", "-3", str(2**63), "NaN"]
ID_FILTERS = [
    ("/api/sales/", "register"),
    ("/api/sales/", "shift"),
    ("/api/sales/", "customer"),
    ("/api/sales/shifts/", "register"),
    ("/api/catalog/products/", "category"),
    ("/api/catalog/stock-movements/", "product"),
    ("/api/catalog/categories/", "parent"),
]


def timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


@pytest.fixture
def owner(store_a: StoreWithStaff, client_for) -> APIClient:
    return client_for(store_a.owner, store_a.store)


@pytest.mark.parametrize(("url", "name"), ID_FILTERS)
@pytest.mark.parametrize("value", HUGE_NUMBERS)
def test_an_id_filter_out_of_range_is_a_quick_400(owner, url, name, value):
    response, seconds = timed(lambda: owner.get(url, {name: value}))

    assert response.status_code == 400, response.content[:200]
    assert list(response.json()) == [name]
    assert seconds < QUICK_SECONDS


@pytest.mark.parametrize(("url", "name"), ID_FILTERS)
def test_the_largest_bigint_is_a_valid_id_that_matches_nothing(owner, url, name):
    response = owner.get(url, {name: str(2**63 - 1)})

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/api/sales/", {"to": "9999-12-31"}),
        ("/api/sales/", {"from": "0001-01-05"}),
        ("/api/sales/", {"from": "1899-12-31"}),
        ("/api/analytics/summary/", {"to": "9999-12-31"}),
        ("/api/analytics/summary/", {"from": "0001-01-01", "to": "0001-01-05"}),
    ],
)
def test_a_day_at_the_calendars_edge_is_a_400(owner, url, query):
    response = owner.get(url, query)

    assert response.status_code == 400
    assert response.json() == {name: ["Days run from 1900-01-01 to 9998-12-31."] for name in query}


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/api/sales/", {"from": "1900-01-01", "to": "9998-12-31"}),
        ("/api/analytics/summary/", {"from": "9998-12-01", "to": "9998-12-31"}),
        ("/api/analytics/summary/", {"from": "1900-01-01", "to": "1900-01-31"}),
    ],
)
def test_the_first_and_last_days_are_answered(store_a, client_for, url, query):
    store_a.store.timezone = "Pacific/Kiritimati"  # UTC+14: the last day's midnight is late
    store_a.store.save()

    response = client_for(store_a.owner, store_a.store).get(url, query)

    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("page", ["99999999999999999999", "1e300000", "9" * 5000, "-1", "0"])
def test_a_page_beyond_any_count_is_a_json_404(owner, page):
    response, seconds = timed(lambda: owner.get("/api/sales/", {"page": page}))

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page.", "code": "not_found"}
    assert seconds < QUICK_SECONDS


def test_a_page_size_beyond_any_count_is_the_maximum(owner):
    response = owner.get("/api/sales/", {"page_size": "1e300000"})

    assert response.status_code == 200


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("url", "authenticated"),
    [("/api/stores/signup/", False), ("/api/auth/token/", False), ("/api/sales/", True)],
)
def test_deeply_nested_json_is_a_quick_400_anywhere(owner, url, authenticated):
    client = owner if authenticated else APIClient()
    body = nested(100_000)  # 200 kB

    response, seconds = timed(lambda: client.post(url, body, content_type="application/json"))

    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - nested more than 32 deep.",
        "code": "parse_error",
    }
    assert seconds < QUICK_SECONDS


def test_json_nested_just_past_the_limit_is_refused_and_within_it_read(owner):
    too_deep = json.dumps({"register": 1, "lines": json.loads(nested(32))})
    within = json.dumps({"register": 1, "lines": json.loads(nested(30))})

    refused = owner.post("/api/sales/", too_deep, content_type="application/json")
    read = owner.post("/api/sales/", within, content_type="application/json")

    assert refused.status_code == 400
    assert refused.json()["code"] == "parse_error"
    assert read.status_code == 400
    assert "lines" in read.json()  # a field error: the body was read


@pytest.mark.parametrize("register", [2**31, 2**40, 2**63 - 1])
def test_a_register_id_past_an_integer_is_a_400_not_a_500(owner, register):
    opened = owner.post("/api/sales/shifts/", {"register": register, "opening_cash": "0"})
    sold = owner.post(
        "/api/sales/",
        {
            "register": register,
            "lines": [{"product": 1, "quantity": "1"}],
            "payments": [{"method": "cash", "amount": "1"}],
        },
    )

    assert opened.status_code == 400
    assert opened.json() == {"register": ["No active register has this id."]}
    assert sold.status_code == 400
    assert sold.json() == {"register": ["No register has this id."]}


@pytest.mark.parametrize("register", [2**63, -(2**63) - 1])
def test_an_id_past_a_bigint_is_refused_by_the_field(owner, register):
    response = owner.post("/api/sales/shifts/", {"register": register, "opening_cash": "0"})

    assert response.status_code == 400
    assert list(response.json()) == ["register"]


def test_stock_past_what_the_column_holds_is_409_and_changes_nothing(store_a, owner):
    with tenant_context(store_a.store):
        product = ProductFactory()
    url = f"/api/catalog/products/{product.pk}/adjust-stock/"
    first = owner.post(url, {"delta": "999999999.999", "reason": "restock"})

    second = owner.post(url, {"delta": "999999999.999", "reason": "restock"})

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json() == {
        "detail": "Stock stays within ±999999999.999; these changes would take it beyond.",
        "code": "stock_out_of_range",
        "products": [
            {"id": product.pk, "requested": "999999999.999", "available": "999999999.999"}
        ],
    }
    with tenant_context(store_a.store):
        assert Product.objects.get().stock == Decimal("999999999.999")
        assert StockMovement.objects.count() == 1


def test_a_customer_whose_total_would_overflow_is_409_and_nothing_is_written(store_a, owner):
    with tenant_context(store_a.store):
        ProductFactory(price=Decimal("9999999999.99"), tax_rate=Decimal("0"), stock="10")
        customer = Customer.objects.create(
            name="Whale", total_spent=Decimal("999999999999.0000"), visits=7
        )
    owner.post("/api/sales/shifts/", {"register": 1, "opening_cash": "0"})

    response = owner.post(
        "/api/sales/",
        {
            "register": 1,
            "customer": customer.pk,
            "lines": [{"product": 1, "quantity": "1"}],
            "payments": [{"method": "card", "amount": "9999999999.99"}],
        },
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This customer's total spent would pass 999999999999.9999, the most Kassa keeps.",
        "code": "value_out_of_range",
    }
    with tenant_context(store_a.store):
        assert Sale.objects.count() == 0
        assert Product.objects.get().stock == Decimal("10")
        assert Customer.objects.get().visits == 7


def test_a_sale_past_the_money_columns_is_400(store_a, owner):
    with tenant_context(store_a.store):
        ProductFactory(price=Decimal("9999999999.99"), tax_rate=Decimal("0"), stock="10")
    owner.post("/api/sales/shifts/", {"register": 1, "opening_cash": "0"})

    response = owner.post(
        "/api/sales/",
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "2"}],
            "payments": [{"method": "card", "amount": "1"}],
        },
    )

    assert response.status_code == 400
    with tenant_context(store_a.store):
        assert Sale.objects.count() == 0
    assert connection.schema_name == "public"
