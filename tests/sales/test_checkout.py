"""Checkout over HTTP (POST /api/sales/): pricing, validation, roles, idempotency, statements."""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from django_tenants.utils import schema_context
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from catalog.models import Product, StockMovement
from catalog.services import stock_adjust
from customers.models import Customer
from sales.models import Counter, IdempotencyKey, Sale, SaleLine, SalePayment, Shift
from tests.catalog.factories import ProductFactory
from tests.conftest import StoreWithStaff

SALES = "/api/sales/"
SHIFTS = "/api/sales/shifts/"
ROLES = ("owner", "manager", "cashier")

PERMISSION_DENIED_PRICE = {
    "detail": "Only an owner or a manager may change a line's unit price.",
    "code": "permission_denied",
}
NOT_A_MEMBER = {"detail": "You are not a member of this store.", "code": "not_a_member"}
NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}
SHIFT_NOT_OPEN = {"detail": "This register has no open shift.", "code": "shift_not_open"}
KEY_REUSED = {
    "detail": "This Idempotency-Key was used with a different request.",
    "code": "idempotency_key_reused",
}
INVALID_KEY = {
    "detail": "An Idempotency-Key is 1 to 255 printable ASCII characters.",
    "code": "invalid_idempotency_key",
}
INSUFFICIENT_STOCK_DETAIL = "Not enough stock."

ClientFor = Callable[..., APIClient]


# --- Helpers --------------------------------------------------------------------------------


def make_products(staffed: StoreWithStaff, *specs: dict) -> list[Product]:
    """Products in the store's schema; a spec's `stock` is given through stock_adjust."""
    with schema_context(staffed.store.schema_name):
        return [ProductFactory(**spec) for spec in specs]


def make_customer(staffed: StoreWithStaff, name: str = "Olga") -> Customer:
    with schema_context(staffed.store.schema_name):
        return Customer.objects.create(name=name)


