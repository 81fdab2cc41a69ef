"""Offline sales (POST /api/sales/sync/): applied once per client_id, in the till's order, with
conflicts for stock that was gone, late sales in the open shift, and nothing of a rejected one."""

import uuid
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from django_tenants.utils import schema_context
from rest_framework.fields import DateTimeField

from catalog.models import PriceChange, Product
from catalog.services import product_create, product_update, stock_adjust
from core.models import Event
from customers.models import Customer
from sales.lock_objects import CLIENT_ID_LOCKS, client_ids_claim
from sales.models import Sale, SaleConflict, Shift
from sales.services.checkout import TOTAL_SPENT_MAX
from stores.models import Store
from tests.conftest import StoreWithStaff, access_token, make_store
from tests.sales.test_checkout import (
    SALES,
    SHIFTS,
    ClientFor,
    checkout,
    make_customer,
    make_products,
    open_shift,
    snapshot,
    stock_of,
)
from tests.sales.test_concurrency import api, run_together

SYNC = "/api/sales/sync/"
CONFLICTS = "/api/sales/conflicts/"


def at(value) -> str:
    return DateTimeField().to_representation(value)


def offline_sale(
    *,
    minutes_ago: float = 10,
    product: int = 1,
    quantity: str = "1",
    client_id: str | None = None,
    number: str = "T1-0001",
    unit_price: str | None = None,
    cash: str = "100.00",
) -> dict:
    line = {"product": product, "quantity": quantity}
    if unit_price is not None:
        line["unit_price"] = unit_price
    return {
        "client_id": client_id or str(uuid.uuid4()),
        "occurred_at": at(now() - timedelta(minutes=minutes_ago)),
        "offline_number": number,
        "customer": None,
        "lines": [line],
        "payments": [{"method": "cash", "amount": cash}],
        "note": "",
    }


def sync(client, sales: list[dict], register: int = 1):
    return client.post(SYNC, {"register": register, "sales": sales}, format="json")


@pytest.fixture
def till(store_a: StoreWithStaff, client_for: ClientFor) -> StoreWithStaff:
    """store_a with an open shift on register 1 (opened an hour ago) and two products."""
    make_products(
        store_a,
        {"name": "Bread", "price": Decimal("2.50"), "tax_rate": "10.00", "stock": "10"},
        {"name": "Butter", "price": Decimal("4.00"), "tax_rate": "10.00", "stock": "1"},
    )
    Store.objects.filter(pk=store_a.store.pk).update(created_at=now() - timedelta(days=30))
    store_a.store.refresh_from_db()
    open_shift(client_for(store_a.owner, store_a.store))
    with schema_context(store_a.store.schema_name):
        Shift.objects.filter(pk=1).update(opened_at=now() - timedelta(hours=1))
    return store_a


def sales_of(staffed: StoreWithStaff) -> list[dict]:
    with schema_context(staffed.store.schema_name):
        return list(
            Sale.objects.order_by("number").values(
                "id", "number", "client_id", "source", "offline_number", "late", "shift_id"
            )
        )


# --- Applied once -------------------------------------------------------------------------------


def test_a_batch_is_applied_in_the_tills_order_and_answered_in_the_order_sent(till, client_for):
    client = client_for(till.cashier, till.store)
    later = offline_sale(minutes_ago=5, number="T1-0002")
    earlier = offline_sale(minutes_ago=20, number="T1-0001")

    response = sync(client, [later, earlier])

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [result["client_id"] for result in results] == [later["client_id"], earlier["client_id"]]
    assert [result["status"] for result in results] == ["applied", "applied"]
    assert [result["number"] for result in results] == [2, 1]  # numbered as they were made
    assert results[0]["conflicts"] == []
    assert results[0]["error"] is None
    sale = client.get(f"{SALES}{results[1]['sale']}/").json()
    assert sale["client_id"] == earlier["client_id"]
    assert sale["occurred_at"] == earlier["occurred_at"]
    assert sale["offline_number"] == "T1-0001"
    assert sale["source"] == "offline"
    assert sale["late"] is False
    assert sale["shift"] == 1
    assert stock_of(till) == {1: Decimal("8.000"), 2: Decimal("1.000")}


