"""Cash rounding where coins are gone: the cash due rounded to the store's step, half-up; the
sale records the signed adjustment; total, tax and analytics stay exact; the Z report totals it."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils.timezone import now
from django_tenants.utils import schema_context
from rest_framework.fields import DateTimeField

from sales.models import Sale, Shift
from stores.models import Store
from tests.sales.test_shifts import SHIFTS, add_product, checkout, open_shift


def one(product: int) -> list[dict]:
    return [{"product": product, "quantity": "1"}]


def cash(amount: str) -> list[dict]:
    return [{"method": "cash", "amount": amount}]


def rounding_store(staffed, *, currency: str, step: str, price: str) -> None:
    Store.objects.filter(pk=staffed.store.pk).update(
        currency=currency, cash_rounding=Decimal(step), prices_include_tax=True
    )
    staffed.store.refresh_from_db()
    add_product(staffed, name="Chocolate", price=price, tax_rate="8.10", stock="100")


@pytest.mark.parametrize(
    "case",
    [
        ("10.02", "10.00", "-0.02", "0.00"),  # rounded down: 10.00 is due
        ("10.03", "20.00", "0.02", "9.95"),  # rounded up: 10.05 is due
        ("10.05", "10.05", "0.00", "0.00"),  # on the step already
    ],
)
def test_a_cash_sale_in_francs_is_due_the_total_rounded_to_five_rappen(store_a, client_for, case):
    price, paid, rounding, change = case
    rounding_store(store_a, currency="CHF", step="0.05", price=price)
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)

    sale = checkout(client, one(1), cash(paid))

    assert sale.status_code == 201, sale.content
    body = sale.json()
    assert (body["total"], body["cash_rounding"], body["change_due"]) == (price, rounding, change)
    assert body["paid_total"] == paid
    assert body["tax_total"] == str(
        (Decimal(price) * Decimal("8.10") / Decimal("108.10")).quantize(Decimal("0.01"))
    )  # the tax of the exact total


def test_too_little_cash_for_the_rounded_amount_is_refused(store_a, client_for):
    rounding_store(store_a, currency="CHF", step="0.05", price="10.03")
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)

    refused = checkout(
        client, [{"product": 1, "quantity": "1"}], [{"method": "cash", "amount": "10.03"}]
    )

    assert refused.status_code == 400
    assert "10.05" in str(refused.json())
    with schema_context(store_a.store.schema_name):
        assert not Sale.objects.exists()


def test_a_split_payment_rounds_only_the_cash_part(store_a, client_for):
    rounding_store(store_a, currency="CHF", step="0.05", price="10.03")
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)

    split = checkout(
        client,
        [{"product": 1, "quantity": "1"}],
        [{"method": "card", "amount": "4.00"}, {"method": "cash", "amount": "10.00"}],
    ).json()
    card_only = checkout(
        client, [{"product": 1, "quantity": "1"}], [{"method": "card", "amount": "10.03"}]
    ).json()

    # cash part 6.03 -> 6.05: +0.02, change 3.95; by card, exact
    assert (split["cash_rounding"], split["change_due"], split["total"]) == (
        "0.02",
        "3.95",
        "10.03",
    )
    assert (card_only["cash_rounding"], card_only["change_due"]) == ("0.00", "0.00")


def test_kronor_round_to_whole_ones_half_up_and_the_z_report_totals_the_adjustments(
    store_a, client_for
):
    rounding_store(store_a, currency="SEK", step="1.00", price="10.49")
    add_product(store_a, name="Bun", price="10.50", tax_rate="12.00", stock="100")
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)

    down = checkout(
        client, [{"product": 1, "quantity": "1"}], [{"method": "cash", "amount": "10.00"}]
    )
    up = checkout(
        client, [{"product": 2, "quantity": "1"}], [{"method": "cash", "amount": "11.00"}]
    )
    report = client.get(f"{SHIFTS}1/report/").json()
    closed = client.post(f"{SHIFTS}1/close/", {"counted_cash": "121.00"}).json()

    assert (down.json()["cash_rounding"], up.json()["cash_rounding"]) == ("-0.49", "0.50")
    # the drawer took 10.00 + 11.00 for 20.99 of sales: +0.01 of rounding in all
    assert (report["cash_sales"], report["cash_rounding"], report["expected_cash"]) == (
        "21.00",
        "0.01",
        "121.00",
    )
    assert (closed["cash_rounding"], closed["difference"]) == ("0.01", "0.00")


def test_without_a_step_nothing_is_rounded(store_a, client_for):
    add_product(store_a, name="Tea", price="10.03", tax_rate="0.00", stock="5")
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)

    sale = checkout(
        client, [{"product": 1, "quantity": "1"}], [{"method": "cash", "amount": "10.03"}]
    )

    assert (sale.json()["cash_rounding"], sale.json()["change_due"]) == ("0.00", "0.00")


def test_the_owner_sets_the_step_in_the_currencys_places(store_a, client_for):
    owner = client_for(store_a.owner, store_a.store)

    set_step = owner.patch("/api/store/", {"cash_rounding": "0.05"})
    bad = owner.patch("/api/store/", {"cash_rounding": "0.005"})
    negative = owner.patch("/api/store/", {"cash_rounding": "-0.05"})

    assert set_step.status_code == 200, set_step.content
    assert set_step.json()["cash_rounding"] == "0.05"
    assert (bad.status_code, negative.status_code) == (400, 400)


# The till's whole day in a 0-, 2- and 3-place currency: opening cash, a cash sale with change,
# a pay-in and a pay-out, a cash refund, an offline sale made before the shift opened (late),
# each cash sale and cash refund rounded to the store's step. Every figure by hand, to the unit.
DAYS = {
    "JPY": {
        "step": "10", "opening": "10000", "price": "1234", "paid": "2000", "due": "1230",
        "pay_in": "5000", "pay_out": "300",
        "change": "770", "rounding": "-4", "cash_sales": "2460",
        "refund_rounding": "-4", "cash_refunds": "1230",
        "expected": "15930", "rounding_total": "-4",
    },
    "EUR": {
        "step": "0.05", "opening": "100.00", "price": "12.34", "paid": "20.00", "due": "12.35",
        "pay_in": "50.00", "pay_out": "3.00",
        "change": "7.65", "rounding": "0.01", "cash_sales": "24.70",
        "refund_rounding": "0.01", "cash_refunds": "12.35",
        "expected": "159.35", "rounding_total": "0.01",
    },
    "KWD": {
        "step": "0.005", "opening": "10.000", "price": "1.234", "paid": "2.000", "due": "1.235",
        "pay_in": "5.000", "pay_out": "0.300",
        "change": "0.765", "rounding": "0.001", "cash_sales": "2.470",
        "refund_rounding": "0.001", "cash_refunds": "1.235",
        "expected": "15.935", "rounding_total": "0.001",
    },
}  # fmt: skip


@pytest.mark.parametrize("currency", sorted(DAYS))
def test_the_x_and_z_reports_of_a_whole_day_to_the_unit(store_a, client_for, currency):
    day = DAYS[currency]
    Store.objects.filter(pk=store_a.store.pk).update(created_at=now() - timedelta(days=1))
    rounding_store(store_a, currency=currency, step=day["step"], price=day["price"])
    owner = client_for(store_a.owner, store_a.store)
    cashier = client_for(store_a.cashier, store_a.store)
    open_shift(cashier, opening_cash=day["opening"])
    with schema_context(store_a.store.schema_name):
        Shift.objects.filter(pk=1).update(opened_at=now() - timedelta(hours=1))

    sale = checkout(cashier, one(1), cash(day["paid"])).json()
    paid_in = cashier.post(
        f"{SHIFTS}1/cash-movements/", {"kind": "pay_in", "amount": day["pay_in"], "reason": "Float"}
    )
    paid_out = cashier.post(
        f"{SHIFTS}1/cash-movements/", {"kind": "pay_out", "amount": day["pay_out"], "reason": "Ice"}
    )
    refund = owner.post(
        "/api/sales/1/refund/",
        {"lines": [{"line": 1, "quantity": "1"}], "method": "cash", "restock": True},
        format="json",
    )
    late = cashier.post(
        "/api/sales/sync/",
        {
            "register": 1,
            "sales": [
                {
                    "client_id": str(uuid.uuid4()),
                    "occurred_at": DateTimeField().to_representation(now() - timedelta(hours=2)),
                    "lines": one(1),
                    "payments": cash(day["due"]),
                }
            ],
        },
        format="json",
    ).json()["results"][0]

    assert (sale["cash_rounding"], sale["change_due"]) == (day["rounding"], day["change"])
    assert (paid_in.status_code, paid_out.status_code, refund.status_code) == (201, 201, 201)
    # The refund is the exact amount; the cash paid out is rounded to the step, as the sale's.
    assert (refund.json()["total"], refund.json()["cash_rounding"]) == (
        day["price"],
        day["refund_rounding"],
    )
    assert late["status"] == "applied"
    x_report = owner.get(f"{SHIFTS}1/report/").json()
    closed = owner.post(f"{SHIFTS}1/close/", {"counted_cash": day["expected"]}).json()
    for figures in (x_report, closed):
        assert figures["sales_count"] == 2
        assert figures["cash_sales"] == day["cash_sales"]
        assert figures["cash_refunds"] == day["cash_refunds"]
        assert (figures["pay_ins"], figures["pay_outs"]) == (day["pay_in"], day["pay_out"])
        assert figures["cash_rounding"] == day["rounding_total"]
        assert (figures["late_sales_count"], figures["late_sales_total"]) == (1, day["price"])
        assert figures["expected_cash"] == day["expected"]
    assert Decimal(closed["difference"]) == 0


def test_a_card_refund_of_a_rounded_sale_is_not_rounded(store_a, client_for):
    rounding_store(store_a, currency="CHF", step="0.05", price="10.03")
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)
    checkout(client, one(1), cash("10.05"))

    refund = client.post(
        "/api/sales/1/refund/",
        {"lines": [{"line": 1, "quantity": "1"}], "method": "card"},
        format="json",
    )

    assert refund.status_code == 201
    assert (refund.json()["total"], refund.json()["cash_rounding"]) == ("10.03", "0.00")
    report = client.get(f"{SHIFTS}1/report/").json()
    assert (report["cash_refunds"], report["cash_rounding"]) == ("0.00", "0.02")
    assert report["expected_cash"] == "110.05"


def test_a_refund_receipt_shows_the_cash_paid_out(store_a, client_for):
    rounding_store(store_a, currency="CHF", step="0.05", price="10.03")
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)
    checkout(client, one(1), cash("10.05"))
    client.post(
        "/api/sales/1/refund/",
        {"lines": [{"line": 1, "quantity": "1"}], "method": "cash"},
        format="json",
    )

    text = client.get("/api/sales/1/refunds/1/receipt/").content.decode()

    rows = dict(re.split(r" {2,}", line, maxsplit=1) for line in text.splitlines() if "  " in line)
    assert rows["REFUNDED"] == "-CHF\xa010.03"
    assert rows["Cash rounding"] == "-CHF\xa00.02"
    assert rows["Cash"] == "-CHF\xa010.05"


def test_cash_refunds_unit_by_unit_pay_out_what_one_refund_would(store_a, client_for):
    rounding_store(store_a, currency="CHF", step="0.05", price="0.03")
    client = client_for(store_a.owner, store_a.store)
    open_shift(client)
    checkout(client, [{"product": 1, "quantity": "10"}], cash("0.30"))

    paid = Decimal(0)
    for _ in range(10):
        refund = client.post(
            "/api/sales/1/refund/",
            {"lines": [{"line": 1, "quantity": "1"}], "method": "cash"},
            format="json",
        ).json()
        paid += Decimal(refund["total"]) + Decimal(refund["cash_rounding"])

    assert paid == Decimal("0.30")  # not 10 × 0.05
    report = client.get(f"{SHIFTS}1/report/").json()
    assert (report["cash_refunds"], report["expected_cash"]) == ("0.30", "100.00")