def open_shift(client: APIClient, register: int = 1) -> dict:
    response = client.post(SHIFTS, {"register": register, "opening_cash": "100.00"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def checkout(client: APIClient, body: dict, key: str | None = None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(SALES, body, format="json", **headers)


def simple_sale(product: int = 1, quantity: str = "1", cash: str = "100.00") -> dict:
    return {
        "register": 1,
        "lines": [{"product": product, "quantity": quantity}],
        "payments": [{"method": "cash", "amount": cash}],
    }


def snapshot(staffed: StoreWithStaff) -> dict:
    """Everything a checkout writes, as stored: a refused checkout leaves all of it unchanged."""
    with schema_context(staffed.store.schema_name):
        return {
            "sales": list(Sale.objects.order_by("id").values()),
            "lines": list(SaleLine.objects.order_by("id").values()),
            "payments": list(SalePayment.objects.order_by("id").values()),
            "movements": list(StockMovement.objects.order_by("id").values()),
            "stock": dict(Product.objects.values_list("id", "stock")),
            "counters": dict(Counter.objects.values_list("name", "value")),
            "customers": list(
                Customer.objects.order_by("id").values(
                    "id", "total_spent", "visits", "last_purchase_at"
                )
            ),
            "keys": list(IdempotencyKey.objects.order_by("id").values()),
        }


def stock_of(staffed: StoreWithStaff) -> dict[int, Decimal]:
    with schema_context(staffed.store.schema_name):
        return dict(Product.objects.order_by("id").values_list("id", "stock"))


def sale_movements(staffed: StoreWithStaff) -> list[tuple]:
    with schema_context(staffed.store.schema_name):
        return list(
            StockMovement.objects.filter(reason="sale")
            .order_by("id")
            .values_list("product_id", "delta", "reason", "sale_id", "refund_id", "created_by_id")
        )


def sale_count(staffed: StoreWithStaff) -> int:
    with schema_context(staffed.store.schema_name):
        return Sale.objects.count()


def as_api_time(value: datetime) -> str:
    return DateTimeField().to_representation(value)


@pytest.fixture
def shop(store_a: StoreWithStaff, client_for: ClientFor) -> StoreWithStaff:
    """store_a with an open shift on register 1 and two products with stock 10 and 5."""
    make_products(
        store_a,
        {"name": "Milk 1L", "sku": "MILK-1", "price": Decimal("9.99"), "tax_rate": "20.00",
         "stock": "10"},
        {"name": "Cheese by weight", "price": Decimal("12.99"), "tax_rate": "10.00",
         "stock": "5"},
    )  # fmt: skip
    open_shift(client_for(store_a.owner, store_a.store))
    return store_a


# --- The full checkout ----------------------------------------------------------------------


def test_a_full_checkout_answers_the_contract_shape(shop, client_for):
    # given two products, an open shift and an owner at the till
    client = client_for(shop.owner, shop.store)
    body = {
        "register": 1,
        "customer": None,
        "lines": [
            {"product": 1, "quantity": "2", "discount": "0.00"},
            {"product": 2, "quantity": "0.250", "unit_price": "12.00", "discount": "0.25"},
        ],
        "payments": [{"method": "cash", "amount": "20.00"}, {"method": "card", "amount": "5.00"}],
        "note": "Thank you",
    }

    # when
    response = checkout(client, body)

    # then: 2 × 9.99 = 19.98 incl. 20 % = 3.33; 0.250 × 12.00 − 0.25 = 2.75 incl. 10 % = 0.25
    assert response.status_code == 201, response.content
    with schema_context(shop.store.schema_name):
        created_at = Sale.objects.get(pk=1).created_at
    assert response.json() == {
        "id": 1,
        "number": 1,
        "status": "completed",
        "created_at": as_api_time(created_at),
        "register": 1,
        "shift": 1,
        "cashier": {"id": shop.owner.id, "email": shop.owner.email},
        "customer": None,
        "lines": [
            {
                "id": 1,
                "product": 1,
                "name": "Milk 1L",
                "sku": "MILK-1",
                "quantity": "2.000",
                "unit_price": "9.99",
                "discount": "0.00",
                "tax_rate": "20.00",
                "tax_amount": "3.33",
                "total": "19.98",
                "refunded_quantity": "0.000",
            },
            {
                "id": 2,
                "product": 2,
                "name": "Cheese by weight",
                "sku": "",
                "quantity": "0.250",
                "unit_price": "12.00",
                "discount": "0.25",
                "tax_rate": "10.00",
                "tax_amount": "0.25",
                "total": "2.75",
                "refunded_quantity": "0.000",
            },
        ],
        "subtotal": "22.98",
        "discount_total": "0.25",
        "tax_total": "3.58",
        "total": "22.73",
        "payments": [{"method": "cash", "amount": "20.00"}, {"method": "card", "amount": "5.00"}],
        "paid_total": "25.00",
        "change_due": "2.27",
        "cash_rounding": "0.00",
        "refunded_total": "0.00",
        "prices_include_tax": True,
        "note": "Thank you",
        "client_id": None,
        "occurred_at": as_api_time(created_at),
        "offline_number": "",
        "source": "online",
        "late": False,
    }
    assert datetime.fromisoformat(response.json()["created_at"]).tzinfo is not None
    # and the sale reads back exactly as it was answered
    assert client.get(f"{SALES}1/").json() == response.json()


def test_a_checkout_without_tax_in_prices_adds_the_tax_on_top(store_a, client_for):
    # given a store whose prices exclude tax
    store_a.store.prices_include_tax = False
    store_a.store.save()
    make_products(store_a, {"price": Decimal("9.99"), "tax_rate": "20.00", "stock": "10"})
    client = client_for(store_a.cashier, store_a.store)
    open_shift(client)

    # when: 2 × 9.99 = 19.98, tax 3.996 → 4.00 on top
    response = checkout(client, simple_sale(quantity="2", cash="30.00"))

    # then
    assert response.status_code == 201, response.content
    sale = response.json()
    assert sale["lines"][0]["total"] == "19.98"
    assert sale["lines"][0]["tax_amount"] == "4.00"
    assert {key: sale[key] for key in ("subtotal", "discount_total", "tax_total", "total")} == {
        "subtotal": "19.98",
        "discount_total": "0.00",
        "tax_total": "4.00",
        "total": "23.98",
    }
    assert (sale["paid_total"], sale["change_due"], sale["prices_include_tax"]) == (
        "30.00",
        "6.02",
        False,
    )


def test_sale_numbers_run_per_store(store_a, store_b, client_for):
    # given both stores with a product and an open shift
    clients = {}
    for staffed in (store_a, store_b):
        make_products(staffed, {"price": Decimal("1.00"), "stock": "100"})
        clients[staffed.store.schema_name] = client_for(staffed.cashier, staffed.store)
        open_shift(clients[staffed.store.schema_name])
    alpha = clients[store_a.store.schema_name]
    beta = clients[store_b.store.schema_name]

    # when sales interleave between the stores
    numbers = [
        (name, checkout(client, simple_sale(cash="1.00")).json()["number"])
        for name, client in (("a", alpha), ("b", beta), ("a", alpha), ("a", alpha), ("b", beta))
    ]

    # then each store counts on its own
    assert numbers == [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)]
    assert sale_count(store_a) == 3
    assert sale_count(store_b) == 2


def test_a_checkout_takes_stock_with_one_movement_per_line(shop, client_for):
    # given
    client = client_for(shop.cashier, shop.store)
    body = {
        "register": 1,
        "lines": [
            {"product": 2, "quantity": "1.500"},
            {"product": 1, "quantity": "3"},
            {"product": 2, "quantity": "0.250"},
        ],
        "payments": [{"method": "cash", "amount": "100.00"}],
    }

    # when
    response = checkout(client, body)

    # then
    assert response.status_code == 201, response.content
    assert stock_of(shop) == {1: Decimal("7.000"), 2: Decimal("3.250")}
    assert sale_movements(shop) == [
        (2, Decimal("-1.500"), "sale", 1, None, shop.cashier.id),
        (1, Decimal("-3.000"), "sale", 1, None, shop.cashier.id),
        (2, Decimal("-0.250"), "sale", 1, None, shop.cashier.id),
    ]


def test_a_checkout_for_a_customer_updates_their_aggregates(shop, client_for):
    # given a customer who has bought nothing yet
    customer = make_customer(shop)
    client = client_for(shop.cashier, shop.store)

    # when they buy twice
    first = checkout(client, {**simple_sale(quantity="2", cash="20.00"), "customer": customer.id})
    second = checkout(client, {**simple_sale(product=2, cash="20.00"), "customer": customer.id})

    # then
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["customer"] == customer.id
    with schema_context(shop.store.schema_name):
        customer.refresh_from_db()
        last_sale = Sale.objects.get(pk=2)
    assert customer.total_spent == Decimal("32.97")  # 19.98 + 12.99
    assert customer.visits == 2
    assert customer.last_purchase_at == last_sale.created_at


# --- Roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_member_checks_out_at_the_product_price(shop, client_for, role):
    client = client_for(shop.member(role), shop.store)

    defaulted = checkout(client, simple_sale())
    stated = checkout(
        client,
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1", "unit_price": "9.99"}],
            "payments": [{"method": "card", "amount": "9.99"}],
        },
    )

    assert (defaulted.status_code, stated.status_code) == (201, 201)
    assert defaulted.json()["cashier"] == {
        "id": shop.member(role).id,
        "email": shop.member(role).email,
    }
    assert [sale.json()["lines"][0]["unit_price"] for sale in (defaulted, stated)] == [
        "9.99",
        "9.99",
    ]
    assert [sale.json()["number"] for sale in (defaulted, stated)] == [1, 2]


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_override_the_price(shop, client_for, role):
    client = client_for(shop.member(role), shop.store)
    body = {
        "register": 1,
        "lines": [{"product": 1, "quantity": "2", "unit_price": "5.00"}],
        "payments": [{"method": "cash", "amount": "10.00"}],
    }

    response = checkout(client, body)

    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["unit_price"] == "5.00"
    assert response.json()["lines"][0]["total"] == "10.00"
    assert response.json()["total"] == "10.00"


@pytest.mark.parametrize("unit_price", ["9.98", "10.00", "0.00"])
def test_a_cashier_may_not_override_the_price(shop, client_for, unit_price):
    # given
    client = client_for(shop.cashier, shop.store)
    before = snapshot(shop)
    body = {
        "register": 1,
        "lines": [
            {"product": 2, "quantity": "1"},
            {"product": 1, "quantity": "1", "unit_price": unit_price},
        ],
        "payments": [{"method": "cash", "amount": "50.00"}],
    }

    # when
    response = checkout(client, body)

    # then
    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED_PRICE
    assert snapshot(shop) == before
    assert checkout(client, simple_sale()).json()["number"] == 1


def discounted_sale(discount: str, cash: str = "50.00") -> dict:
    """2 × product 1 (9.99: 19.98 for the line) less `discount`."""
    return {
        "register": 1,
        "lines": [{"product": 1, "quantity": "2", "discount": discount}],
        "payments": [{"method": "cash", "amount": cash}],
    }


@pytest.mark.parametrize(
    ("allowed", "discount"), [("10", "1.99"), ("10", "1.00"), ("100", "19.98")]
)
def test_a_cashier_discounts_within_the_stores_allowance(shop, client_for, allowed, discount):
    """10 % of 19.98 is 1.998: 1.99 is within it."""
    shop.store.cashier_max_discount_percent = Decimal(allowed)
    shop.store.save()

    response = checkout(client_for(shop.cashier, shop.store), discounted_sale(discount))

    assert response.status_code == 201, response.json()
    assert response.json()["discount_total"] == discount


@pytest.mark.parametrize(
    ("allowed", "discount"), [("0", "0.01"), ("10", "2.00"), ("99.9", "19.98")]
)
def test_a_cashier_may_not_discount_beyond_the_stores_allowance(
    shop, client_for, allowed, discount
):
    shop.store.cashier_max_discount_percent = Decimal(allowed)
    shop.store.save()
    before = snapshot(shop)

    response = checkout(client_for(shop.cashier, shop.store), discounted_sale(discount))

    assert response.status_code == 403
    assert response.json() == {
        "detail": f"A cashier may take at most {Decimal(allowed):.2f} % off a line.",
        "code": "permission_denied",
    }
    assert snapshot(shop) == before


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_discount_beyond_the_cashiers_allowance(shop, client_for, role):
    response = checkout(
        client_for(shop.member(role), shop.store), discounted_sale("19.98", cash="1.00")
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["total"], response.json()["change_due"]) == ("0.00", "1.00")


def test_a_member_of_another_store_may_not_check_out(shop, store_b, client_for):
    before = snapshot(shop)

    response = checkout(client_for(store_b.owner, shop.store), simple_sale())

    assert response.status_code == 403
    assert response.json() == NOT_A_MEMBER
    assert snapshot(shop) == before


def test_an_anonymous_checkout_is_401(shop, client_for):
    before = snapshot(shop)

    response = checkout(client_for(None, shop.store), simple_sale())

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert snapshot(shop) == before


# --- Bad input ------------------------------------------------------------------------------


def line_error(errors: dict, index: int = 0) -> dict:
    """DRF's shape for errors in a list (LIST_SERIALIZER_ERRORS_AS_DICT, on by default in the
    DRF installed here): the bad items' errors keyed by their index. The service's own line
    errors (unknown or inactive product, discount too big) must come in the serializer's shape."""
    return {"lines": {str(index): errors}}


def payment_error(errors: dict, index: int = 0) -> dict:
    return {"payments": {str(index): errors}}


BAD_CHECKOUTS = {
    "empty lines": (
        {"register": 1, "lines": [], "payments": []},
        {"lines": {"non_field_errors": ["This list may not be empty."]}},
    ),
    "no lines": (
        {"register": 1, "payments": []},
        {"lines": ["This field is required."]},
    ),
    "unknown product": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1"}, {"product": 99, "quantity": "1"}],
            "payments": [{"method": "cash", "amount": "50.00"}],
        },
        line_error({"product": ["No active product has this id."]}, index=1),
    ),
    "inactive product": (
        simple_sale(product=3),
        line_error({"product": ["No active product has this id."]}),
    ),
    "zero quantity": (
        simple_sale(quantity="0"),
        line_error({"quantity": ["Ensure this value is greater than or equal to 0.001."]}),
    ),
    "negative quantity": (
        simple_sale(quantity="-1"),
        line_error({"quantity": ["Ensure this value is greater than or equal to 0.001."]}),
    ),
    "four decimals of quantity": (
        simple_sale(quantity="1.2345"),
        line_error({"quantity": ["Ensure that there are no more than 3 decimal places."]}),
    ),
    "negative unit price": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1", "unit_price": "-1.00"}],
            "payments": [{"method": "cash", "amount": "50.00"}],
        },
        line_error({"unit_price": ["Ensure this value is greater than or equal to 0."]}),
    ),
    "negative discount": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1", "discount": "-0.01"}],
            "payments": [{"method": "cash", "amount": "50.00"}],
        },
        line_error({"discount": ["Ensure this value is greater than or equal to 0."]}),
    ),
    "discount above the line amount": (
        {
            "register": 1,
            "lines": [
                {"product": 2, "quantity": "1"},
                {"product": 1, "quantity": "2", "discount": "19.99"},
            ],
            "payments": [{"method": "cash", "amount": "50.00"}],
        },
        line_error({"discount": ["A discount cannot exceed the line amount (19.98)."]}, index=1),
    ),
    "payments short of the total": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "2"}],
            "payments": [
                {"method": "cash", "amount": "10.00"},
                {"method": "card", "amount": "9.97"},
            ],
        },
        {"payments": ["The payments (19.97) do not cover the total (19.98)."]},
    ),
    "no payments": (
        {"register": 1, "lines": [{"product": 1, "quantity": "1"}], "payments": []},
        {"payments": ["The payments (0.00) do not cover the total (9.99)."]},
    ),
    "card over the total": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1"}],
            "payments": [{"method": "card", "amount": "10.00"}],
        },
        {"payments": ["Card and other payments cannot exceed the total (9.99)."]},
    ),
    "card and other over the total": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1"}],
            "payments": [{"method": "card", "amount": "5.00"}, {"method": "other", "amount": "5"}],
        },
        {"payments": ["Card and other payments cannot exceed the total (9.99)."]},
    ),
    "unknown payment method": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1"}],
            "payments": [{"method": "bitcoin", "amount": "10.00"}],
        },
        payment_error({"method": ['"bitcoin" is not a valid choice.']}),
    ),
    "zero payment": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1"}],
            "payments": [{"method": "cash", "amount": "10.00"}, {"method": "card", "amount": "0"}],
        },
        payment_error({"amount": ["Ensure this value is greater than or equal to 0.01."]}, index=1),
    ),
    "three decimals of money": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1"}],
            "payments": [{"method": "cash", "amount": "10.001"}],
        },
        payment_error({"amount": ["EUR amounts have at most 2 decimal places."]}),
    ),
    "quantity abc": (
        simple_sale(quantity="abc"),
        line_error({"quantity": ["A valid number is required."]}),
    ),
    "quantity 1e5": (
        simple_sale(quantity="1e5"),
        line_error({"quantity": ["A valid number is required."]}),
    ),
    "quantity null": (
        simple_sale(quantity=None),
        line_error({"quantity": ["This field may not be null."]}),
    ),
    "quantity NaN": (
        simple_sale(quantity="NaN"),
        line_error({"quantity": ["A valid number is required."]}),
    ),
    "quantity Infinity": (
        simple_sale(quantity="Infinity"),
        line_error({"quantity": ["A valid number is required."]}),
    ),
    "amount abc": (
        simple_sale(cash="abc"),
        payment_error({"amount": ["A valid number is required."]}),
    ),
    "amount 1e5": (
        simple_sale(cash="1e5"),
        payment_error({"amount": ["A valid number is required."]}),
    ),
    "amount null": (
        simple_sale(cash=None),
        payment_error({"amount": ["This field may not be null."]}),
    ),
    "discount abc": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1", "discount": "abc"}],
            "payments": [{"method": "cash", "amount": "50.00"}],
        },
        line_error({"discount": ["A valid number is required."]}),
    ),
    "unit price 1e1": (
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1", "unit_price": "1e1"}],
            "payments": [{"method": "cash", "amount": "50.00"}],
        },
        line_error({"unit_price": ["A valid number is required."]}),
    ),
    "product abc": (
        {
            "register": 1,
            "lines": [{"product": "abc", "quantity": "1"}],
            "payments": [{"method": "cash", "amount": "50.00"}],
        },
        line_error({"product": ["A valid integer is required."]}),
    ),
    "unknown register": (
        {**simple_sale(), "register": 2},
        {"register": ["No register has this id."]},
    ),
    "register abc": (
        {**simple_sale(), "register": "abc"},
        {"register": ["A valid integer is required."]},
    ),
    "unknown customer": (
        {**simple_sale(), "customer": 99},
        {"customer": ["No customer has this id."]},
    ),
}


