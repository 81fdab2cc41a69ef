"""The customers API (/api/customers/) under every role, its search, pages and isolation."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

from customers.models import Customer
from tests.catalog.factories import ProductFactory
from tests.conftest import StoreWithStaff
from tests.factories import UserFactory

CUSTOMERS = "/api/customers/"
ROLES = ("owner", "manager", "cashier")

NOT_A_MEMBER = {"detail": "You are not a member of this store.", "code": "not_a_member"}
NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}

ClientFor = Callable[..., APIClient]


def customers_of(staffed: StoreWithStaff) -> list[dict]:
    """Every customer row of the store, as stored, oldest first."""
    with schema_context(staffed.store.schema_name):
        return list(
            Customer.objects.order_by("id").values(
                "id",
                "name",
                "phone",
                "email",
                "note",
                "total_spent",
                "visits",
                "last_purchase_at",
                "created_at",
            )
        )


def add_customers(staffed: StoreWithStaff, *names: str, **fields: object) -> list[Customer]:
    with schema_context(staffed.store.schema_name):
        return [Customer.objects.create(name=name, **fields) for name in names]


def as_json(row: dict) -> dict:
    """A stored customer (a row of `customers_of`) as the API shows it."""
    return {
        "id": row["id"],
        "name": row["name"],
        "phone": row["phone"],
        "email": row["email"],
        "note": row["note"],
        "total_spent": f"{row['total_spent']:.2f}",
        "visits": row["visits"],
        "last_purchase_at": (
            None
            if row["last_purchase_at"] is None
            else DateTimeField().to_representation(row["last_purchase_at"])
        ),
        "created_at": DateTimeField().to_representation(row["created_at"]),
    }


def page(results: list[dict], *, count: int | None = None, **links: str | None) -> dict:
    return {
        "count": len(results) if count is None else count,
        "next": links.get("next"),
        "previous": links.get("previous"),
        "results": results,
    }


# --- every role manages customers ------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_member_adds_reads_changes_and_deletes_customers(
    store_a: StoreWithStaff, client_for: ClientFor, role: str
) -> None:
    # given
    client = client_for(store_a.member(role), store_a.store)

    # when: a member adds a customer
    created = client.post(
        CUSTOMERS,
        {"name": "Анна Иванова", "phone": "+7 900 111-22-33", "email": "anna@example.com"},
    )

    # then
    assert created.status_code == 201, created.content
    [stored] = customers_of(store_a)
    assert stored["created_at"].tzinfo is not None
    assert created.json() == {
        "id": 1,
        "name": "Анна Иванова",
        "phone": "+7 900 111-22-33",
        "email": "anna@example.com",
        "note": "",
        "total_spent": "0.00",
        "visits": 0,
        "last_purchase_at": None,
        "created_at": DateTimeField().to_representation(stored["created_at"]),
    }
    first = created.json()

    # when / then: list and read
    assert client.get(CUSTOMERS).json() == page([first])
    detail = client.get(f"{CUSTOMERS}1/")
    assert detail.status_code == 200
    assert detail.json() == first

    # when / then: change one field
    changed = client.patch(f"{CUSTOMERS}1/", {"note": "Постоянная покупательница"})
    assert changed.status_code == 200
    assert changed.json() == {**first, "note": "Постоянная покупательница"}

    # when / then: replace
    replaced = client.put(
        f"{CUSTOMERS}1/", {"name": "Anna I.", "phone": "", "email": "", "note": ""}
    )
    assert replaced.status_code == 200
    assert replaced.json() == {**first, "name": "Anna I.", "phone": "", "email": ""}
    assert customers_of(store_a) == [
        {**stored, "name": "Anna I.", "phone": "", "email": "", "note": ""}
    ]

    # when / then: delete
    deleted = client.delete(f"{CUSTOMERS}1/")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert customers_of(store_a) == []
    assert client.get(f"{CUSTOMERS}1/").status_code == 404


def test_a_member_of_another_store_is_not_a_member(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: a customer in store_a; store_b's owner uses store_a's key
    add_customers(store_a, "Анна")
    before = customers_of(store_a)
    client = client_for(store_b.owner, store_a.store)

    # when
    responses = [
        client.get(CUSTOMERS),
        client.get(f"{CUSTOMERS}1/"),
        client.post(CUSTOMERS, {"name": "Intruder"}),
        client.patch(f"{CUSTOMERS}1/", {"name": "Renamed"}),
        client.delete(f"{CUSTOMERS}1/"),
    ]

    # then
    for response in responses:
        assert response.status_code == 403
        assert response.json() == NOT_A_MEMBER
        assert "X-Store-Name" not in response
    assert customers_of(store_a) == before
    assert customers_of(store_b) == []


def test_a_user_of_no_store_is_not_a_member(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # when
    response = client_for(UserFactory(), store_a.store).post(CUSTOMERS, {"name": "Intruder"})

    # then
    assert response.status_code == 403
    assert response.json() == NOT_A_MEMBER
    assert customers_of(store_a) == []


def test_anonymous_callers_get_401(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    add_customers(store_a, "Анна")
    before = customers_of(store_a)
    client = client_for(None, store_a.store)

    # when
    responses = [
        client.get(CUSTOMERS),
        client.get(f"{CUSTOMERS}1/"),
        client.post(CUSTOMERS, {"name": "Intruder"}),
        client.patch(f"{CUSTOMERS}1/", {"name": "Renamed"}),
        client.delete(f"{CUSTOMERS}1/"),
    ]

    # then
    for response in responses:
        assert response.status_code == 401
        assert response.json() == NOT_AUTHENTICATED
    assert customers_of(store_a) == before


def test_an_unknown_customer_is_404(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    client = client_for(store_a.cashier, store_a.store)

    # when
    responses = [
        client.get(f"{CUSTOMERS}999/"),
        client.patch(f"{CUSTOMERS}999/", {"name": "Ghost"}),
        client.delete(f"{CUSTOMERS}999/"),
    ]

    # then
    for response in responses:
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert customers_of(store_a) == []


# --- read-only purchase figures --------------------------------------------------------------


def test_purchase_figures_are_ignored_when_adding(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # when
    response = client_for(store_a.cashier, store_a.store).post(
        CUSTOMERS,
        {
            "id": 42,
            "name": "Boris",
            "total_spent": "999.99",
            "visits": 7,
            "last_purchase_at": "2024-01-01T10:00:00Z",
            "created_at": "2000-01-01T00:00:00Z",
        },
    )

    # then
    assert response.status_code == 201
    [stored] = customers_of(store_a)
    assert stored["created_at"].year != 2000
    assert (stored["id"], stored["total_spent"], stored["visits"], stored["last_purchase_at"]) == (
        1,
        Decimal("0.00"),
        0,
        None,
    )
    assert response.json() == as_json(stored)


def test_purchase_figures_are_ignored_when_changing(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: a customer whose figures the sales kept
    [customer] = add_customers(store_a, "Boris", total_spent=Decimal("150.50"), visits=3)
    before = customers_of(store_a)

    # when
    response = client_for(store_a.manager, store_a.store).patch(
        f"{CUSTOMERS}{customer.id}/",
        {"total_spent": "0.00", "visits": 0, "last_purchase_at": "2024-01-01T10:00:00Z"},
    )

    # then
    assert response.status_code == 200
    assert response.json()["total_spent"] == "150.50"
    assert response.json()["visits"] == 3
    assert response.json()["last_purchase_at"] is None
    assert customers_of(store_a) == before


# --- bad input -------------------------------------------------------------------------------


BAD_CUSTOMERS = [
    pytest.param({}, {"name": ["This field is required."]}, id="no-name"),
    pytest.param({"name": ""}, {"name": ["This field may not be blank."]}, id="blank-name"),
    pytest.param({"name": "   "}, {"name": ["This field may not be blank."]}, id="spaces-name"),
    pytest.param(
        {"name": "Я" * 201},
        {"name": ["Ensure this field has no more than 200 characters."]},
        id="long-name",
    ),
    pytest.param(
        {"name": "Anna", "email": "not-an-email"},
        {"email": ["Enter a valid email address."]},
        id="bad-email",
    ),
    pytest.param(
        {"name": "Anna", "email": f"{'a' * 250}@example.com"},
        {"email": ["Ensure this field has no more than 254 characters."]},
        id="long-email",
    ),
    pytest.param(
        {"name": "Anna", "phone": "1" * 33},
        {"phone": ["Ensure this field has no more than 32 characters."]},
        id="long-phone",
    ),
    pytest.param(
        {"name": "Anna", "note": "x" * 2001},
        {"note": ["Ensure this field has no more than 2000 characters."]},
        id="long-note",
    ),
    pytest.param({"name": None}, {"name": ["This field may not be null."]}, id="null-name"),
]


@pytest.mark.parametrize(("body", "errors"), BAD_CUSTOMERS)
def test_bad_input_when_adding_is_400_and_writes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, body: dict, errors: dict
) -> None:
    # when
    response = client_for(store_a.owner, store_a.store).post(CUSTOMERS, body)

    # then
    assert response.status_code == 400
    assert response.json() == errors
    assert customers_of(store_a) == []


@pytest.mark.parametrize(
    ("body", "errors"), [param for param in BAD_CUSTOMERS if param.id != "no-name"]
)
def test_bad_input_when_changing_is_400_and_changes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor, body: dict, errors: dict
) -> None:
    # given
    add_customers(store_a, "Анна", email="anna@example.com", phone="+7 900", note="VIP")
    before = customers_of(store_a)

    # when
    response = client_for(store_a.cashier, store_a.store).patch(f"{CUSTOMERS}1/", body)

    # then
    assert response.status_code == 400
    assert response.json() == errors
    assert customers_of(store_a) == before


# --- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("search", "names"),
    [
        pytest.param("анна", ["Анна Иванова"], id="cyrillic-lower"),
        pytest.param("АННА", ["Анна Иванова"], id="cyrillic-upper"),
        pytest.param("иВаНоВ", ["Анна Иванова"], id="cyrillic-mixed-case-middle"),
        pytest.param("ёлкин", ["Пётр Ёлкин"], id="cyrillic-yo"),
        pytest.param("boris", ["Boris Becker"], id="latin-lower"),
        pytest.param("SHOP.DE", ["Boris Becker"], id="email-any-case"),
        pytest.param("example.com", ["Анна Иванова", "Пётр Ёлкин"], id="email-part"),
        pytest.param("111-22", ["Анна Иванова"], id="phone-part"),
        pytest.param("+49", ["Boris Becker"], id="phone-prefix"),
        pytest.param("  boris  ", ["Boris Becker"], id="surrounding-spaces"),
        pytest.param("", ["Анна Иванова", "Boris Becker", "Пётр Ёлкин"], id="empty"),
        pytest.param("nobody", [], id="no-match"),
        pytest.param("100%", [], id="like-wildcard-is-literal"),
    ],
)
def test_search_matches_name_phone_and_email_in_any_case(
    store_a: StoreWithStaff, client_for: ClientFor, search: str, names: list[str]
) -> None:
    # given
    with schema_context(store_a.store.schema_name):
        Customer.objects.create(
            name="Анна Иванова", phone="+7 900 111-22-33", email="anna@example.com"
        )
        Customer.objects.create(name="Boris Becker", phone="+49 30 1234", email="BORIS@Shop.de")
        Customer.objects.create(name="Пётр Ёлкин", phone="", email="petr@example.com")

    # when
    response = client_for(store_a.cashier, store_a.store).get(CUSTOMERS, {"search": search})

    # then
    assert response.status_code == 200
    assert response.json() == page(
        [as_json(row) for row in customers_of(store_a) if row["name"] in names]
    )


# --- pages -----------------------------------------------------------------------------------


def test_customers_come_in_pages(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    add_customers(store_a, *(f"Customer {number}" for number in range(1, 6)))
    rows = [as_json(row) for row in customers_of(store_a)]
    client = client_for(store_a.cashier, store_a.store)

    # when
    first = client.get(CUSTOMERS, {"page_size": 2})
    second = client.get(CUSTOMERS, {"page_size": 2, "page": 2})
    last = client.get(CUSTOMERS, {"page_size": 2, "page": 3})
    beyond = client.get(CUSTOMERS, {"page_size": 2, "page": 4})

    # then
    assert first.json() == page(
        rows[:2], count=5, next="http://testserver/api/customers/?page=2&page_size=2"
    )
    assert second.json() == page(
        rows[2:4],
        count=5,
        next="http://testserver/api/customers/?page=3&page_size=2",
        previous="http://testserver/api/customers/?page_size=2",
    )
    assert last.json() == page(
        rows[4:], count=5, previous="http://testserver/api/customers/?page=2&page_size=2"
    )
    assert beyond.status_code == 404
    assert beyond.json() == {"detail": "Invalid page.", "code": "not_found"}


def test_a_page_holds_at_most_200_customers(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    with schema_context(store_a.store.schema_name):
        Customer.objects.bulk_create(Customer(name=f"Customer {n}") for n in range(201))

    # when
    body = client_for(store_a.cashier, store_a.store).get(CUSTOMERS, {"page_size": 500}).json()

    # then
    assert body["count"] == 201
    assert len(body["results"]) == 200
    assert body["next"] == "http://testserver/api/customers/?page=2&page_size=500"


def test_the_list_costs_the_same_queries_for_5_and_50_customers(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: a warm tenant-key cache (the first request of a key looks the store up once)
    client = client_for(store_a.cashier, store_a.store)
    assert client.get(CUSTOMERS).status_code == 200

    def queries_for_a_page_of(total: int) -> int:
        with schema_context(store_a.store.schema_name):
            missing = total - Customer.objects.count()
            Customer.objects.bulk_create(Customer(name=f"Customer {n}") for n in range(missing))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(CUSTOMERS)
        assert len(response.json()["results"]) == total
        return len(queries)

    # when
    five = queries_for_a_page_of(5)
    fifty = queries_for_a_page_of(50)

    # then: observed 7 and 7: SET search_path, the user, the membership, COUNT, the page, and
    # the savepoint and its release of ATOMIC_REQUESTS (nested in the test's transaction)
    assert five == fifty


# --- isolation -------------------------------------------------------------------------------


def test_stores_see_only_their_own_customers(
    store_a: StoreWithStaff, store_b: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: a customer in each store, both with id 1
    in_a = client_for(store_a.cashier, store_a.store)
    in_b = client_for(store_b.cashier, store_b.store)
    alpha = in_a.post(CUSTOMERS, {"name": "Alpha shopper", "email": "same@example.com"}).json()
    beta = in_b.post(CUSTOMERS, {"name": "Beta shopper", "email": "same@example.com"}).json()
    assert (alpha["id"], beta["id"]) == (1, 1)
    extra_in_b = in_b.post(CUSTOMERS, {"name": "Only in B"}).json()
    before_a, before_b = customers_of(store_a), customers_of(store_b)

    # when
    listed_in_a = in_a.get(CUSTOMERS).json()
    searched_in_a = in_a.get(CUSTOMERS, {"search": "beta"}).json()
    read_in_a = in_a.get(f"{CUSTOMERS}1/").json()
    foreign = [
        in_a.get(f"{CUSTOMERS}{extra_in_b['id']}/"),
        in_a.patch(f"{CUSTOMERS}{extra_in_b['id']}/", {"name": "Hijacked"}),
        in_a.delete(f"{CUSTOMERS}{extra_in_b['id']}/"),
    ]

    # then
    assert listed_in_a == page([alpha])
    assert searched_in_a == page([])
    assert read_in_a == alpha
    for response in foreign:
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
    assert in_b.get(CUSTOMERS).json() == page([beta, extra_in_b])
    assert customers_of(store_a) == before_a
    assert customers_of(store_b) == before_b


# --- customers with sales --------------------------------------------------------------------


def ring_up_a_sale(staffed: StoreWithStaff, client_for: ClientFor, customer_id: int) -> dict:
    """A 20.00 cash sale to the customer, through the API, on the store's main register."""
    with schema_context(staffed.store.schema_name):
        product = ProductFactory(price=Decimal("10.00"), stock=Decimal("5"))
    client = client_for(staffed.cashier, staffed.store)
    opened = client.post("/api/sales/shifts/", {"register": 1, "opening_cash": "0.00"})
    assert opened.status_code == 201, opened.content
    sold = client.post(
        "/api/sales/",
        {
            "register": 1,
            "customer": customer_id,
            "lines": [{"product": product.id, "quantity": "2"}],
            "payments": [{"method": "cash", "amount": "20.00"}],
        },
    )
    assert sold.status_code == 201, sold.content
    return sold.json()


