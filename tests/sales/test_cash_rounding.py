"""Cash rounding where coins are gone: the cash due rounded to the store's step, half-up; the
sale records the signed adjustment; total, tax and analytics stay exact; the Z report totals it."""

from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from sales.models import Sale
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