@pytest.mark.parametrize(("body", "errors"), BAD_CHECKOUTS.values(), ids=BAD_CHECKOUTS.keys())
def test_bad_input_is_400_and_writes_nothing(shop, client_for, body, errors):
    # given an inactive third product and a customer
    make_products(shop, {"name": "Retired", "is_active": False, "stock": "10"})
    make_customer(shop)
    client = client_for(shop.owner, shop.store)
    before = snapshot(shop)

    # when
    response = checkout(client, body)

    # then
    assert response.status_code == 400
    assert response.json() == errors
    assert snapshot(shop) == before
    assert checkout(client, simple_sale()).json()["number"] == 1


def test_without_an_open_shift_checkout_is_409(store_a, client_for):
    # given a product but no shift
    make_products(store_a, {"stock": "10"})
    client = client_for(store_a.cashier, store_a.store)
    before = snapshot(store_a)

    # when
    response = checkout(client, simple_sale())

    # then
    assert response.status_code == 409
    assert response.json() == SHIFT_NOT_OPEN
    assert snapshot(store_a) == before
    open_shift(client)
    assert checkout(client, simple_sale()).json()["number"] == 1


def test_after_the_shift_closes_checkout_is_409(shop, client_for):
    # given one sale, then the shift closed
    client = client_for(shop.cashier, shop.store)
    assert checkout(client, simple_sale()).json()["number"] == 1
    closed = client.post(f"{SHIFTS}1/close/", {"counted_cash": "109.99"}, format="json")
    assert closed.status_code == 200
    before = snapshot(shop)

    # when
    response = checkout(client, simple_sale())

    # then
    assert response.status_code == 409
    assert response.json() == SHIFT_NOT_OPEN
    assert snapshot(shop) == before
    with schema_context(shop.store.schema_name):
        assert Shift.objects.get(pk=1).sales_count == 1
    open_shift(client)
    assert checkout(client, simple_sale()).json()["number"] == 2