def test_a_sale_keeps_the_customers_figures(store_a: StoreWithStaff, client_for: ClientFor) -> None:
    # given
    [customer] = add_customers(store_a, "Анна")

    # when
    sale = ring_up_a_sale(store_a, client_for, customer.id)

    # then
    body = client_for(store_a.cashier, store_a.store).get(f"{CUSTOMERS}{customer.id}/").json()
    assert (body["total_spent"], body["visits"]) == ("20.00", 1)
    assert body["last_purchase_at"] == sale["created_at"]
    assert body == as_json(customers_of(store_a)[0])


def test_deleting_a_customer_with_sales_is_a_409_and_deletes_nothing(
    store_a: StoreWithStaff, client_for: ClientFor
) -> None:
    # given: the customer's sale protects them (the sale must keep its customer)
    [customer] = add_customers(store_a, "Анна")
    ring_up_a_sale(store_a, client_for, customer.id)
    before = customers_of(store_a)
    client = client_for(store_a.owner, store_a.store)
    client.raise_request_exception = False  # a 500 is answered, as in production

    # when
    response = client.delete(f"{CUSTOMERS}{customer.id}/")

    # then: a client-caused error is a 4xx with a JSON body, not a 500
    assert response.status_code == 409
    assert set(response.json()) == {"detail", "code"}
    assert customers_of(store_a) == before
    assert client.get(f"{CUSTOMERS}{customer.id}/sales/").json()["count"] == 1
