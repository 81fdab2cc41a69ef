"""Reading sales: GET /api/sales/ and /{id}/, their filters, a customer's sales, query counts."""

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from catalog.models import Product
from catalog.services import product_create, stock_adjust
from customers.models import Customer
from sales.models import Sale
from tests.conftest import StoreWithStaff

SALES = "/api/sales/"
SHIFTS = "/api/sales/shifts/"
REGISTERS = "/api/sales/registers/"
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}

ClientFor = Callable[..., APIClient]


def add_product(
    staffed: StoreWithStaff, *, name: str, price: str, tax_rate: str, stock: str = "1000"
) -> Product:
    with tenant_context(staffed.store):
        product = product_create(
            name=name, sku=name.upper(), price=Decimal(price), tax_rate=Decimal(tax_rate)
        )
        stock_adjust(product=product, delta=Decimal(stock), reason="restock", user=None)
    return product


def add_customers(staffed: StoreWithStaff, *names: str) -> None:
    with schema_context(staffed.store.schema_name):
        for name in names:
            Customer.objects.create(name=name)


def open_shift(client: APIClient, register: int = 1) -> dict:
    response = client.post(SHIFTS, {"register": register, "opening_cash": "0.00"})
    assert response.status_code == 201, response.json()
    return response.json()


def sell(
    client: APIClient,
    *,
    register: int = 1,
    customer: int | None = None,
    lines: list[dict] | None = None,
    payments: list[dict] | None = None,
    note: str = "",
) -> dict:
    """A sale; by default one Tea (product 1, 3.50) paid by card."""
    response = client.post(
        SALES,
        {
            "register": register,
            "customer": customer,
            "lines": lines or [{"product": 1, "quantity": "1"}],
            "payments": payments or [{"method": "card", "amount": "3.50"}],
            "note": note,
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def set_created_at(staffed: StoreWithStaff, sale_id: int, moment: datetime) -> None:
    with schema_context(staffed.store.schema_name):
        Sale.objects.filter(pk=sale_id).update(created_at=moment)


def created_at(staffed: StoreWithStaff, sale_id: int) -> str:
    with schema_context(staffed.store.schema_name):
        return DateTimeField().to_representation(Sale.objects.get(pk=sale_id).created_at)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def shop(store_a: StoreWithStaff) -> StoreWithStaff:
    """Store A with Tea (product 1, 3.50, 20 % tax), Honey (product 2, 7.99, 10 % tax) and
    customers Ivan (1) and Olga (2)."""
    add_product(store_a, name="Tea", price="3.50", tax_rate="20.00")
    add_product(store_a, name="Honey", price="7.99", tax_rate="10.00")
    add_customers(store_a, "Ivan", "Olga")
    # The cashier's discounts below stay within what the store lets a cashier give.
    store_a.store.cashier_max_discount_percent = Decimal("10")
    store_a.store.save()
    return store_a


# --- List and detail ------------------------------------------------------------------------


def test_sales_are_listed_newest_first_with_every_field(shop, client_for):
    cashier = client_for(shop.cashier, shop.store)
    owner = client_for(shop.owner, shop.store)
    open_shift(cashier)
    first = sell(
        cashier,
        customer=1,
        lines=[
            {"product": 1, "quantity": "2", "discount": "0.50"},
            {"product": 2, "quantity": "1"},
        ],
        payments=[{"method": "cash", "amount": "20.00"}],
        note="Gift wrap",
    )
    second = sell(
        owner,
        lines=[{"product": 2, "quantity": "0.250", "unit_price": "12.00"}],
        payments=[{"method": "card", "amount": "3.00"}],
    )

    listed = cashier.get(SALES)

    expected_first = {
        "id": 1,
        "number": 1,
        "status": "completed",
        "created_at": created_at(shop, 1),
        "register": 1,
        "shift": 1,
        "cashier": {"id": shop.cashier.pk, "email": shop.cashier.email},
        "customer": 1,
        "lines": [
            {
                "id": 1,
                "product": 1,
                "name": "Tea",
                "sku": "TEA",
                "quantity": "2.000",
                "unit_price": "3.50",
                "discount": "0.50",
                "tax_rate": "20.00",
                "tax_amount": "1.08",  # 6.50 × 20 / 120
                "total": "6.50",
                "refunded_quantity": "0.000",
            },
            {
                "id": 2,
                "product": 2,
                "name": "Honey",
                "sku": "HONEY",
                "quantity": "1.000",
                "unit_price": "7.99",
                "discount": "0.00",
                "tax_rate": "10.00",
                "tax_amount": "0.73",  # 7.99 × 10 / 110
                "total": "7.99",
                "refunded_quantity": "0.000",
            },
        ],
        "subtotal": "14.99",
        "discount_total": "0.50",
        "tax_total": "1.81",
        "total": "14.49",
        "payments": [{"method": "cash", "amount": "20.00"}],
        "paid_total": "20.00",
        "change_due": "5.51",
        "cash_rounding": "0.00",
        "refunded_total": "0.00",
        "prices_include_tax": True,
        "note": "Gift wrap",
        "client_id": None,
        "occurred_at": created_at(shop, 1),
        "offline_number": "",
        "source": "online",
        "late": False,
    }
    expected_second = {
        "id": 2,
        "number": 2,
        "status": "completed",
        "created_at": created_at(shop, 2),
        "register": 1,
        "shift": 1,
        "cashier": {"id": shop.owner.pk, "email": shop.owner.email},
        "customer": None,
        "lines": [
            {
                "id": 3,
                "product": 2,
                "name": "Honey",
                "sku": "HONEY",
                "quantity": "0.250",
                "unit_price": "12.00",
                "discount": "0.00",
                "tax_rate": "10.00",
                "tax_amount": "0.27",  # 3.00 × 10 / 110
                "total": "3.00",
                "refunded_quantity": "0.000",
            }
        ],
        "subtotal": "3.00",
        "discount_total": "0.00",
        "tax_total": "0.27",
        "total": "3.00",
        "payments": [{"method": "card", "amount": "3.00"}],
        "paid_total": "3.00",
        "change_due": "0.00",
        "cash_rounding": "0.00",
        "refunded_total": "0.00",
        "prices_include_tax": True,
        "note": "",
        "client_id": None,
        "occurred_at": created_at(shop, 2),
        "offline_number": "",
        "source": "online",
        "late": False,
    }
    assert listed.status_code == 200
    assert listed.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [expected_second, expected_first],
    }
    # what checkout answered is what is read back
    assert (first, second) == (expected_first, expected_second)
    assert cashier.get(f"{SALES}1/").json() == expected_first
    assert owner.get(f"{SALES}2/").json() == expected_second


def test_a_sale_keeps_its_lines_and_payments_in_order_after_a_refund(shop, client_for):
    owner = client_for(shop.owner, shop.store)
    open_shift(owner)
    sell(
        owner,
        lines=[{"product": 1, "quantity": "2"}, {"product": 2, "quantity": "1"}],
        payments=[{"method": "card", "amount": "5.00"}, {"method": "cash", "amount": "10.00"}],
    )
    refunded = owner.post(
        f"{SALES}1/refund/", {"lines": [{"line": 1, "quantity": "1"}], "method": "card"}
    )
    assert refunded.status_code == 201

    # once the table has statistics, PostgreSQL reads these few lines by a sequential scan,
    # in which the refunded (so rewritten) line 1 now comes after line 2
    with schema_context(shop.store.schema_name), connection.cursor() as cursor:
        cursor.execute("ANALYZE sales_saleline")

    sale = owner.get(f"{SALES}1/").json()
    listed = owner.get(SALES).json()["results"][0]

    assert [(line["id"], line["refunded_quantity"]) for line in sale["lines"]] == [
        (1, "1.000"),
        (2, "0.000"),
    ]
    assert [line["id"] for line in listed["lines"]] == [1, 2]
    assert sale["payments"] == [
        {"method": "card", "amount": "5.00"},
        {"method": "cash", "amount": "10.00"},
    ]
    assert sale["refunded_total"] == "3.50"


def test_an_unknown_sale_is_404(shop, client_for):
    response = client_for(shop.owner, shop.store).get(f"{SALES}1/")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_reading_sales_needs_a_token_and_a_store(shop, client_for):
    anonymous = client_for(None, shop.store).get(SALES)
    without_store = client_for(shop.owner, None).get(SALES)

    assert anonymous.status_code == 401
    assert without_store.status_code == 400
    assert without_store.json()["code"] == "tenant_required"


# --- Filters --------------------------------------------------------------------------------


def test_from_and_to_are_days_in_the_stores_time_zone(shop, client_for):
    # given a store in Tokyo (UTC+9) and sales at 23:59, 00:00 and 00:01 around its midnight
    shop.store.timezone = "Asia/Tokyo"
    shop.store.save()
    client = client_for(shop.owner, shop.store)
    open_shift(client)
    for _ in range(3):
        sell(client)
    set_created_at(shop, 1, datetime(2026, 3, 1, 14, 59, tzinfo=UTC))  # 1 March, 23:59 Tokyo
    set_created_at(shop, 2, datetime(2026, 3, 1, 15, 0, tzinfo=UTC))  # 2 March, 00:00 Tokyo
    set_created_at(shop, 3, datetime(2026, 3, 1, 15, 1, tzinfo=UTC))  # 2 March, 00:01 Tokyo

    assert ids(client.get(SALES, {"from": "2026-03-02"})) == [3, 2]
    assert ids(client.get(SALES, {"to": "2026-03-01"})) == [1]
    assert ids(client.get(SALES, {"from": "2026-03-01", "to": "2026-03-01"})) == [1]
    assert ids(client.get(SALES, {"from": "2026-03-02", "to": "2026-03-02"})) == [3, 2]
    assert ids(client.get(SALES, {"from": "2026-03-01", "to": "2026-03-02"})) == [3, 2, 1]
    assert ids(client.get(SALES, {"from": "2026-03-03"})) == []
    assert ids(client.get(SALES, {"to": "2026-02-28"})) == []
    assert ids(client.get(SALES, {"from": "2026-03-02", "to": "2026-03-01"})) == []


def test_register_shift_and_customer_filters(shop, client_for):
    # given sale 1 (register 1, shift 1, Ivan), sale 2 (register 2, shift 2, Olga),
    # sale 3 (register 1, shift 3, no customer), sale 4 (register 1, shift 3, Ivan)
    owner = client_for(shop.owner, shop.store)
    owner.post(REGISTERS, {"name": "Till 2"})
    open_shift(owner, register=1)
    open_shift(owner, register=2)
    sell(owner, register=1, customer=1)
    sell(owner, register=2, customer=2)
    owner.post(f"{SHIFTS}1/close/", {"counted_cash": "0.00"})
    open_shift(owner, register=1)
    sell(owner, register=1)
    sell(owner, register=1, customer=1)
    cashier = client_for(shop.cashier, shop.store)

    assert ids(cashier.get(SALES)) == [4, 3, 2, 1]
    assert ids(cashier.get(SALES, {"register": 1})) == [4, 3, 1]
    assert ids(cashier.get(SALES, {"register": 2})) == [2]
    assert ids(cashier.get(SALES, {"shift": 3})) == [4, 3]
    assert ids(cashier.get(SALES, {"shift": 1})) == [1]
    assert ids(cashier.get(SALES, {"customer": 1})) == [4, 1]
    assert ids(cashier.get(SALES, {"customer": 2})) == [2]
    assert ids(cashier.get(SALES, {"register": 1, "customer": 1, "shift": 3})) == [4]
    assert ids(cashier.get(SALES, {"register": 9})) == []


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"from": "2026-13-01"}, {"from": ["Enter a valid date."]}),
        ({"from": "yesterday"}, {"from": ["Enter a valid date."]}),
        ({"to": "2026-02-30"}, {"to": ["Enter a valid date."]}),
        ({"register": "main"}, {"register": ["Enter a whole number."]}),
        ({"customer": "ivan"}, {"customer": ["Enter a whole number."]}),
    ],
)
def test_a_malformed_filter_is_400(shop, client_for, params, errors):
    response = client_for(shop.owner, shop.store).get(SALES, params)

    assert response.status_code == 400
    assert response.json() == errors