def test_insufficient_stock_is_409_listing_every_short_product(shop, client_for):
    # given stock 10 of milk, 5 of cheese and 1 of bread
    make_products(shop, {"name": "Bread", "price": Decimal("2.00"), "stock": "1"})
    customer = make_customer(shop)
    client = client_for(shop.cashier, shop.store)
    before = snapshot(shop)
    body = {
        "register": 1,
        "customer": customer.id,
        "lines": [
            {"product": 3, "quantity": "2"},
            {"product": 1, "quantity": "10"},
            {"product": 2, "quantity": "3"},
            {"product": 2, "quantity": "2.001"},
        ],
        "payments": [{"method": "cash", "amount": "500.00"}],
    }

    # when bread is short, milk is just enough and cheese is short over two lines
    response = checkout(client, body)

    # then
    assert response.status_code == 409
    assert response.json() == {
        "detail": INSUFFICIENT_STOCK_DETAIL,
        "code": "insufficient_stock",
        "products": [
            {"id": 2, "requested": "5.001", "available": "5.000"},
            {"id": 3, "requested": "2.000", "available": "1.000"},
        ],
    }
    assert snapshot(shop) == before
    assert checkout(client, simple_sale()).json()["number"] == 1


# --- Idempotency ----------------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_first_answer(shop, client_for):
    # given a checkout made with a key
    client = client_for(shop.cashier, shop.store)
    first = checkout(client, simple_sale(quantity="2", cash="20.00"), key="till-1-0001")
    assert first.status_code == 201
    after_first = snapshot(shop)

    # when it is retried
    retry = checkout(client, simple_sale(quantity="2", cash="20.00"), key="till-1-0001")

    # then the first answer comes back and nothing is written again
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.json()["id"] == 1
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert snapshot(shop) == after_first
    assert sale_count(shop) == 1
    assert stock_of(shop)[1] == Decimal("8.000")
    assert len(sale_movements(shop)) == 1
    assert checkout(client, simple_sale()).json()["number"] == 2


