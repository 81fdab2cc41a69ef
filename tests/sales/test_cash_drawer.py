"""The till's drawer: pay-ins and pay-outs, the X report of an open shift, and blind closing
with a largest difference a cashier may close with."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from sales.models import CashMovement, Shift
from stores.models import Store
from tests.sales.test_shifts import (  # noqa: F401 - busy_shift: a fixture
    SHIFTS,
    busy_shift,
    checkout,
    open_shift,
    stored_shift,
)

MOVEMENTS = f"{SHIFTS}1/cash-movements/"
REPORT = f"{SHIFTS}1/report/"
TOO_FAR = {
    "detail": "The counted cash is further from the expected cash than this store allows a "
    "cashier to close with: count again, or ask an owner or a manager to close the shift.",
    "code": "permission_denied",
}


def pay(client, kind: str, amount: str, reason: str = "Float top-up"):
    return client.post(MOVEMENTS, {"kind": kind, "amount": amount, "reason": reason})


@pytest.mark.parametrize("role", ["owner", "manager", "cashier"])
def test_every_role_pays_in_and_out_and_lists_them(busy_shift, client_for, role):  # noqa: F811
    client = client_for(getattr(busy_shift, role), busy_shift.store)

    paid_in = pay(client, "pay_in", "50.00")
    paid_out = pay(client, "pay_out", "12.30", reason="Milk from the corner shop")

    assert paid_in.status_code == 201, paid_in.content
    body = paid_in.json()
    assert {key: body[key] for key in ("id", "kind", "amount", "reason", "created_by")} == {
        "id": 1,
        "kind": "pay_in",
        "amount": "50.00",
        "reason": "Float top-up",
        "created_by": getattr(busy_shift, role).pk,
    }
    assert paid_out.json()["kind"] == "pay_out"
    listed = client.get(MOVEMENTS).json()
    assert [(m["kind"], m["amount"]) for m in listed["results"]] == [
        ("pay_in", "50.00"),
        ("pay_out", "12.30"),
    ]


def test_the_z_report_counts_the_drawers_pay_ins_and_pay_outs(busy_shift, client_for):  # noqa: F811
    cashier = client_for(busy_shift.cashier, busy_shift.store)
    pay(cashier, "pay_in", "50.00")
    pay(cashier, "pay_out", "12.30")
    pay(cashier, "pay_out", "0.70")

    closed = client_for(busy_shift.manager, busy_shift.store).post(
        f"{SHIFTS}1/close/", {"counted_cash": "144.25"}
    )

    # 100.00 + 14.50 cash sales − 7.25 cash refund + 50.00 − 13.00
    assert closed.status_code == 200, closed.content
    figures = closed.json()
    assert (figures["pay_ins"], figures["pay_outs"], figures["expected_cash"]) == (
        "50.00",
        "13.00",
        "144.25",
    )
    assert figures["difference"] == "0.00"


def test_the_x_report_is_the_open_shifts_figures_and_changes_nothing(busy_shift, client_for):  # noqa: F811
    cashier = client_for(busy_shift.cashier, busy_shift.store)
    pay(cashier, "pay_in", "50.00")
    before = stored_shift(busy_shift, 1)

    report = client_for(busy_shift.manager, busy_shift.store).get(REPORT)

    assert report.status_code == 200
    assert report.json() == {
        "shift": 1,
        "status": "open",
        "opening_cash": "100.00",
        "sales_count": 2,
        "cash_sales": "14.50",
        "cash_refunds": "7.25",
        "pay_ins": "50.00",
        "pay_outs": "0.00",
        "cash_rounding": "0.00",
        "expected_cash": "157.25",
        "counted_cash": None,
        "difference": None,
        "totals_by_method": [
            {"method": "cash", "amount": "14.50"},
            {"method": "card", "amount": "9.99"},
            {"method": "other", "amount": "0.00"},
        ],
        "late_sales_count": 0,
        "late_sales_total": "0.00",
    }
    after = stored_shift(busy_shift, 1)
    assert (after.status, after.expected_cash, after.sales_count) == ("open", None, None)
    assert before.status == after.status
    # and once closed, the report is the fixed Z report
    client_for(busy_shift.owner, busy_shift.store).post(
        f"{SHIFTS}1/close/", {"counted_cash": "157.00"}
    )
    closed = cashier.get(REPORT).json()
    assert (closed["status"], closed["counted_cash"], closed["difference"]) == (
        "closed",
        "157.00",
        "-0.25",
    )


def test_with_blind_close_a_cashier_sees_no_expected_figure_until_closed(
    busy_shift,  # noqa: F811
    client_for,
):
    Store.objects.filter(pk=busy_shift.store.pk).update(blind_close=True)
    cashier = client_for(busy_shift.cashier, busy_shift.store)

    blind = cashier.get(REPORT).json()
    seen = client_for(busy_shift.manager, busy_shift.store).get(REPORT).json()

    assert (blind["expected_cash"], blind["cash_sales"], blind["totals_by_method"]) == (
        None,
        None,
        None,
    )
    assert blind["sales_count"] == 2
    assert seen["expected_cash"] == "107.25"
    closed = cashier.post(f"{SHIFTS}1/close/", {"counted_cash": "107.25"})
    assert closed.json()["expected_cash"] == "107.25"  # shown once counted and closed


def test_a_cashier_cannot_close_beyond_the_largest_difference_but_a_manager_can(
    busy_shift,  # noqa: F811
    client_for,
):
    Store.objects.filter(pk=busy_shift.store.pk).update(
        blind_close=True, max_cash_difference=Decimal("5.00")
    )
    cashier = client_for(busy_shift.cashier, busy_shift.store)

    refused = cashier.post(f"{SHIFTS}1/close/", {"counted_cash": "100.00"})  # 7.25 short

    assert refused.status_code == 403
    assert refused.json() == TOO_FAR
    assert stored_shift(busy_shift, 1).status == "open"  # nothing written
    within = cashier.post(f"{SHIFTS}1/close/", {"counted_cash": "102.25"})  # 5.00 short
    assert within.status_code == 200, within.content
    assert within.json()["difference"] == "-5.00"


def test_a_manager_closes_whatever_the_difference(busy_shift, client_for):  # noqa: F811
    Store.objects.filter(pk=busy_shift.store.pk).update(max_cash_difference=Decimal("0.00"))

    closed = client_for(busy_shift.manager, busy_shift.store).post(
        f"{SHIFTS}1/close/", {"counted_cash": "90.00"}
    )

    assert closed.status_code == 200
    assert closed.json()["difference"] == "-17.25"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "refund", "amount": "1.00", "reason": "x"}, "kind"),
        ({"kind": "pay_in", "amount": "0.00", "reason": "x"}, "amount"),
        ({"kind": "pay_in", "amount": "-1.00", "reason": "x"}, "amount"),
        ({"kind": "pay_in", "amount": "1.001", "reason": "x"}, "amount"),
        ({"kind": "pay_in", "amount": "1" + "0" * 30, "reason": "x"}, "amount"),
        ({"kind": "pay_in", "amount": "1.00", "reason": ""}, "reason"),
        ({"kind": "pay_in", "amount": "1.00", "reason": "x" * 201}, "reason"),
        ({"kind": "pay_in", "amount": "1.00"}, "reason"),
    ],
)
def test_bad_movements_are_400_and_write_nothing(busy_shift, client_for, body, field):  # noqa: F811
    response = client_for(busy_shift.cashier, busy_shift.store).post(MOVEMENTS, body)

    assert response.status_code == 400
    assert field in response.json()
    with schema_context(busy_shift.store.schema_name):
        assert not CashMovement.objects.exists()


def test_a_closed_shift_takes_no_movement(busy_shift, client_for):  # noqa: F811
    client_for(busy_shift.owner, busy_shift.store).post(
        f"{SHIFTS}1/close/", {"counted_cash": "107.25"}
    )

    response = pay(client_for(busy_shift.cashier, busy_shift.store), "pay_out", "5.00")

    assert response.status_code == 409
    assert response.json()["code"] == "shift_not_open"
    with schema_context(busy_shift.store.schema_name):
        assert not CashMovement.objects.exists()
        assert Shift.objects.filter(Q(pay_ins="0.00") & Q(pay_outs="0.00")).count() == 1


def test_the_store_owner_sets_the_drawer_settings(busy_shift, client_for):  # noqa: F811
    owner = client_for(busy_shift.owner, busy_shift.store)

    changed = owner.patch("/api/store/", {"blind_close": True, "max_cash_difference": "2.50"})
    unset = owner.patch("/api/store/", {"max_cash_difference": None}, format="json")
    bad = owner.patch("/api/store/", {"max_cash_difference": "2.505"})

    assert changed.status_code == 200, changed.content
    assert (changed.json()["blind_close"], changed.json()["max_cash_difference"]) == (True, "2.50")
    assert unset.json()["max_cash_difference"] is None
    assert bad.status_code == 400
    assert "max_cash_difference" in bad.json()


def test_the_x_report_costs_the_same_statements_for_a_few_sales_and_for_many(
    busy_shift,  # noqa: F811
    client_for,
):
    manager = client_for(busy_shift.manager, busy_shift.store)
    with CaptureQueriesContext(connection) as few:
        manager.get(REPORT)
    cashier = client_for(busy_shift.cashier, busy_shift.store)
    for _ in range(20):
        checkout(cashier, [{"product": 1, "quantity": "0.1"}], [{"method": "cash", "amount": "1"}])
        pay(cashier, "pay_in", "1.00")
    with CaptureQueriesContext(connection) as many:
        report = manager.get(REPORT).json()

    assert report["sales_count"] == 22
    assert len(few.captured_queries) == len(many.captured_queries)
