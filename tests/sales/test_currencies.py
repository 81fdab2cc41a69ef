"""A store's money in its own currency, over HTTP: yen without minor units, dinars with three.

Amounts are refused with more places than the currency has, computed and stored to its unit,
and shown with exactly its places; the checkout, refunds, the Z report and the analytics
summary all follow.
"""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from analytics.services import analytics_rebuild
from catalog.models import Product
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, make_store

ClientFor = Callable[..., APIClient]
PRODUCTS = "/api/catalog/products/"


@pytest.fixture
def yen_shop(db: None) -> StoreWithStaff:
    return make_store(STORE_SCHEMAS[0], name="東京ストア", currency="JPY", timezone="Asia/Tokyo")


@pytest.fixture
def dinar_shop(db: None) -> StoreWithStaff:
    return make_store(STORE_SCHEMAS[1], name="Kuwait Shop", currency="KWD", timezone="Asia/Kuwait")


def add_product(client: APIClient, **fields: object) -> dict:
    response = client.post(PRODUCTS, {"name": "Tea", **fields})
    assert response.status_code == 201, response.json()
    return response.json()


def stocked(client: APIClient, product: dict, quantity: str = "100") -> None:
    response = client.post(
        f"{PRODUCTS}{product['id']}/adjust-stock/", {"delta": quantity, "reason": "restock"}
    )
    assert response.status_code == 201, response.json()


def open_shift(client: APIClient, opening_cash: str) -> None:
    response = client.post("/api/sales/shifts/", {"register": 1, "opening_cash": opening_cash})
    assert response.status_code == 201, response.json()


def checkout(client: APIClient, lines: list[dict], payments: list[dict]) -> dict:
    response = client.post("/api/sales/", {"register": 1, "lines": lines, "payments": payments})
    assert response.status_code == 201, response.json()
    return response.json()


YEN_PLACES = "JPY amounts have at most 0 decimal places."
DINAR_PLACES = "KWD amounts have at most 3 decimal places."


@pytest.mark.parametrize(
    ("shop", "change", "errors"),
    [
        ("yen_shop", {"price": "105.50"}, {"price": [YEN_PLACES]}),
        ("yen_shop", {"price": "105.0"}, {"price": [YEN_PLACES]}),
        ("yen_shop", {"cost": "0.5"}, {"cost": [YEN_PLACES]}),
        ("dinar_shop", {"price": "1.2555"}, {"price": [DINAR_PLACES]}),
    ],
)
def test_an_amount_with_more_places_than_the_currency_is_400_and_writes_nothing(
    request, client_for, shop, change, errors
):
    staffed = request.getfixturevalue(shop)
    client = client_for(staffed.owner, staffed.store)

    response = client.post(PRODUCTS, {"name": "Tea", "price": "100", **change})

    assert response.status_code == 400
    assert response.json() == errors
    with tenant_context(staffed.store):
        assert Product.objects.count() == 0


@pytest.mark.parametrize(
    ("shop", "sent", "shown"),
    [
        ("yen_shop", "1055", "1055"),
        ("yen_shop", 98, "98"),
        ("dinar_shop", "1.255", "1.255"),
        ("dinar_shop", "1.5", "1.500"),
        ("dinar_shop", "2", "2.000"),
    ],
)
def test_amounts_are_stored_exactly_and_shown_with_the_currencys_places(
    request, client_for, shop, sent, shown
):
    staffed = request.getfixturevalue(shop)
    client = client_for(staffed.owner, staffed.store)

    created = add_product(client, price=sent)

    assert created["price"] == shown
    assert client.get(f"{PRODUCTS}{created['id']}/").json()["price"] == shown
    with tenant_context(staffed.store):
        assert Product.objects.get().price == Decimal(shown)


def test_a_yen_sale_is_priced_taxed_and_refunded_in_whole_yen(yen_shop, client_for):
    # given a product at 105 yen, 8 % tax on top, and an open shift
    yen_shop.store.prices_include_tax = False
    yen_shop.store.save()
    client = client_for(yen_shop.owner, yen_shop.store)
    stocked(client, add_product(client, price="105", tax_rate="8.00"))
    open_shift(client, "10000")

    # when 3 are sold for 1000 yen in cash: 315 + 25 tax (25.2) = 340, change 660
    sale = checkout(
        client, [{"product": 1, "quantity": "3"}], [{"method": "cash", "amount": "1000"}]
    )

    # then every amount is whole yen
    assert (sale["subtotal"], sale["tax_total"], sale["total"]) == ("315", "25", "340")
    assert (sale["paid_total"], sale["change_due"], sale["refunded_total"]) == ("1000", "660", "0")
    line = sale["lines"][0]
    assert (line["unit_price"], line["discount"], line["tax_amount"], line["total"]) == (
        "105",
        "0",
        "25",
        "315",
    )

    # and one unit of three back is a third of 340, rounded to the yen: 113.33 → 113
    refunded = client.post(
        f"/api/sales/{sale['id']}/refund/",
        {"lines": [{"line": line["id"], "quantity": "1"}], "method": "cash"},
    )
    assert refunded.status_code == 201, refunded.json()
    assert refunded.json()["total"] == "113"
    assert refunded.json()["lines"][0]["total"] == "113"
    # the last two take what is left, so the refunds add up to what was paid
    rest = client.post(
        f"/api/sales/{sale['id']}/refund/",
        {"lines": [{"line": line["id"], "quantity": "2"}], "method": "cash"},
    )
    assert rest.json()["total"] == "227"
    assert client.get(f"/api/sales/{sale['id']}/").json()["refunded_total"] == "340"

    # and the Z report counts in yen: 10000 + 340 − 340
    closed = client.post("/api/sales/shifts/1/close/", {"counted_cash": "10000"})
    assert closed.status_code == 200, closed.json()
    report = closed.json()
    assert (report["cash_sales"], report["cash_refunds"], report["expected_cash"]) == (
        "340",
        "340",
        "10000",
    )
    assert report["difference"] == "0"
    assert report["totals_by_method"] == [
        {"method": "cash", "amount": "340"},
        {"method": "card", "amount": "0"},
        {"method": "other", "amount": "0"},
    ]