def test_a_batch_sent_again_is_all_duplicates_and_writes_nothing(till, client_for):
    client = client_for(till.cashier, till.store)
    batch = [offline_sale(minutes_ago=minutes) for minutes in (30, 20, 10)]
    first = sync(client, batch).json()["results"]
    before = snapshot(till)

    again = sync(client, list(reversed(batch))).json()["results"]

    assert [result["status"] for result in again] == ["duplicate"] * 3
    assert [(r["sale"], r["number"]) for r in reversed(again)] == [
        (r["sale"], r["number"]) for r in first
    ]
    assert snapshot(till) == before


def test_a_duplicate_is_the_first_sale_whatever_is_resent(till, client_for):
    client = client_for(till.cashier, till.store)
    sale = offline_sale(quantity="1")
    first = sync(client, [sale]).json()["results"][0]

    changed = {**sale, "lines": [{"product": 1, "quantity": "7"}]}
    again = sync(client, [changed]).json()["results"][0]

    assert again["status"] == "duplicate"
    assert (again["sale"], again["number"]) == (first["sale"], first["number"])
    assert stock_of(till)[1] == Decimal("9.000")


def test_the_same_client_id_twice_in_one_batch_is_one_sale(till, client_for):
    client = client_for(till.cashier, till.store)
    sale = offline_sale()

    results = sync(client, [sale, dict(sale)]).json()["results"]

    assert [result["status"] for result in results] == ["applied", "duplicate"]
    assert results[0]["sale"] == results[1]["sale"]
    assert len(sales_of(till)) == 1


def test_online_and_offline_share_one_client_id_rule(till, client_for):
    client = client_for(till.cashier, till.store)
    client_id = str(uuid.uuid4())
    online = checkout(
        client,
        {
            "register": 1,
            "client_id": client_id,
            "lines": [{"product": 1, "quantity": "1"}],
            "payments": [{"method": "cash", "amount": "5.00"}],
        },
    )
    assert online.status_code == 201, online.content
    assert online.json()["client_id"] == client_id
    assert online.json()["source"] == "online"

    synced = sync(client, [offline_sale(client_id=client_id)]).json()["results"][0]
    again = checkout(
        client,
        {
            "register": 1,
            "client_id": client_id,
            "lines": [{"product": 1, "quantity": "3"}],
            "payments": [{"method": "cash", "amount": "50.00"}],
        },
    )

    assert (synced["status"], synced["sale"]) == ("duplicate", online.json()["id"])
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == online.json()
    assert len(sales_of(till)) == 1


def test_a_sale_synced_first_is_answered_to_a_later_online_post(till, client_for):
    client = client_for(till.cashier, till.store)
    sale = offline_sale()
    synced = sync(client, [sale]).json()["results"][0]

    online = checkout(
        client,
        {
            "register": 1,
            "client_id": sale["client_id"],
            "lines": sale["lines"],
            "payments": sale["payments"],
        },
    )

    assert online.status_code == 201
    assert online.json()["id"] == synced["sale"]
    assert online.json()["source"] == "offline"


# --- Goods have left the shop -------------------------------------------------------------------


def test_stock_that_ran_out_is_still_taken_and_the_conflict_recorded(till, client_for):
    Store.objects.filter(pk=till.store.pk).update(offline_oversell=True)
    client = client_for(till.cashier, till.store)

    result = sync(client, [offline_sale(product=2, quantity="3")]).json()["results"][0]

    assert result["status"] == "applied_with_conflict"
    assert result["conflicts"] == [{"product": 2, "requested": "3.000", "available": "1.000"}]
    assert stock_of(till)[2] == Decimal("-2.000")
    with schema_context(till.store.schema_name):
        assert Product.objects.get(pk=2).movements.aggregate(s=Sum("delta"))["s"] == Decimal("-2")
        assert SaleConflict.objects.count() == 1
    listed = client_for(till.manager, till.store).get(CONFLICTS).json()["results"]
    assert [(c["sale"], c["product"], c["requested"], c["available"]) for c in listed] == [
        (result["sale"], 2, "3.000", "1.000")
    ]
    assert client.get(CONFLICTS).status_code == 403  # a cashier does not list them