# --- A customer's sales ---------------------------------------------------------------------


def test_a_customers_sales_are_only_theirs_newest_first_in_pages(shop, client_for):
    # given sales 1, 4, 5 for Ivan, sale 2 for Olga and sale 3 for nobody
    owner = client_for(shop.owner, shop.store)
    open_shift(owner)
    for customer in (1, 2, None, 1, 1):
        sell(owner, customer=customer)
    cashier = client_for(shop.cashier, shop.store)
    url = "/api/customers/1/sales/"

    first_page = cashier.get(url, {"page_size": 2})
    second_page = cashier.get(url, {"page_size": 2, "page": 2})

    assert first_page.status_code == 200
    assert first_page.json()["count"] == 3
    assert (
        first_page.json()["next"] == "http://testserver/api/customers/1/sales/?page=2&page_size=2"
    )
    assert first_page.json()["previous"] is None
    assert [sale["id"] for sale in first_page.json()["results"]] == [5, 4]
    assert second_page.json()["next"] is None
    assert second_page.json()["previous"] == "http://testserver/api/customers/1/sales/?page_size=2"
    assert [sale["id"] for sale in second_page.json()["results"]] == [1]
    assert second_page.json()["results"][0] == owner.get(f"{SALES}1/").json()
    assert ids(cashier.get("/api/customers/2/sales/")) == [2]