def test_the_same_key_with_another_body_is_422(shop, client_for):
    # given
    client = client_for(shop.cashier, shop.store)
    assert checkout(client, simple_sale(), key="till-1-0002").status_code == 201
    before = snapshot(shop)

    # when
    response = checkout(client, simple_sale(quantity="2"), key="till-1-0002")

    # then
    assert response.status_code == 422
    assert response.json() == KEY_REUSED
    assert snapshot(shop) == before
    assert checkout(client, simple_sale()).json()["number"] == 2


def test_keys_are_per_store(shop, store_b, client_for):
    # given a key used in store_a
    make_products(store_b, {"price": Decimal("9.99"), "stock": "10"})
    beta = client_for(store_b.cashier, store_b.store)
    open_shift(beta)
    alpha_sale = checkout(client_for(shop.cashier, shop.store), simple_sale(), key="shared-key")

    # when store_b uses the same key with the same body
    beta_sale = checkout(beta, simple_sale(), key="shared-key")

    # then store_b makes its own sale
    assert (alpha_sale.status_code, beta_sale.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in beta_sale.headers
    assert beta_sale.json()["cashier"]["id"] == store_b.cashier.id
    assert (sale_count(shop), sale_count(store_b)) == (1, 1)
    assert stock_of(shop)[1] == stock_of(store_b)[1] == Decimal("9.000")


def test_a_key_whose_request_failed_is_not_stored(shop, client_for):
    # given a keyed checkout refused for lack of stock
    client = client_for(shop.cashier, shop.store)
    body = simple_sale(quantity="12", cash="200.00")
    refused = checkout(client, body, key="till-1-0003")
    assert refused.status_code == 409
    with schema_context(shop.store.schema_name):
        assert IdempotencyKey.objects.count() == 0
        stock_adjust(
            product=Product.objects.get(pk=1), delta=Decimal("5"), reason="restock", user=None
        )

    # when the same request is retried after the restock
    retried = checkout(client, body, key="till-1-0003")

    # then it is done, as new
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried.headers
    assert retried.json()["number"] == 1
    assert stock_of(shop)[1] == Decimal("3.000")


def test_a_key_older_than_24_hours_is_new_again(shop, client_for):
    # given a keyed sale whose key is 25 hours old
    client = client_for(shop.cashier, shop.store)
    assert checkout(client, simple_sale(), key="till-1-0004").status_code == 201
    with schema_context(shop.store.schema_name):
        IdempotencyKey.objects.update(created_at=now() - timedelta(hours=25))

    # when the key comes again, with another body
    again = checkout(client, simple_sale(quantity="2", cash="20.00"), key="till-1-0004")

    # then it makes a new sale, and the key now guards that one
    assert again.status_code == 201, again.content
    assert "Idempotent-Replayed" not in again.headers
    assert again.json()["id"] == 2
    assert sale_count(shop) == 2
    replay = checkout(client, simple_sale(quantity="2", cash="20.00"), key="till-1-0004")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == again.json()
    with schema_context(shop.store.schema_name):
        assert IdempotencyKey.objects.count() == 1


def test_a_key_just_under_24_hours_old_still_replays(shop, client_for):
    client = client_for(shop.cashier, shop.store)
    first = checkout(client, simple_sale(), key="till-1-0005")
    with schema_context(shop.store.schema_name):
        IdempotencyKey.objects.update(created_at=now() - timedelta(hours=23, minutes=59))

    retry = checkout(client, simple_sale(), key="till-1-0005")

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert sale_count(shop) == 1


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "k" * 300, "two words", "ключ", "clé-1", "tab\tkey", ""],
    ids=["256 chars", "300 chars", "space", "cyrillic", "accent", "tab", "empty"],
)
def test_a_malformed_key_is_400(shop, client_for, key):
    client = client_for(shop.cashier, shop.store)
    before = snapshot(shop)

    response = checkout(client, simple_sale(), key=key)

    assert response.status_code == 400
    assert response.json() == INVALID_KEY
    assert snapshot(shop) == before
    assert checkout(client, simple_sale()).json()["number"] == 1


