"""Concurrent checkouts, retries, refunds and shift closings: real threads, real commits."""

import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django_tenants.utils import schema_context, tenant_context
from rest_framework.test import APIClient

from catalog.models import Product, StockMovement
from catalog.services import product_create, stock_adjust
from sales.models import Counter as SaleCounter
from sales.models import IdempotencyKey, Refund, Sale, SaleLine, SalePayment, Shift
from stores.models import Store
from tests.conftest import StoreWithStaff, access_token, make_store

SALES = "/api/sales/"
SHIFTS = "/api/sales/shifts/"
SCHEMA = "tenant_test_alpha"
THREAD_TIMEOUT = 120

INSUFFICIENT_P1 = {
    "detail": "Not enough stock.",
    "code": "insufficient_stock",
    "products": [{"id": 1, "requested": "1.000", "available": "0.000"}],
}
SHIFT_NOT_OPEN = {"detail": "This register has no open shift.", "code": "shift_not_open"}

pytestmark = pytest.mark.usefixtures("committed_stores")


def api(token: str, store: Store) -> APIClient:
    """A client of its own, for one thread: the user's token and the store's key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TENANT_KEY=store.tenant_key)
    return client


def run_together(calls: list[Callable[[], object]]) -> list:
    """Run each call in its own thread, all released at once; their results in order.

    A call that raised (a 500 re-raised by the test client, a deadlock) leaves its exception.
    """
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list = [None] * len(calls)

    def work(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:  # reported by the test below, not swallowed
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_TIMEOUT)
    assert [thread.is_alive() for thread in threads] == [False] * len(threads)
    errors = [result for result in results if isinstance(result, BaseException)]
    assert errors == []
    return results


def post(token: str, store: Store, url: str, body: dict, **headers: str) -> Callable:
    def call() -> tuple[int, dict, dict]:
        response = api(token, store).post(url, body, headers=headers or None)
        return response.status_code, response.json(), dict(response.headers)

    return call


def add_product(staffed: StoreWithStaff, *, name: str, price: str, stock: str) -> Product:
    with tenant_context(staffed.store):
        product = product_create(name=name, price=Decimal(price), tax_rate=Decimal("20.00"))
        stock_adjust(product=product, delta=Decimal(stock), reason="restock", user=None)
    return product


def staffed_store() -> StoreWithStaff:
    """A committed store on the alpha schema, with a shift open on register 1 (shift 1)."""
    staffed = make_store(SCHEMA, name="Concurrency Shop")
    response = api(access_token(staffed.owner), staffed.store).post(
        SHIFTS, {"register": 1, "opening_cash": "100.00"}
    )
    assert response.status_code == 201
    return staffed


def ledger(product_id: int) -> tuple[Decimal, Decimal]:
    """A product's stock and the sum of its movements (call inside the store's schema)."""
    stock = Product.objects.get(pk=product_id).stock
    moved = StockMovement.objects.filter(product_id=product_id).aggregate(total=Sum("delta"))
    return stock, moved["total"]


def test_concurrent_checkouts_of_the_last_units_never_oversell_nor_deadlock():
    # given 10 units of P1 and plenty of P2; 30 buyers of one P1 each, half of them also buying
    # a P2, listed before or after the P1
    staffed = staffed_store()
    add_product(staffed, name="Last units", price="5.00", stock="10")
    add_product(staffed, name="Plenty", price="2.00", stock="1000")
    tokens = [access_token(staffed.member(role)) for role in ("owner", "manager", "cashier")]
    baskets = []
    for index in range(30):
        if index % 2 == 0:
            baskets.append([1])
        elif index % 4 == 1:
            baskets.append([1, 2])
        else:
            baskets.append([2, 1])
    calls = [
        post(
            tokens[index % 3],
            staffed.store,
            SALES,
            {
                "register": 1,
                "lines": [{"product": product, "quantity": "1"} for product in basket],
                "payments": [{"method": "card", "amount": "7.00" if 2 in basket else "5.00"}],
            },
        )
        for index, basket in enumerate(baskets)
    ]

    results = run_together(calls)

    assert Counter(status for status, _, _ in results) == {201: 10, 409: 20}
    assert [body for status, body, _ in results if status == 409] == [INSUFFICIENT_P1] * 20
    sold = {
        body["id"]: basket
        for (status, body, _), basket in zip(results, baskets, strict=True)
        if status == 201
    }
    with schema_context(SCHEMA):
        assert ledger(1) == (Decimal("0.000"), Decimal("0.000"))
        sold_p2 = sum(1 for basket in sold.values() if 2 in basket)
        assert ledger(2) == (Decimal(1000 - sold_p2), Decimal(1000 - sold_p2))
        assert sorted(Sale.objects.values_list("number", flat=True)) == list(range(1, 11))
        assert SaleCounter.objects.get(name="sale").value == 10
        assert sorted(Sale.objects.values_list("id", flat=True)) == sorted(sold)
        for sale in Sale.objects.prefetch_related("lines", "payments"):
            assert sorted(line.product_id for line in sale.lines.all()) == sorted(sold[sale.pk])
            assert [(p.method, p.amount) for p in sale.payments.all()] == [("card", sale.total)]
            assert sale.total == (Decimal("7.00") if 2 in sold[sale.pk] else Decimal("5.00"))
            assert StockMovement.objects.filter(sale=sale).count() == len(sold[sale.pk])
        assert SaleLine.objects.count() == sum(len(basket) for basket in sold.values())


def test_concurrent_retries_with_one_idempotency_key_make_one_sale():
    staffed = staffed_store()
    add_product(staffed, name="Kettle", price="30.00", stock="10")
    token = access_token(staffed.cashier)
    body = {
        "register": 1,
        "lines": [{"product": 1, "quantity": "1"}],
        "payments": [{"method": "cash", "amount": "50.00"}],
    }
    calls = [
        post(token, staffed.store, SALES, body, **{"Idempotency-Key": "retry-8b1f"})
        for _ in range(8)
    ]

    results = run_together(calls)

    assert [status for status, _, _ in results] == [201] * 8
    first = next(body for _, body, headers in results if "Idempotent-Replayed" not in headers)
    assert [answer for _, answer, _ in results] == [first] * 8
    assert first["id"] == 1
    assert sum(1 for _, _, headers in results if headers.get("Idempotent-Replayed") == "true") == 7
    with schema_context(SCHEMA):
        assert Sale.objects.count() == 1
        assert SalePayment.objects.count() == 1
        assert ledger(1) == (Decimal("9.000"), Decimal("9.000"))
        assert StockMovement.objects.filter(reason="sale").count() == 1
        assert IdempotencyKey.objects.count() == 1


def test_two_refunds_of_a_lines_last_unit_at_once_refund_it_once():
    # given a sale of 2 units (line 1, 11.99 in all) of which 1 is refunded already
    staffed = staffed_store()
    add_product(staffed, name="Lamp", price="6.00", stock="10")
    owner = api(access_token(staffed.owner), staffed.store)
    sale = owner.post(
        SALES,
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "2", "discount": "0.01"}],
            "payments": [{"method": "card", "amount": "11.99"}],
        },
    ).json()
    refund_body = {"lines": [{"line": 1, "quantity": "1"}], "method": "cash", "restock": True}
    assert owner.post(f"{SALES}1/refund/", refund_body).json()["total"] == "6.00"
    url = f"{SALES}{sale['id']}/refund/"
    calls = [
        post(access_token(staffed.owner), staffed.store, url, refund_body),
        post(access_token(staffed.manager), staffed.store, url, refund_body),
    ]

    results = run_together(calls)

    assert sorted(status for status, _, _ in results) == [201, 409]
    refused = next(body for status, body, _ in results if status == 409)
    made = next(body for status, body, _ in results if status == 201)
    assert refused == {
        "detail": "A line cannot be refunded beyond what was sold and not yet refunded.",
        "code": "refund_exceeds_sale",
        "lines": [{"line": 1, "requested": "1.000", "refundable": "0.000"}],
    }
    assert (made["id"], made["total"]) == (2, "5.99")
    with schema_context(SCHEMA):
        line = SaleLine.objects.get(pk=1)
        assert (line.refunded_quantity, line.refunded_amount) == (Decimal("2.000"), line.total)
        assert Sale.objects.get(pk=1).refunded_total == Decimal("11.99")
        assert Refund.objects.count() == 2
        assert ledger(1) == (Decimal("10.000"), Decimal("10.000"))  # 10 − 2 + 1 + 1


BUN_CASH_SALE = {
    "register": 1,
    "lines": [{"product": 1, "quantity": "1"}],
    "payments": [{"method": "cash", "amount": "10.00"}],
}


def till(token: str, store: Store, *, limit: int, pause: float) -> Callable:
    """A till ringing up sales one after another, until it is refused or has made `limit`."""

    def ring_up() -> list[tuple[int, dict]]:
        client = api(token, store)
        answers: list[tuple[int, dict]] = []
        while len(answers) < limit and (not answers or answers[-1][0] == 201):
            response = client.post(SALES, BUN_CASH_SALE)
            answers.append((response.status_code, response.json()))
            time.sleep(pause)
        return answers

    return ring_up


def closing_after(token: str, store: Store, *, sales: int) -> Callable:
    """Close shift 1 once `sales` sales are in; answers the closing and the count before it."""

    def close() -> tuple[int, dict, int]:
        client = api(token, store)
        deadline = time.monotonic() + 60
        while (before := client.get(SALES, {"page_size": 1}).json()["count"]) < sales:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        response = client.post(f"{SHIFTS}1/close/", {"counted_cash": "0.00"})
        return response.status_code, response.json(), before

    return close


def test_a_shift_closing_amid_checkouts_reports_exactly_the_sales_it_took():
    # given 4 tills ringing up sales until they are refused, and a manager closing their shift
    # once 10 sales are in
    staffed = staffed_store()
    add_product(staffed, name="Bun", price="4.20", stock="3000")
    token = access_token(staffed.cashier)
    tills = [till(token, staffed.store, limit=250, pause=0.02)] * 4

    *answers, closing = run_together(
        [*tills, closing_after(access_token(staffed.manager), staffed.store, sales=10)]
    )

    status, report, _ = closing
    assert status == 200
    # every till was refused once, after the closing, and sold nothing more
    assert [answered[-1] for answered in answers] == [(409, SHIFT_NOT_OPEN)] * 4
    assert [status for answered in answers for status, _ in answered[:-1]] == [201] * (
        sum(len(answered) for answered in answers) - 4
    )
    taken = [body for answered in answers for status, body in answered if status == 201]
    assert len(taken) >= 10
    with schema_context(SCHEMA):
        shift = Shift.objects.get(pk=1)
        in_shift = list(Sale.objects.filter(shift=shift).order_by("number"))
        assert Sale.objects.count() == len(in_shift) == len(taken) == shift.sales_count
        assert sorted(sale.pk for sale in in_shift) == sorted(body["id"] for body in taken)
        assert [sale.number for sale in in_shift] == list(range(1, len(taken) + 1))
        assert all(sale.created_at <= shift.closed_at for sale in in_shift)
        assert ledger(1) == (Decimal(3000 - len(taken)), Decimal(3000 - len(taken)))
    cash = Decimal("4.20") * len(taken)  # 10.00 each, less 5.80 change
    assert report["sales_count"] == len(taken)
    assert report["cash_sales"] == f"{cash:.2f}"
    assert report["expected_cash"] == f"{Decimal('100.00') + cash:.2f}"
    assert report["totals_by_method"] == [
        {"method": "cash", "amount": f"{cash:.2f}"},
        {"method": "card", "amount": "0.00"},
        {"method": "other", "amount": "0.00"},
    ]


def test_a_shift_closing_waits_only_for_the_sales_in_flight():
    # given 8 tills ringing up sales back to back (at most 100 each), and a manager closing
    # their shift once 10 sales are in
    staffed = staffed_store()
    add_product(staffed, name="Bun", price="4.20", stock="3000")
    token = access_token(staffed.cashier)
    tills = [till(token, staffed.store, limit=100, pause=0)] * 8

    *_, closing = run_together(
        [*tills, closing_after(access_token(staffed.manager), staffed.store, sales=10)]
    )

    # then the closing lets in the sales under way when it asked (about one per till, two or
    # three while its own request is authenticated), not every sale made while it waits
    status, report, before = closing
    assert status == 200
    assert report["sales_count"] - before <= 3 * 8


def test_concurrent_openings_of_a_register_open_one_shift():
    staffed = make_store(SCHEMA, name="Concurrency Shop")
    tokens = [access_token(staffed.member(role)) for role in ("owner", "manager", "cashier")]
    calls = [
        post(tokens[index % 3], staffed.store, SHIFTS, {"register": 1, "opening_cash": "10.00"})
        for index in range(6)
    ]

    results = run_together(calls)

    assert sorted(status for status, _, _ in results) == [201] + [409] * 5
    assert [body for status, body, _ in results if status == 409] == [
        {"detail": "This register already has an open shift.", "code": "shift_already_open"}
    ] * 5
    with schema_context(SCHEMA):
        assert list(Shift.objects.values_list("register_id", "status")) == [(1, "open")]