def test_a_customer_without_sales_has_an_empty_list(shop, client_for):
    response = client_for(shop.cashier, shop.store).get("/api/customers/2/sales/")

    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_the_sales_of_an_unknown_customer_are_404(shop, client_for):
    response = client_for(shop.cashier, shop.store).get("/api/customers/9/sales/")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# --- Query counts ---------------------------------------------------------------------------


def count_queries(client: APIClient, url: str) -> tuple[int, int]:
    """How many queries a GET makes, and how many results it answered."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), len(response.json()["results"])


def sell_many(client: APIClient, count: int, *, customer: int | None = None) -> None:
    for _ in range(count):
        sell(
            client,
            customer=customer,
            lines=[
                {"product": 1, "quantity": "1"},
                {"product": 2, "quantity": "2"},
                {"product": 1, "quantity": "0.5", "discount": "0.25"},
            ],
            payments=[{"method": "card", "amount": "10.00"}, {"method": "cash", "amount": "11.00"}],
        )


def test_the_sales_list_makes_as_many_queries_for_30_sales_as_for_5(shop, client_for):
    # Measured: 10 queries for 5 sales and for 30, with 3 lines and 2 payments each: the user,
    # the membership with its store, the count, the sales, their cashiers, the lines, the
    # payments, plus the path's set and the savepoint and its release (ATOMIC_REQUESTS inside
    # the test's transaction). A customer's sales: 11, the customer being read too.
    owner = client_for(shop.owner, shop.store)
    open_shift(owner)
    sell_many(owner, 5, customer=1)
    owner.get(SALES)  # the store registry's cache is warm from here on

    few = count_queries(owner, SALES)
    sell_many(owner, 25, customer=1)
    many = count_queries(owner, SALES)
    customer_few = count_queries(owner, "/api/customers/1/sales/?page_size=5")
    customer_many = count_queries(owner, "/api/customers/1/sales/")

    assert few == (10, 5)
    assert many == (10, 30)
    assert customer_few == (11, 5)
    assert customer_many == (11, 30)


# --- Isolation ------------------------------------------------------------------------------


def test_a_sale_of_one_store_is_not_found_in_another(shop, store_b, client_for):
    open_shift(client_for(shop.owner, shop.store))
    sell(client_for(shop.owner, shop.store))
    other = client_for(store_b.owner, store_b.store)

    assert other.get(f"{SALES}1/").status_code == 404
    assert other.get(f"{SALES}1/").json() == NOT_FOUND
    assert other.get(SALES).json()["count"] == 0
    refund = other.post(
        f"{SALES}1/refund/", {"lines": [{"line": 1, "quantity": "1"}], "method": "card"}
    )
    assert refund.status_code == 404
    with schema_context(shop.store.schema_name):
        assert list(Sale.objects.values_list("id", "refunded_total")) == [(1, Decimal("0.00"))]


def test_another_stores_member_cannot_read_its_sales(shop, store_b, client_for):
    open_shift(client_for(shop.owner, shop.store))
    sell(client_for(shop.owner, shop.store))

    response = client_for(store_b.owner, shop.store).get(f"{SALES}1/")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You are not a member of this store.",
        "code": "not_a_member",
    }
