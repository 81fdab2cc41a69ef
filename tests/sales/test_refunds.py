"""Refunds (POST /api/sales/{id}/refund/): roles, prorated money, limits, stock, shifts, retries."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db.models import Sum
from django_tenants.utils import schema_context, tenant_context
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from catalog.models import Product, StockMovement
from catalog.services import product_create, stock_adjust
from core.money import format_money
from customers.models import Customer
from sales.models import Refund, RefundLine, Sale, SaleLine
from tests.conftest import StoreWithStaff

SALES = "/api/sales/"
SHIFTS = "/api/sales/shifts/"
REFUND_1 = "/api/sales/1/refund/"

NOT_A_MEMBER = {"detail": "You are not a member of this store.", "code": "not_a_member"}
PERMISSION_DENIED = {
    "detail": "Your role in this store does not allow this action.",
    "code": "permission_denied",
}
EXCEEDS = "A line cannot be refunded beyond what was sold and not yet refunded."

ClientFor = Callable[..., APIClient]


def add_product(
    staffed: StoreWithStaff, *, name: str, price: str, tax_rate: str, stock: str
) -> Product:
    with tenant_context(staffed.store):
        product = product_create(
            name=name, sku=name.upper(), price=Decimal(price), tax_rate=Decimal(tax_rate)
        )
        stock_adjust(product=product, delta=Decimal(stock), reason="restock", user=None)
    return product


def add_customer(staffed: StoreWithStaff, name: str = "Ivan Petrov") -> Customer:
    with schema_context(staffed.store.schema_name):
        return Customer.objects.create(name=name)


def open_shift(client: APIClient, opening_cash: str = "100.00") -> dict:
    response = client.post(SHIFTS, {"register": 1, "opening_cash": opening_cash})
    assert response.status_code == 201, response.json()
    return response.json()


def checkout(client: APIClient, lines: list[dict], payments: list[dict], **fields) -> dict:
    response = client.post(SALES, {"register": 1, "lines": lines, "payments": payments, **fields})
    assert response.status_code == 201, response.json()
    return response.json()


def refund(client: APIClient, sale_id: int = 1, *, headers: dict | None = None, **body):
    body.setdefault("method", "cash")
    return client.post(f"{SALES}{sale_id}/refund/", body, headers=headers)


def one(line: int, quantity: str) -> list[dict]:
    return [{"line": line, "quantity": quantity}]


@pytest.fixture
def sold(store_a: StoreWithStaff, client_for: ClientFor) -> StoreWithStaff:
    """Store A with an open shift (id 1) and sale 1, made by the cashier for customer 1:

    line 1: 3 × Tea at 3.50 less 0.50 = 10.00 (20 % tax included: 1.67), product 1, stock 10 → 7;
    line 2: 1 × Honey at 7.99 = 7.99 (10 % tax included: 0.73), product 2, stock 5 → 4;
    total 17.99, paid 20.00 in cash, change 2.01.
    """
    add_product(store_a, name="Tea", price="3.50", tax_rate="20.00", stock="10")
    add_product(store_a, name="Honey", price="7.99", tax_rate="10.00", stock="5")
    add_customer(store_a)
    store_a.store.cashier_max_discount_percent = Decimal("5")  # 0.50 of 10.50 is within it
    store_a.store.save()
    cashier = client_for(store_a.cashier, store_a.store)
    open_shift(cashier)
    sale = checkout(
        cashier,
        [
            {"product": 1, "quantity": "3", "discount": "0.50"},
            {"product": 2, "quantity": "1"},
        ],
        [{"method": "cash", "amount": "20.00"}],
        customer=1,
    )
    assert (sale["total"], sale["tax_total"], sale["change_due"]) == ("17.99", "2.40", "2.01")
    return store_a


def snapshot(staffed: StoreWithStaff) -> dict:
    """Everything a refund may change, as stored."""
    with schema_context(staffed.store.schema_name):
        return {
            "refunds": list(Refund.objects.order_by("id").values()),
            "refund_lines": list(RefundLine.objects.order_by("id").values()),
            "lines": list(
                SaleLine.objects.order_by("id").values(
                    "id", "refunded_quantity", "refunded_amount", "refunded_tax"
                )
            ),
            "sales": list(Sale.objects.order_by("id").values("id", "refunded_total")),
            "stock": dict(Product.objects.values_list("id", "stock")),
            "movements": list(StockMovement.objects.order_by("id").values()),
            "customers": list(
                Customer.objects.order_by("id").values(
                    "id", "total_spent", "visits", "last_purchase_at"
                )
            ),
        }


def refund_created_at(staffed: StoreWithStaff, refund_id: int) -> str:
    with schema_context(staffed.store.schema_name):
        return DateTimeField().to_representation(Refund.objects.get(pk=refund_id).created_at)


def line_figures(staffed: StoreWithStaff, line_id: int) -> tuple[str, str, str]:
    """What a line has refunded: its quantity, and its amounts in the store currency's places."""
    with schema_context(staffed.store.schema_name):
        line = SaleLine.objects.get(pk=line_id)
    currency = staffed.store.currency
    return (
        str(line.refunded_quantity),
        format_money(line.refunded_amount, currency),
        format_money(line.refunded_tax, currency),
    )