def test_a_yen_payment_with_sen_is_400_and_writes_nothing(yen_shop, client_for):
    client = client_for(yen_shop.owner, yen_shop.store)
    stocked(client, add_product(client, price="105"))
    open_shift(client, "0")

    response = client.post(
        "/api/sales/",
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1", "discount": "0.50"}],
            "payments": [{"method": "cash", "amount": "105.00"}],
        },
    )

    assert response.status_code == 400
    assert response.json() == {
        "lines": {"0": {"discount": [YEN_PLACES]}},
        "payments": {"0": {"amount": [YEN_PLACES]}},
    }
    assert client.get("/api/sales/").json()["count"] == 0


def test_a_dinar_sale_keeps_three_places_through_the_analytics(dinar_shop, client_for):
    # given two products in dinars, tax included
    client = client_for(dinar_shop.owner, dinar_shop.store)
    stocked(client, add_product(client, name="Dates", price="1.255", tax_rate="5.00"))
    stocked(client, add_product(client, name="Water", price="0.100", tax_rate="0.00"))
    open_shift(client, "5.000")

    # when 2 × 1.255 and 0.335 × 0.100 (0.0335 → 0.034) are sold, and a second sale of water
    first = checkout(
        client,
        [{"product": 1, "quantity": "2"}, {"product": 2, "quantity": "0.335"}],
        [{"method": "card", "amount": "2.544"}],
    )
    checkout(client, [{"product": 2, "quantity": "1"}], [{"method": "cash", "amount": "1"}])

    # then the first sale is in fils: 2.510 + 0.034, tax 2.510 × 5/105 = 0.11952… → 0.120
    assert [line["total"] for line in first["lines"]] == ["2.510", "0.034"]
    assert (first["tax_total"], first["total"]) == ("0.120", "2.544")
    # and the summary shows three places, the average ticket rounded to the fils: 2.644 / 2
    with tenant_context(dinar_shop.store):
        analytics_rebuild()
    summary = client.get("/api/analytics/summary/").json()
    assert summary["currency"] == "KWD"
    assert (summary["revenue"], summary["average_ticket"]) == ("2.644", "1.322")
    assert summary["by_payment_method"] == [
        {"method": "cash", "amount": "0.100"},
        {"method": "card", "amount": "2.544"},
        {"method": "other", "amount": "0.000"},
    ]


def test_a_yen_summary_rounds_the_average_ticket_to_the_yen(yen_shop, client_for):
    client = client_for(yen_shop.owner, yen_shop.store)
    stocked(client, add_product(client, price="100", tax_rate="10.00"))
    stocked(client, add_product(client, name="Cake", price="251", tax_rate="10.00"))
    open_shift(client, "0")
    checkout(client, [{"product": 1, "quantity": "1"}], [{"method": "card", "amount": "100"}])
    checkout(client, [{"product": 2, "quantity": "1"}], [{"method": "card", "amount": "251"}])
    with tenant_context(yen_shop.store):
        analytics_rebuild()

    summary = client.get("/api/analytics/summary/").json()

    # 351 / 2 = 175.5 → 176
    assert (summary["revenue"], summary["average_ticket"], summary["net_revenue"]) == (
        "351",
        "176",
        "351",
    )


@pytest.mark.parametrize("currency", ["JPY", "KWD"])
def test_a_checkout_answers_the_sale_as_reading_it_shows_it(db, currency, client_for):
    # The checkout's answer comes from one serializer kept for the process (`represent`), a
    # read from a new one: the same sale, with a customer, a client id and change, in yen and
    # in dinars, is shown alike, field for field.
    staffed = make_store(STORE_SCHEMAS[0], name=f"{currency} Shop", currency=currency)
    client = client_for(staffed.owner, staffed.store)
    stocked(client, add_product(client, price="7", tax_rate="8.00"))
    open_shift(client, "100")
    customer = client.post("/api/customers/", {"name": "Mina"}).json()
    response = client.post(
        "/api/sales/",
        {
            "register": 1,
            "customer": customer["id"],
            "client_id": "6f1c2a7e-8d4b-4c3e-9a57-2b8f0e1d9c41",
            "note": "Gift",
            "lines": [{"product": 1, "quantity": "1.5", "discount": "1"}],
            "payments": [{"method": "cash", "amount": "20"}],
        },
    )
    assert response.status_code == 201, response.json()
    answered = response.json()

    assert answered == client.get(f"/api/sales/{answered['id']}/").json()
    assert answered["customer"] == customer["id"]
    assert answered["cashier"]["email"] == staffed.owner.email