def test_a_key_of_255_printable_characters_is_accepted(shop, client_for):
    key = "!~" + "a" * 253

    response = checkout(client_for(shop.cashier, shop.store), simple_sale(), key=key)

    assert response.status_code == 201
    with schema_context(shop.store.schema_name):
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == [key]


def test_purging_deletes_only_the_expired_keys_of_every_store(shop, store_b, client_for):
    # given two keys in each store, one of them expired in each
    make_products(store_b, {"price": Decimal("9.99"), "stock": "10"})
    beta = client_for(store_b.cashier, store_b.store)
    open_shift(beta)
    alpha = client_for(shop.cashier, shop.store)
    for client in (alpha, beta):
        for key in ("old", "fresh"):
            assert checkout(client, simple_sale(), key=key).status_code == 201
    for staffed in (shop, store_b):
        with schema_context(staffed.store.schema_name):
            IdempotencyKey.objects.filter(key="old").update(
                created_at=now() - timedelta(hours=24, seconds=1)
            )
            IdempotencyKey.objects.filter(key="fresh").update(
                created_at=now() - timedelta(hours=23)
            )
    output = StringIO()

    # when
    call_command("purge_idempotency_keys", stdout=output)

    # then
    assert output.getvalue() == "Deleted 2 expired idempotency keys.\n"
    for staffed in (shop, store_b):
        with schema_context(staffed.store.schema_name):
            assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
    assert (sale_count(shop), sale_count(store_b)) == (2, 2)