# --- Who may refund -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_refund_a_line(sold, client_for, role):
    user = sold.member(role)

    response = refund(
        client_for(user, sold.store), lines=one(1, "1"), method="cash", reason="Damaged box"
    )

    assert response.status_code == 201
    assert response.json() == {
        "id": 1,
        "sale": 1,
        "shift": 1,
        "lines": [{"line": 1, "quantity": "1.000", "total": "3.33", "tax_amount": "0.56"}],
        "total": "3.33",
        "cash_rounding": "0.00",
        "method": "cash",
        "restock": False,
        "reason": "Damaged box",
        "created_by": user.pk,
        "created_at": refund_created_at(sold, 1),
    }
    assert line_figures(sold, 1) == ("1.000", "3.33", "0.56")


def test_a_cashier_may_not_refund(sold, client_for):
    before = snapshot(sold)

    response = refund(client_for(sold.cashier, sold.store), lines=one(1, "1"))

    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED
    assert snapshot(sold) == before


def test_an_owner_of_another_store_may_not_refund(sold, store_b, client_for):
    before = snapshot(sold)

    response = refund(client_for(store_b.owner, sold.store), lines=one(1, "1"))

    assert response.status_code == 403
    assert response.json() == NOT_A_MEMBER
    assert snapshot(sold) == before


def test_an_unknown_sale_is_404(sold, client_for):
    before = snapshot(sold)

    response = refund(client_for(sold.owner, sold.store), 99, lines=one(1, "1"))

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert snapshot(sold) == before


# --- Prorated money -------------------------------------------------------------------------


def test_partial_refunds_of_a_line_add_up_to_what_was_paid_for_it(sold, client_for):
    owner = client_for(sold.owner, sold.store)

    answers = [refund(owner, lines=one(1, "1")).json() for _ in range(3)]

    # 10.00 (3.50 × 3 less the 0.50 discount) in thirds: the last unit takes the rounding.
    assert [(a["lines"][0]["total"], a["lines"][0]["tax_amount"]) for a in answers] == [
        ("3.33", "0.56"),
        ("3.33", "0.56"),
        ("3.34", "0.55"),
    ]
    assert [a["total"] for a in answers] == ["3.33", "3.33", "3.34"]
    assert line_figures(sold, 1) == ("3.000", "10.00", "1.67")
    assert line_figures(sold, 2) == ("0.000", "0.00", "0.00")
    sale = owner.get(f"{SALES}1/").json()
    assert sale["refunded_total"] == "10.00"
    assert [line["refunded_quantity"] for line in sale["lines"]] == ["3.000", "0.000"]