@pytest.mark.parametrize(
    "settings",
    [
        {},  # the default: no negative stock, online or offline
        {"allow_negative_stock": False, "offline_oversell": False},
    ],
)
def test_a_store_that_forbids_negative_stock_rejects_the_sale_and_writes_nothing(
    till, client_for, settings
):
    Store.objects.filter(pk=till.store.pk).update(**settings)
    client = client_for(till.cashier, till.store)
    before = snapshot(till)

    results = sync(client, [offline_sale(product=2, quantity="3"), offline_sale(product=1)]).json()[
        "results"
    ]

    assert results[0]["status"] == "rejected"
    assert results[0]["sale"] is None
    assert results[0]["error"] == {
        "detail": "Not enough stock.",
        "code": "insufficient_stock",
        "products": [{"id": 2, "requested": "3.000", "available": "1.000"}],
    }
    assert results[1]["status"] == "applied"  # the others go on
    after = snapshot(till)
    assert after["stock"][2] == before["stock"][2]
    assert len(after["sales"]) == 1


def test_a_cashier_is_held_to_the_products_price_offline_too(till, client_for):
    client = client_for(till.cashier, till.store)
    before = snapshot(till)

    result = sync(client, [offline_sale(unit_price="0.01")]).json()["results"][0]

    assert result["status"] == "rejected"
    assert result["error"]["code"] == "permission_denied"
    assert snapshot(till) == before


# --- Shifts and time ----------------------------------------------------------------------------


def test_a_sale_made_before_the_open_shift_lands_in_it_marked_late_and_shown_in_its_z_report(
    till, client_for
):
    owner = client_for(till.owner, till.store)
    assert (
        owner.post(f"{SHIFTS}1/close/", {"counted_cash": "100.00"}, format="json").status_code
        == 200
    )
    second = open_shift(owner)
    with schema_context(till.store.schema_name):
        Shift.objects.filter(pk=second["id"]).update(opened_at=now() - timedelta(minutes=5))
    made_in_first = offline_sale(minutes_ago=30, cash="2.50")  # the first shift was open then
    made_in_second = offline_sale(minutes_ago=1, cash="2.50")

    results = sync(owner, [made_in_first, made_in_second]).json()["results"]

    assert [r["status"] for r in results] == ["applied", "applied"]
    sales = {str(s["client_id"]): s for s in sales_of(till)}
    assert sales[made_in_first["client_id"]]["shift_id"] == second["id"]
    assert sales[made_in_first["client_id"]]["late"] is True
    assert sales[made_in_second["client_id"]]["late"] is False
    closed_first = owner.get(f"{SHIFTS}1/").json()
    assert closed_first["sales_count"] == 0  # the closed report is never changed
    closed = owner.post(
        f"{SHIFTS}{second['id']}/close/", {"counted_cash": "105.00"}, format="json"
    ).json()
    assert (closed["sales_count"], closed["late_sales_count"], closed["late_sales_total"]) == (
        2,
        1,
        "2.50",
    )
    assert closed["expected_cash"] == "105.00"


def test_without_an_open_shift_the_sale_is_rejected(till, client_for):
    owner = client_for(till.owner, till.store)
    owner.post(f"{SHIFTS}1/close/", {"counted_cash": "100.00"}, format="json")

    result = sync(owner, [offline_sale()]).json()["results"][0]

    assert result["status"] == "rejected"
    assert result["error"] == {
        "detail": "This register has no open shift.",
        "code": "shift_not_open",
    }


@pytest.mark.parametrize(
    "occurred_at",
    [now() + timedelta(hours=1), now() - timedelta(days=365), "0001-01-01T00:00:00Z"],
    ids=["future", "before-the-store", "year-1"],
)
def test_a_sale_dated_in_the_future_or_before_the_store_is_rejected(till, client_for, occurred_at):
    client = client_for(till.cashier, till.store)
    before = snapshot(till)
    sale = {
        **offline_sale(),
        "occurred_at": occurred_at if isinstance(occurred_at, str) else at(occurred_at),
    }

    result = sync(client, [sale]).json()["results"][0]

    assert result["status"] == "rejected"
    assert result["error"]["code"] == "invalid"
    assert "occurred_at" in result["error"]["fields"]
    assert snapshot(till) == before


# --- Bad input ----------------------------------------------------------------------------------