# --- Statements -----------------------------------------------------------------------------


def checkout_statements(client: APIClient, body: dict) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = checkout(client, body)
    assert response.status_code == 201, response.content
    return [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_checkout_statements_do_not_grow_with_the_lines(store_a, client_for):
    # given 21 products and an open shift
    make_products(store_a, *({"price": Decimal("1.00"), "stock": "10"} for _ in range(21)))
    client = client_for(store_a.cashier, store_a.store)
    open_shift(client)
    one_line = simple_sale(cash="1.00")
    twenty_lines = {
        "register": 1,
        "lines": [{"product": pk, "quantity": "1"} for pk in range(2, 22)],
        "payments": [{"method": "cash", "amount": "20.00"}],
    }

    # when
    one = checkout_statements(client, one_line)
    twenty = checkout_statements(client, twenty_lines)

    # then: measured 11 statements for 1 line and 11 for 20 lines, savepoints aside (search path,
    # user, membership, shift lock, product lock, sale, lines, payments, movements, stock,
    # number)
    assert len(one) == len(twenty), (one, twenty)
    assert len(twenty) <= 20, twenty


def test_a_total_beyond_the_money_columns_is_400_not_500(store_a, client_for):
    # given a product at the largest price a product may have (numeric(12, 2))
    make_products(store_a, {"price": Decimal("9999999999.99"), "stock": "2"})
    client = client_for(store_a.owner, store_a.store)
    client.raise_request_exception = False
    open_shift(client)
    before = snapshot(store_a)
    body = {
        "register": 1,
        "lines": [{"product": 1, "quantity": "2"}],
        "payments": [{"method": "cash", "amount": "9999999999.99"}] * 3,
    }

    # when two of them are sold: a total of 19999999999.98 does not fit numeric(12, 2)
    response = checkout(client, body)

    # then the client is told, rather than the database refusing the row with a 500 (the
    # error's wording is the fix's to choose: a 400 in DRF's shape, with nothing written)
    assert response.status_code == 400, response.content
    assert isinstance(response.json(), dict)
    assert snapshot(store_a) == before