def test_a_refund_of_the_rest_of_a_line_takes_what_is_left(sold, client_for):
    owner = client_for(sold.owner, sold.store)

    first = refund(owner, lines=one(1, "1")).json()
    rest = refund(owner, lines=one(1, "2")).json()

    assert (first["total"], rest["total"]) == ("3.33", "6.67")
    assert rest["lines"] == [
        {"line": 1, "quantity": "2.000", "total": "6.67", "tax_amount": "1.11"}
    ]
    assert line_figures(sold, 1) == ("3.000", "10.00", "1.67")


def test_a_refund_of_several_lines_at_once(sold, client_for):
    owner = client_for(sold.owner, sold.store)

    response = refund(
        owner,
        lines=[{"line": 2, "quantity": "1"}, {"line": 1, "quantity": "0.5"}],
        method="card",
    )

    assert response.status_code == 201
    body = response.json()
    assert body["lines"] == [
        {"line": 2, "quantity": "1.000", "total": "7.99", "tax_amount": "0.73"},
        {"line": 1, "quantity": "0.500", "total": "1.67", "tax_amount": "0.28"},
    ]
    assert body["total"] == "9.66"
    assert owner.get(f"{SALES}1/").json()["refunded_total"] == "9.66"


def test_prorating_adds_the_tax_in_a_store_whose_prices_exclude_it(store_a, client_for):
    # given a store whose prices exclude tax: 3 × 3.50 less 0.50 = 10.00, plus 7 % = 0.70
    store_a.store.prices_include_tax = False
    store_a.store.save()
    add_product(store_a, name="Tea", price="3.50", tax_rate="7.00", stock="10")
    owner = client_for(store_a.owner, store_a.store)
    open_shift(owner)
    sale = checkout(
        owner,
        [{"product": 1, "quantity": "3", "discount": "0.50"}],
        [{"method": "card", "amount": "10.70"}],
    )
    assert (sale["total"], sale["tax_total"], sale["lines"][0]["total"]) == (
        "10.70",
        "0.70",
        "10.00",
    )

    answers = [refund(owner, lines=one(1, "1"), method="card").json() for _ in range(3)]

    assert [(a["total"], a["lines"][0]["tax_amount"]) for a in answers] == [
        ("3.57", "0.23"),
        ("3.57", "0.23"),
        ("3.56", "0.24"),
    ]
    assert line_figures(store_a, 1) == ("3.000", "10.70", "0.70")
    assert owner.get(f"{SALES}1/").json()["refunded_total"] == "10.70"


# --- Limits and bad input -------------------------------------------------------------------


def test_a_refund_beyond_what_is_left_is_409_and_writes_nothing(sold, client_for):
    owner = client_for(sold.owner, sold.store)
    refund(owner, lines=one(1, "2"), restock=True)
    before = snapshot(sold)

    response = refund(
        owner,
        lines=[{"line": 2, "quantity": "1"}, {"line": 1, "quantity": "2"}],
        restock=True,
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": EXCEEDS,
        "code": "refund_exceeds_sale",
        "lines": [{"line": 1, "requested": "2.000", "refundable": "1.000"}],
    }
    assert snapshot(sold) == before


def test_a_line_refunded_in_full_cannot_be_refunded_again(sold, client_for):
    owner = client_for(sold.owner, sold.store)
    refund(owner, lines=one(2, "1"))
    before = snapshot(sold)

    response = refund(owner, lines=one(2, "0.001"))

    assert response.status_code == 409
    assert response.json() == {
        "detail": EXCEEDS,
        "code": "refund_exceeds_sale",
        "lines": [{"line": 2, "requested": "0.001", "refundable": "0.000"}],
    }
    assert snapshot(sold) == before