def test_an_invalid_sale_is_rejected_with_its_reasons_and_the_others_applied(till, client_for):
    client = client_for(till.cashier, till.store)
    broken = {**offline_sale(), "lines": [{"product": 1, "quantity": "-1"}]}
    not_an_object = ["a list"]
    no_id = {key: value for key, value in offline_sale().items() if key != "client_id"}

    results = sync(client, [broken, not_an_object, no_id, offline_sale()]).json()

    statuses = [result["status"] for result in results["results"]]
    assert statuses == ["rejected", "rejected", "rejected", "applied"]
    assert results["results"][0]["client_id"] == broken["client_id"]
    assert "lines" in results["results"][0]["error"]["fields"]
    assert results["results"][2]["error"]["fields"]["client_id"]
    assert len(sales_of(till)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sales": []}, "register"),
        ({"register": 1, "sales": "many"}, "sales"),
        ({"register": 1, "sales": [{}] * 501}, "sales"),
        ({"register": 10**30, "sales": []}, "register"),
    ],
)
def test_a_malformed_batch_is_a_400_and_writes_nothing(till, client_for, body, field):
    client = client_for(till.cashier, till.store)
    before = snapshot(till)

    response = client.post(SYNC, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert snapshot(till) == before


def test_an_empty_batch_has_no_results(till, client_for):
    response = sync(client_for(till.cashier, till.store), [])
    assert (response.status_code, response.json()) == (200, {"results": []})


def test_another_stores_member_cannot_sync(till, store_b, client_for):
    response = sync(client_for(store_b.owner, till.store), [offline_sale()])
    assert response.status_code == 403
    assert sales_of(till) == []


# --- Concurrently -------------------------------------------------------------------------------


@pytest.mark.usefixtures("committed_stores")
def test_the_same_batch_from_two_connections_at_once_is_applied_once(client_for):
    staffed = make_store("tenant_test_alpha", name="Two Tabs")
    Store.objects.filter(pk=staffed.store.pk).update(created_at=now() - timedelta(days=1))
    make_products(staffed, {"name": "Tea", "price": Decimal("1.00"), "stock": "1000"})
    open_shift(client_for(staffed.owner, staffed.store))
    with schema_context(staffed.store.schema_name):
        Shift.objects.filter(pk=1).update(opened_at=now() - timedelta(hours=2))
    token = access_token(staffed.cashier)
    batch = [offline_sale(minutes_ago=60 - minute, number=f"T-{minute}") for minute in range(40)]

    answers = run_together(
        [
            lambda: sync(api(token, staffed.store), batch),
            lambda: sync(api(token, staffed.store), batch[::-1]),
        ]
    )

    assert all(answer.status_code == 200 for answer in answers), answers
    first, second = (answer.json()["results"] for answer in answers)
    by_id = {}
    for result in first + second:
        assert result["status"] in {"applied", "duplicate"}, result
        by_id.setdefault(result["client_id"], set()).add((result["sale"], result["number"]))
    assert all(len(outcomes) == 1 for outcomes in by_id.values())  # one sale per client_id
    sales = sales_of(staffed)
    assert len(sales) == 40
    assert [sale["number"] for sale in sales] == list(range(1, 41))
    assert stock_of(staffed)[1] == Decimal("960.000")


# --- Prices are the till's ------------------------------------------------------------------


def test_an_offline_sale_is_held_to_the_price_when_it_was_made(till, client_for):
    with schema_context(till.store.schema_name):
        jam = product_create(name="Jam", price=Decimal("3.00"))
        stock_adjust(product=jam, delta=Decimal("10"), reason="restock", user=None)
        PriceChange.objects.filter(product=jam).update(changed_at=now() - timedelta(days=1))
        product_update(product=jam, price=Decimal("3.50"))
        repriced = now() - timedelta(minutes=10)  # between the sales below
        PriceChange.objects.filter(product=jam, price=Decimal("3.50")).update(changed_at=repriced)
        Product.objects.filter(pk=jam.pk).update(price_changed_at=repriced)
    client = client_for(till.cashier, till.store)

    results = sync(
        client,
        [
            offline_sale(product=jam.pk, minutes_ago=30),  # no price sent: the price then
            offline_sale(product=jam.pk, minutes_ago=25, unit_price="3.00"),  # the till's
            offline_sale(product=jam.pk, minutes_ago=20, unit_price="3.50"),  # not yet its price
            offline_sale(product=jam.pk, minutes_ago=1, unit_price="3.00"),  # no longer
        ],
    ).json()["results"]

    assert [result["status"] for result in results] == [
        "applied",
        "applied",
        "rejected",
        "rejected",
    ]
    assert {result["error"]["code"] for result in results[2:]} == {"permission_denied"}
    totals = [client.get(f"{SALES}{result['sale']}/").json()["total"] for result in results[:2]]
    assert totals == ["3.00", "3.00"]
    # an owner may price as they like, offline as online
    owner = sync(
        client_for(till.owner, till.store),
        [offline_sale(product=jam.pk, minutes_ago=1, unit_price="2.00")],
    ).json()["results"]
    assert owner[0]["status"] == "applied"


def test_an_offline_sale_counts_in_analytics_on_the_local_day_it_was_made(
    till, client_for, django_capture_on_commit_callbacks
):
    Store.objects.filter(pk=till.store.pk).update(timezone="Asia/Tokyo")
    made = now() - timedelta(days=1, hours=2)
    local = made.astimezone(ZoneInfo("Asia/Tokyo"))
    sale = {**offline_sale(cash="2.50"), "occurred_at": at(made)}

    with django_capture_on_commit_callbacks(execute=True):  # the day's refresh, on commit
        result = sync(client_for(till.cashier, till.store), [sale]).json()["results"][0]

    assert result["status"] == "applied"
    on = local.date().isoformat()
    summary = (
        client_for(till.owner, till.store)
        .get("/api/analytics/summary/", {"from": on, "to": on})
        .json()
    )
    assert (summary["sales_count"], summary["revenue"]) == (1, "2.50")
    assert [hour["hour"] for hour in summary["by_hour"] if hour["sales_count"]] == [local.hour]


def test_a_sale_applied_before_is_a_duplicate_even_when_resent_broken_or_misdated(till, client_for):
    client = client_for(till.cashier, till.store)
    sale = offline_sale()
    first = sync(client, [sale]).json()["results"][0]
    before = snapshot(till)

    resent = sync(
        client,
        [
            {**sale, "lines": [{"product": 1, "quantity": "-5"}]},  # broken now
            {**sale, "occurred_at": at(now() + timedelta(days=3))},  # misdated now
        ],
    ).json()["results"]

    assert [(r["status"], r["sale"], r["number"]) for r in resent] == [
        ("duplicate", first["sale"], first["number"])
    ] * 2
    assert snapshot(till) == before


def test_a_store_that_allows_negative_stock_takes_it_offline_with_the_conflict(till, client_for):
    Store.objects.filter(pk=till.store.pk).update(allow_negative_stock=True)

    result = sync(
        client_for(till.cashier, till.store), [offline_sale(product=2, quantity="2")]
    ).json()["results"][0]

    assert result["status"] == "applied_with_conflict"
    assert stock_of(till)[2] == Decimal("-1.000")


# --- A batch's sales made together ----------------------------------------------------------------


def test_a_batch_is_made_in_the_same_statements_whatever_its_size(till, client_for):
    with schema_context(till.store.schema_name):
        stock_adjust(
            product=Product.objects.get(pk=1), delta=Decimal(100), reason="restock", user=None
        )
    client = client_for(till.cashier, till.store)
    sync(client, [offline_sale()])  # the store and the user cached

    counts = []
    for size in (2, 20):
        sales = [offline_sale(minutes_ago=30 - n, number=f"T1-{n}") for n in range(size)]
        with CaptureQueriesContext(connection) as queries:
            response = sync(client, sales)
        assert [r["status"] for r in response.json()["results"]] == ["applied"] * size
        counts.append(len(queries.captured_queries))

    assert counts[0] == counts[1]
    assert [sale["number"] for sale in sales_of(till)] == list(range(1, 24))


def test_one_customers_sales_in_a_batch_add_up_and_one_past_the_limit_is_refused(till, client_for):
    olga, ivan = make_customer(till, "Olga"), make_customer(till, "Ivan")
    with schema_context(till.store.schema_name):
        Customer.objects.filter(pk=ivan.pk).update(total_spent=TOTAL_SPENT_MAX - Decimal("3"))
    client = client_for(till.cashier, till.store)
    later, earlier, full, fits = (
        {**offline_sale(minutes_ago=5), "customer": olga.pk},
        {**offline_sale(minutes_ago=50), "customer": olga.pk},
        {**offline_sale(minutes_ago=40, quantity="2"), "customer": ivan.pk},  # 5.00: too much
        {**offline_sale(minutes_ago=30), "customer": ivan.pk},  # 2.50 fits
    )

    results = sync(client, [later, earlier, full, fits]).json()["results"]

    assert [r["status"] for r in results] == ["applied", "applied", "rejected", "applied"]
    assert results[2]["error"]["code"] == "value_out_of_range"
    with schema_context(till.store.schema_name):
        olga.refresh_from_db()
        ivan.refresh_from_db()
    assert (olga.total_spent, olga.visits) == (Decimal("5.00"), 2)
    assert at(olga.last_purchase_at) == later["occurred_at"]  # the latest, whatever the order
    assert (ivan.total_spent, ivan.visits) == (TOTAL_SPENT_MAX - Decimal("0.50"), 1)
    assert stock_of(till)[1] == Decimal("7.000")  # three loaves: the refused sale took none


REFUSED_NOTE = "the database refuses this one"


def test_a_batch_the_database_refuses_is_applied_sale_by_sale_and_only_the_faulty_sale_fails(
    till, client_for
):
    # A rule only the database knows: a constraint refusing one sale's row (a constraint, not
    # a trigger, which Citus does not take on a store's tables).
    with schema_context(till.store.schema_name), connection.cursor() as cursor:
        cursor.execute(
            f"ALTER TABLE sales_sale ADD CONSTRAINT refuse_note CHECK (note <> '{REFUSED_NOTE}')"
        )
    client = client_for(till.cashier, till.store)
    sales = [
        offline_sale(minutes_ago=30),
        {**offline_sale(minutes_ago=20), "note": REFUSED_NOTE},
        offline_sale(minutes_ago=10),
    ]

    results = sync(client, sales).json()["results"]

    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["error"]["code"] == "invalid_value"
    assert [r["number"] for r in results] == [1, None, 2]  # no number lost to the refusal
    assert stock_of(till)[1] == Decimal("8.000")
    with schema_context(till.store.schema_name):
        sold = Product.objects.get(pk=1).movements.filter(reason="sale")
        assert sold.aggregate(s=Sum("delta"))["s"] == Decimal("-2")
        assert not Sale.objects.filter(note=REFUSED_NOTE).exists()


def test_a_batchs_events_come_sale_by_sale_as_each_sale_alone_would_write_them(till, client_for):
    with schema_context(till.store.schema_name):
        Product.objects.filter(pk=1).update(reorder_level=Decimal(8))
        first_event = (Event.objects.order_by("-id").values_list("id", flat=True).first()) or 0
    client = client_for(till.cashier, till.store)
    sales = [
        offline_sale(minutes_ago=30),  # 10 → 9
        offline_sale(minutes_ago=20, quantity="2"),  # 9 → 7: below the level
        offline_sale(minutes_ago=10),  # 7 → 6
    ]

    results = sync(client, sales).json()["results"]

    assert [r["status"] for r in results] == ["applied"] * 3
    with schema_context(till.store.schema_name):
        events = list(Event.objects.filter(id__gt=first_event).order_by("id"))
    assert [event.type for event in events] == [
        "sale.completed", "sale.completed", "stock.low", "sale.completed",
    ]  # fmt: skip
    assert events[2].data["stock"] == "7.000"  # the stock right after the sale that crossed


def test_a_batch_holds_a_bounded_number_of_client_id_locks(till):
    with schema_context(till.store.schema_name), transaction.atomic():
        client_ids_claim(client_ids=[uuid.uuid4() for _ in range(500)])
        with connection.cursor() as cursor:
            cursor.execute(
                # Kassa's own (bigint keys: objsubid 1), not those Citus takes for itself.
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 "
                "AND pid = pg_backend_pid()"
            )
            held = cursor.fetchone()[0]
    assert 0 < held <= CLIENT_ID_LOCKS
