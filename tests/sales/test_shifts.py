"""Shifts (/api/sales/shifts/): opening, the Z report at closing, filters, registers in use."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context, tenant_context
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from catalog.models import Product
from catalog.services import product_create, stock_adjust
from sales.models import Counter, Register, Sale, Shift
from tests.conftest import StoreWithStaff

SALES = "/api/sales/"
SHIFTS = "/api/sales/shifts/"
REGISTERS = "/api/sales/registers/"

SHIFT_NOT_OPEN = {"detail": "This register has no open shift.", "code": "shift_not_open"}
CLOSED_ALREADY = {"detail": "This shift is closed already.", "code": "shift_not_open"}

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


def open_shift(client: APIClient, register: int = 1, opening_cash: str = "100.00") -> dict:
    response = client.post(SHIFTS, {"register": register, "opening_cash": opening_cash})
    assert response.status_code == 201, response.json()
    return response.json()


def checkout(client: APIClient, lines: list[dict], payments: list[dict], register: int = 1):
    return client.post(SALES, {"register": register, "lines": lines, "payments": payments})


def shifts_of(staffed: StoreWithStaff) -> list[dict]:
    with schema_context(staffed.store.schema_name):
        return list(Shift.objects.order_by("id").values())


def iso(value) -> str:
    return DateTimeField().to_representation(value)


def stored_shift(staffed: StoreWithStaff, shift_id: int) -> Shift:
    with schema_context(staffed.store.schema_name):
        return Shift.objects.get(pk=shift_id)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- Opening --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "manager", "cashier"])
def test_every_role_opens_a_shift(store_a, client_for, role):
    user = store_a.member(role)

    response = client_for(user, store_a.store).post(
        SHIFTS, {"register": 1, "opening_cash": "150.5"}
    )

    assert response.status_code == 201
    assert response.json() == {
        "id": 1,
        "register": 1,
        "status": "open",
        "opened_by": user.pk,
        "opened_at": iso(stored_shift(store_a, 1).opened_at),
        "closed_by": None,
        "closed_at": None,
        "opening_cash": "150.50",
        "cash_sales": None,
        "cash_refunds": None,
        "expected_cash": None,
        "counted_cash": None,
        "difference": None,
        "sales_count": None,
        "totals_by_method": None,
        "late_sales_count": None,
        "late_sales_total": None,
        "pay_ins": None,
        "pay_outs": None,
        "cash_rounding": None,
    }
    detail = client_for(user, store_a.store).get(f"{SHIFTS}1/")
    assert detail.json() == response.json()


def test_a_second_shift_on_the_same_register_is_409(store_a, client_for):
    client = client_for(store_a.cashier, store_a.store)
    open_shift(client)
    before = shifts_of(store_a)

    response = client_for(store_a.manager, store_a.store).post(
        SHIFTS, {"register": 1, "opening_cash": "10.00"}
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This register already has an open shift.",
        "code": "shift_already_open",
    }
    assert shifts_of(store_a) == before


def test_another_register_opens_its_own_shift_meanwhile(store_a, client_for):
    client = client_for(store_a.owner, store_a.store)
    client.post(REGISTERS, {"name": "Till 2"})
    open_shift(client, register=1)

    response = client.post(SHIFTS, {"register": 2, "opening_cash": "0"})

    assert response.status_code == 201
    assert (response.json()["id"], response.json()["register"]) == (2, 2)
    assert response.json()["opening_cash"] == "0.00"


def test_a_new_shift_opens_once_the_last_is_closed(store_a, client_for):
    client = client_for(store_a.cashier, store_a.store)
    open_shift(client)
    client.post(f"{SHIFTS}1/close/", {"counted_cash": "100.00"})

    response = client.post(SHIFTS, {"register": 1, "opening_cash": "100.00"})

    assert response.status_code == 201
    assert response.json()["id"] == 2
    assert [row["status"] for row in shifts_of(store_a)] == ["closed", "open"]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"register": 99, "opening_cash": "10.00"},
            {"register": ["No active register has this id."]},
        ),
        (
            {"register": 2, "opening_cash": "10.00"},
            {"register": ["No active register has this id."]},
        ),
        (
            {"register": "one", "opening_cash": "10.00"},
            {"register": ["A valid integer is required."]},
        ),
        (
            {"register": 1, "opening_cash": "-0.01"},
            {"opening_cash": ["Ensure this value is greater than or equal to 0."]},
        ),
        (
            {"register": 1, "opening_cash": "1.001"},
            {"opening_cash": ["EUR amounts have at most 2 decimal places."]},
        ),
        ({"register": 1}, {"opening_cash": ["This field is required."]}),
        ({"opening_cash": "10.00"}, {"register": ["This field is required."]}),
    ],
)
def test_bad_opening_input_is_400_and_opens_nothing(store_a, client_for, body, errors):
    # given register 2, which is inactive
    with schema_context(store_a.store.schema_name):
        Register.objects.create(name="Retired till", is_active=False)

    response = client_for(store_a.owner, store_a.store).post(SHIFTS, body)

    assert response.status_code == 400
    assert response.json() == errors
    assert shifts_of(store_a) == []


# --- Closing: the Z report ------------------------------------------------------------------


@pytest.fixture
def busy_shift(store_a: StoreWithStaff, client_for: ClientFor) -> StoreWithStaff:
    """Shift 1 opened by the cashier with 100.00, then:

    sale 1: 2 × Coffee at 7.25 = 14.50, paid 20.00 cash, change 5.50 (line 1);
    sale 2: 1 × Cake at 9.99, paid by card (line 2);
    refund 1: 1 Coffee, 7.25 in cash; refund 2: the Cake, 9.99 to the card.
    """
    add_product(store_a, name="Coffee", price="7.25", tax_rate="20.00", stock="10")
    add_product(store_a, name="Cake", price="9.99", tax_rate="10.00", stock="5")
    cashier = client_for(store_a.cashier, store_a.store)
    owner = client_for(store_a.owner, store_a.store)
    open_shift(cashier, opening_cash="100.00")
    first = checkout(
        cashier, [{"product": 1, "quantity": "2"}], [{"method": "cash", "amount": "20.00"}]
    )
    second = checkout(
        cashier, [{"product": 2, "quantity": "1"}], [{"method": "card", "amount": "9.99"}]
    )
    assert (first.json()["change_due"], second.json()["total"]) == ("5.50", "9.99")
    cash_refund = owner.post(
        f"{SALES}1/refund/", {"lines": [{"line": 1, "quantity": "1"}], "method": "cash"}
    )
    card_refund = owner.post(
        f"{SALES}2/refund/", {"lines": [{"line": 2, "quantity": "1"}], "method": "card"}
    )
    assert (cash_refund.json()["total"], card_refund.json()["total"]) == ("7.25", "9.99")
    return store_a


def test_closing_gives_the_z_report_to_the_cent(busy_shift, client_for):
    manager = client_for(busy_shift.manager, busy_shift.store)

    response = manager.post(f"{SHIFTS}1/close/", {"counted_cash": "107.00"})

    assert response.status_code == 200
    stored = stored_shift(busy_shift, 1)
    assert response.json() == {
        "id": 1,
        "register": 1,
        "status": "closed",
        "opened_by": busy_shift.cashier.pk,
        "opened_at": iso(stored.opened_at),
        "closed_by": busy_shift.manager.pk,
        "closed_at": iso(stored.closed_at),
        "opening_cash": "100.00",
        "cash_sales": "14.50",  # 20.00 taken − 5.50 change
        "cash_refunds": "7.25",  # the card refund is not paid from the drawer
        "expected_cash": "107.25",  # 100.00 + 14.50 − 7.25
        "counted_cash": "107.00",
        "difference": "-0.25",
        "sales_count": 2,
        # What each method took, net of change, before refunds.
        "totals_by_method": [
            {"method": "cash", "amount": "14.50"},
            {"method": "card", "amount": "9.99"},
            {"method": "other", "amount": "0.00"},
        ],
        "late_sales_count": 0,
        "late_sales_total": "0.00",
        "pay_ins": "0.00",
        "pay_outs": "0.00",
        "cash_rounding": "0.00",
    }
    assert manager.get(f"{SHIFTS}1/").json() == response.json()


def test_a_drawer_with_more_cash_than_expected_has_a_positive_difference(busy_shift, client_for):
    response = client_for(busy_shift.cashier, busy_shift.store).post(
        f"{SHIFTS}1/close/", {"counted_cash": "110"}
    )

    body = response.json()
    assert (body["expected_cash"], body["counted_cash"], body["difference"]) == (
        "107.25",
        "110.00",
        "2.75",
    )


def test_the_z_report_of_a_shift_without_sales(store_a, client_for):
    client = client_for(store_a.cashier, store_a.store)
    open_shift(client, opening_cash="50.00")

    body = client.post(f"{SHIFTS}1/close/", {"counted_cash": "50.00"}).json()

    assert {key: body[key] for key in body if key not in ("opened_at", "closed_at")} == {
        "id": 1,
        "register": 1,
        "status": "closed",
        "opened_by": store_a.cashier.pk,
        "closed_by": store_a.cashier.pk,
        "opening_cash": "50.00",
        "cash_sales": "0.00",
        "cash_refunds": "0.00",
        "expected_cash": "50.00",
        "counted_cash": "50.00",
        "difference": "0.00",
        "sales_count": 0,
        "totals_by_method": [
            {"method": "cash", "amount": "0.00"},
            {"method": "card", "amount": "0.00"},
            {"method": "other", "amount": "0.00"},
        ],
        "late_sales_count": 0,
        "late_sales_total": "0.00",
        "pay_ins": "0.00",
        "pay_outs": "0.00",
        "cash_rounding": "0.00",
    }


def test_a_split_payment_counts_each_method_and_change_comes_off_the_cash(store_a, client_for):
    add_product(store_a, name="Wine", price="23.40", tax_rate="20.00", stock="5")
    client = client_for(store_a.cashier, store_a.store)
    open_shift(client, opening_cash="20.00")
    sale = checkout(
        client,
        [{"product": 1, "quantity": "1"}],
        [
            {"method": "card", "amount": "10.00"},
            {"method": "other", "amount": "3.40"},
            {"method": "cash", "amount": "15.00"},
        ],
    ).json()
    assert sale["change_due"] == "5.00"

    body = client.post(f"{SHIFTS}1/close/", {"counted_cash": "30.00"}).json()

    assert (body["cash_sales"], body["expected_cash"], body["difference"]) == (
        "10.00",
        "30.00",
        "0.00",
    )
    assert body["totals_by_method"] == [
        {"method": "cash", "amount": "10.00"},
        {"method": "card", "amount": "10.00"},
        {"method": "other", "amount": "3.40"},
    ]


def test_a_refund_counts_in_the_shift_that_paid_it(busy_shift, client_for):
    # given sale 1 of shift 1 refunded in cash from shift 2
    owner = client_for(busy_shift.owner, busy_shift.store)
    first = owner.post(f"{SHIFTS}1/close/", {"counted_cash": "107.25"}).json()
    open_shift(owner, opening_cash="40.00")
    refund = owner.post(
        f"{SALES}1/refund/", {"lines": [{"line": 1, "quantity": "1"}], "method": "cash"}
    )
    assert (refund.json()["shift"], refund.json()["total"]) == (2, "7.25")

    second = owner.post(f"{SHIFTS}2/close/", {"counted_cash": "32.75"}).json()

    assert (second["sales_count"], second["cash_sales"], second["cash_refunds"]) == (
        0,
        "0.00",
        "7.25",
    )
    assert (second["expected_cash"], second["difference"]) == ("32.75", "0.00")
    assert owner.get(f"{SHIFTS}1/").json() == first  # the closed report does not move


def test_closing_twice_is_409_and_changes_nothing(busy_shift, client_for):
    client = client_for(busy_shift.owner, busy_shift.store)
    client.post(f"{SHIFTS}1/close/", {"counted_cash": "107.00"})
    before = shifts_of(busy_shift)

    response = client.post(f"{SHIFTS}1/close/", {"counted_cash": "200.00"})

    assert response.status_code == 409
    assert response.json() == CLOSED_ALREADY
    assert shifts_of(busy_shift) == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"counted_cash": "-1.00"},
            {"counted_cash": ["Ensure this value is greater than or equal to 0."]},
        ),
        ({"counted_cash": "ten"}, {"counted_cash": ["A valid number is required."]}),
        ({}, {"counted_cash": ["This field is required."]}),
    ],
)
def test_bad_closing_input_is_400_and_the_shift_stays_open(busy_shift, client_for, body, errors):
    before = shifts_of(busy_shift)

    response = client_for(busy_shift.owner, busy_shift.store).post(f"{SHIFTS}1/close/", body)

    assert response.status_code == 400
    assert response.json() == errors
    assert shifts_of(busy_shift) == before


def test_closing_an_unknown_shift_is_404(store_a, client_for):
    response = client_for(store_a.owner, store_a.store).post(
        f"{SHIFTS}7/close/", {"counted_cash": "0"}
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize("role", ["owner", "manager", "cashier"])
def test_every_role_closes_a_shift(store_a, client_for, role):
    user = store_a.member(role)
    open_shift(client_for(store_a.cashier, store_a.store))

    response = client_for(user, store_a.store).post(f"{SHIFTS}1/close/", {"counted_cash": "100"})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["closed_by"]) == ("closed", user.pk)


def test_a_closed_shift_takes_no_sales(busy_shift, client_for):
    cashier = client_for(busy_shift.cashier, busy_shift.store)
    cashier.post(f"{SHIFTS}1/close/", {"counted_cash": "107.25"})
    with schema_context(busy_shift.store.schema_name):
        sales_before = list(Sale.objects.order_by("id").values())
        stock_before = dict(Product.objects.values_list("id", "stock"))
        counter_before = list(Counter.objects.values())

    response = checkout(
        cashier, [{"product": 1, "quantity": "1"}], [{"method": "cash", "amount": "7.25"}]
    )

    assert response.status_code == 409
    assert response.json() == SHIFT_NOT_OPEN
    with schema_context(busy_shift.store.schema_name):
        assert list(Sale.objects.order_by("id").values()) == sales_before
        assert dict(Product.objects.values_list("id", "stock")) == stock_before
        assert list(Counter.objects.values()) == counter_before
    assert stored_shift(busy_shift, 1).sales_count == 2
    # the next shift's first sale takes the next number: the refused one used none
    open_shift(cashier)
    again = checkout(
        cashier, [{"product": 1, "quantity": "1"}], [{"method": "cash", "amount": "7.25"}]
    )
    assert (again.json()["number"], again.json()["shift"]) == (3, 2)


# --- Listing --------------------------------------------------------------------------------


def test_shifts_filter_by_status_and_register(store_a, client_for):
    # given shift 1 (register 1, closed), shift 2 (register 1, open), shift 3 (register 2, open)
    owner = client_for(store_a.owner, store_a.store)
    owner.post(REGISTERS, {"name": "Till 2"})
    open_shift(owner, register=1)
    owner.post(f"{SHIFTS}1/close/", {"counted_cash": "100.00"})
    open_shift(owner, register=1)
    open_shift(owner, register=2)
    cashier = client_for(store_a.cashier, store_a.store)

    assert ids(cashier.get(SHIFTS)) == [3, 2, 1]
    assert ids(cashier.get(SHIFTS, {"status": "open"})) == [3, 2]
    assert ids(cashier.get(SHIFTS, {"status": "closed"})) == [1]
    assert ids(cashier.get(SHIFTS, {"register": 1})) == [2, 1]
    assert ids(cashier.get(SHIFTS, {"register": 2})) == [3]
    assert ids(cashier.get(SHIFTS, {"status": "open", "register": 1})) == [2]
    assert ids(cashier.get(SHIFTS, {"status": "closed", "register": 2})) == []


def test_an_unknown_status_filter_is_400(store_a, client_for):
    response = client_for(store_a.owner, store_a.store).get(SHIFTS, {"status": "paused"})

    assert response.status_code == 400
    assert response.json() == {
        "status": ["Select a valid choice. paused is not one of the available choices."]
    }


def test_shifts_of_another_store_are_not_visible(store_a, store_b, client_for):
    open_shift(client_for(store_a.owner, store_a.store))
    client = client_for(store_b.owner, store_b.store)

    assert client.get(SHIFTS).json()["count"] == 0
    assert client.get(f"{SHIFTS}1/").status_code == 404
    assert client.post(f"{SHIFTS}1/close/", {"counted_cash": "0"}).status_code == 404
    assert [row["status"] for row in shifts_of(store_a)] == ["open"]


# --- Registers with history -----------------------------------------------------------------


def test_a_register_with_shifts_is_deactivated_not_deleted(store_a, client_for):
    owner = client_for(store_a.owner, store_a.store)
    open_shift(owner)
    owner.post(f"{SHIFTS}1/close/", {"counted_cash": "100.00"})

    response = owner.delete(f"{REGISTERS}1/")

    assert response.status_code == 200
    assert response.json() == {"id": 1, "name": "Main register", "is_active": False}
    with schema_context(store_a.store.schema_name):
        assert list(Register.objects.values_list("id", "is_active")) == [(1, False)]
    assert [row["register_id"] for row in shifts_of(store_a)] == [1]
    # and no new shift opens on it
    assert owner.post(SHIFTS, {"register": 1, "opening_cash": "0"}).status_code == 400


def test_a_register_never_used_is_deleted(store_a, client_for):
    manager = client_for(store_a.manager, store_a.store)
    manager.post(REGISTERS, {"name": "Till 2"})
    open_shift(manager, register=1)

    response = manager.delete(f"{REGISTERS}2/")

    assert response.status_code == 204
    assert response.content == b""
    with schema_context(store_a.store.schema_name):
        assert list(Register.objects.values_list("id", "is_active")) == [(1, True)]