def test_a_line_of_another_sale_is_400_and_writes_nothing(sold, client_for):
    owner = client_for(sold.owner, sold.store)
    checkout(owner, [{"product": 2, "quantity": "1"}], [{"method": "card", "amount": "7.99"}])
    before = snapshot(sold)

    response = refund(owner, lines=[{"line": 1, "quantity": "1"}, {"line": 3, "quantity": "1"}])

    assert response.status_code == 400
    assert snapshot(sold) == before
    # The shape DRF gives errors of list items (LIST_SERIALIZER_ERRORS_AS_DICT): by index.
    assert response.json() == {"lines": {"1": {"line": ["Not a line of this sale."]}}}


def test_the_same_line_twice_is_400_and_writes_nothing(sold, client_for):
    before = snapshot(sold)

    response = refund(
        client_for(sold.owner, sold.store),
        lines=[{"line": 1, "quantity": "1"}, {"line": 1, "quantity": "1"}],
    )

    assert response.status_code == 400
    assert snapshot(sold) == before
    assert response.json() == {"lines": {"1": {"line": ["This line is listed twice."]}}}


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "Ensure this value is greater than or equal to 0.001."),
        ("-1", "Ensure this value is greater than or equal to 0.001."),
        ("0.0001", "Ensure that there are no more than 3 decimal places."),
        ("one", "A valid number is required."),
    ],
)
def test_a_bad_quantity_is_400_and_writes_nothing(sold, client_for, quantity, message):
    before = snapshot(sold)

    response = refund(client_for(sold.owner, sold.store), lines=one(1, quantity))

    assert response.status_code == 400
    assert response.json() == {"lines": {"0": {"quantity": [message]}}}
    assert snapshot(sold) == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"lines": [], "method": "cash"},
            {"lines": {"non_field_errors": ["This list may not be empty."]}},
        ),
        ({"method": "cash"}, {"lines": ["This field is required."]}),
        (
            {"lines": one(1, "1"), "method": "cheque"},
            {"method": ['"cheque" is not a valid choice.']},
        ),
        ({"lines": one(1, "1")}, {"method": ["This field is required."]}),
    ],
)
def test_a_bad_refund_body_is_400_and_writes_nothing(sold, client_for, body, errors):
    before = snapshot(sold)

    response = client_for(sold.owner, sold.store).post(REFUND_1, body)

    assert response.status_code == 400
    assert response.json() == errors
    assert snapshot(sold) == before


# --- Stock, sale and customer ---------------------------------------------------------------


def test_restock_puts_the_goods_back_with_a_refund_movement(sold, client_for):
    owner = client_for(sold.owner, sold.store)

    response = refund(owner, lines=one(1, "2"), restock=True)

    assert response.status_code == 201
    assert response.json()["restock"] is True
    with schema_context(sold.store.schema_name):
        tea = Product.objects.get(pk=1)
        movements = list(
            StockMovement.objects.filter(product=tea)
            .order_by("id")
            .values("delta", "reason", "sale_id", "refund_id", "created_by_id")
        )
        ledger = StockMovement.objects.filter(product=tea).aggregate(total=Sum("delta"))["total"]
    assert tea.stock == Decimal("9.000")  # 10 − 3 sold + 2 back
    assert movements == [
        {
            "delta": Decimal("10.000"),
            "reason": "restock",
            "sale_id": None,
            "refund_id": None,
            "created_by_id": None,
        },
        {
            "delta": Decimal("-3.000"),
            "reason": "sale",
            "sale_id": 1,
            "refund_id": None,
            "created_by_id": sold.cashier.pk,
        },
        {
            "delta": Decimal("2.000"),
            "reason": "refund",
            "sale_id": None,
            "refund_id": 1,
            "created_by_id": sold.owner.pk,
        },
    ]
    assert ledger == tea.stock


def test_without_restock_the_stock_stays_as_it_is(sold, client_for):
    before = snapshot(sold)

    response = refund(client_for(sold.owner, sold.store), lines=one(1, "2"), restock=False)

    assert response.status_code == 201
    after = snapshot(sold)
    assert after["stock"] == before["stock"] == {1: Decimal("7.000"), 2: Decimal("4.000")}
    assert after["movements"] == before["movements"]


def test_the_sale_and_the_customer_follow_the_refunds(sold, client_for):
    owner = client_for(sold.owner, sold.store)
    customer_before = owner.get("/api/customers/1/").json()
    assert (customer_before["total_spent"], customer_before["visits"]) == ("17.99", 1)

    refund(owner, lines=one(1, "1"))
    refund(owner, lines=one(2, "1"), method="card")

    sale = owner.get(f"{SALES}1/").json()
    customer = owner.get("/api/customers/1/").json()
    assert sale["refunded_total"] == "11.32"  # 3.33 + 7.99
    assert sale["total"] == "17.99"
    assert customer == {**customer_before, "total_spent": "6.67"}  # visits, last purchase kept


# --- Shifts ---------------------------------------------------------------------------------


def test_a_cash_refund_needs_an_open_shift_on_the_sales_register(sold, client_for):
    owner = client_for(sold.owner, sold.store)
    assert owner.post(f"{SHIFTS}1/close/", {"counted_cash": "120.00"}).status_code == 200
    before = snapshot(sold)

    response = refund(owner, lines=one(1, "1"), method="cash", restock=True)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "A cash refund is paid from an open shift of the sale's register.",
        "code": "shift_not_open",
    }
    assert snapshot(sold) == before


def test_a_card_refund_without_an_open_shift_belongs_to_no_shift(sold, client_for):
    owner = client_for(sold.owner, sold.store)
    owner.post(f"{SHIFTS}1/close/", {"counted_cash": "120.00"})

    response = refund(owner, lines=one(1, "1"), method="card")

    assert response.status_code == 201
    assert response.json()["shift"] is None
    assert response.json()["total"] == "3.33"


def test_a_refund_is_paid_from_the_open_shift_of_the_sales_register(sold, client_for):
    owner = client_for(sold.owner, sold.store)
    owner.post(f"{SHIFTS}1/close/", {"counted_cash": "120.00"})
    open_shift(owner, "50.00")

    response = refund(owner, lines=one(1, "1"), method="cash")

    assert response.status_code == 201
    assert response.json()["shift"] == 2


# --- Idempotency ----------------------------------------------------------------------------


def test_a_retried_refund_replays_the_first_answer_and_restocks_once(sold, client_for):
    owner = client_for(sold.owner, sold.store)
    key = {"Idempotency-Key": "refund-4f1c2b"}

    first = refund(owner, lines=one(1, "1"), restock=True, headers=key)
    after_first = snapshot(sold)
    again = refund(owner, lines=one(1, "1"), restock=True, headers=key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert first.json()["id"] == 1
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert snapshot(sold) == after_first
    assert len(after_first["refunds"]) == 1
    assert after_first["stock"][1] == Decimal("8.000")  # 7 + 1, once


def test_a_refund_key_reused_with_another_body_is_422_and_writes_nothing(sold, client_for):
    owner = client_for(sold.owner, sold.store)
    key = {"Idempotency-Key": "refund-4f1c2b"}
    refund(owner, lines=one(1, "1"), restock=True, headers=key)
    before = snapshot(sold)

    response = refund(owner, lines=one(1, "2"), restock=True, headers=key)

    assert response.status_code == 422
    assert response.json() == {
        "detail": "This Idempotency-Key was used with a different request.",
        "code": "idempotency_key_reused",
    }
    assert snapshot(sold) == before


def test_a_refund_key_belongs_to_its_sale(sold, client_for):
    owner = client_for(sold.owner, sold.store)
    checkout(owner, [{"product": 2, "quantity": "1"}], [{"method": "card", "amount": "7.99"}])
    key = {"Idempotency-Key": "same-key"}

    first = refund(owner, 1, lines=one(2, "1"), method="card", headers=key)
    second = refund(owner, 2, lines=one(3, "1"), method="card", headers=key)

    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["id"], second.json()["id"]) == (1, 2)
    assert (first.json()["sale"], second.json()["sale"]) == (1, 2)
