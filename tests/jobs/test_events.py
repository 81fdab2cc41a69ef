"""The transactional outbox: an event exists exactly when its cause committed, with ids that a
poller following `?after=` never skips, even while events are being written."""

import threading
from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.db import connection, transaction
from django.utils.timezone import now
from django_tenants.utils import schema_context, tenant_context

from catalog.services import product_update, stock_adjust
from core.events import SALE_COMPLETED, event_emit
from core.models import Event
from jobs.models import Webhook, WebhookDelivery
from jobs.webhooks import services
from sales.models import Sale
from sales.services.checkout import LineInput, OfflineSale, PaymentInput, sale_checkout
from tests.conftest import make_store
from tests.sales.test_shifts import SHIFTS, add_product, checkout, open_shift

EVENTS = "/api/events/"


def events_of(staffed) -> list[tuple[str, dict]]:
    with schema_context(staffed.store.schema_name):
        return list(Event.objects.order_by("id").values_list("type", "data"))


def types_of(staffed) -> list[str]:
    return [kind for kind, _ in events_of(staffed)]


def cash(amount: str) -> list[dict]:
    return [{"method": "cash", "amount": amount}]


def test_a_committed_checkout_writes_one_event_and_a_refused_one_none(store_a, client_for):
    add_product(store_a, name="Tea", price="2.50", tax_rate="10", stock="3")
    client = client_for(store_a.cashier, store_a.store)
    open_shift(client)
    before = types_of(store_a)

    sold = checkout(client, [{"product": 1, "quantity": "2"}], cash("5.00"))
    refused = checkout(client, [{"product": 1, "quantity": "5"}], cash("20.00"))
    bad = checkout(client, [{"product": 1, "quantity": "-1"}], cash("5.00"))

    assert sold.status_code == 201
    assert (refused.status_code, bad.status_code) == (409, 400)
    after = events_of(store_a)[len(before) :]
    assert [kind for kind, _ in after] == ["sale.completed"]
    data = after[0][1]
    assert (data["id"], data["number"], data["total"], data["currency"]) == (1, 1, "5.00", "EUR")
    assert data["lines"] == [
        {"product": 1, "quantity": "2.000", "unit_price": "2.50", "total": "5.00"}
    ]
    assert data["payments"] == [{"method": "cash", "amount": "5.00"}]


def test_refunds_shift_closes_and_product_changes_are_events(store_a, client_for):
    add_product(store_a, name="Tea", price="2.50", tax_rate="10", stock="10")
    owner = client_for(store_a.owner, store_a.store)
    open_shift(owner)
    checkout(owner, [{"product": 1, "quantity": "2"}], cash("5.00"))

    owner.post(
        "/api/sales/1/refund/",
        {"lines": [{"line": 1, "quantity": "1"}], "method": "cash"},
        format="json",
    )
    owner.patch("/api/catalog/products/1/", {"price": "2.60"}, format="json")
    owner.post(f"{SHIFTS}1/close/", {"counted_cash": "102.50"}, format="json")

    kinds = types_of(store_a)
    assert kinds == [
        "product.changed",  # created
        "sale.completed",
        "sale.refunded",
        "product.changed",  # repriced
        "shift.closed",
    ]
    data = dict(zip(kinds, (data for _, data in events_of(store_a)), strict=False))
    assert data["sale.refunded"]["total"] == "2.50"
    assert data["shift.closed"]["expected_cash"] == "102.50"
    assert data["shift.closed"]["difference"] == "0.00"
    changed = [data for kind, data in events_of(store_a) if kind == "product.changed"]
    assert [(c["change"], c["price"]) for c in changed] == [
        ("created", "2.50"),
        ("updated", "2.60"),
    ]


def test_stock_low_once_per_crossing_of_the_reorder_level(store_a, client_for):
    product = add_product(store_a, name="Milk", price="1.00", tax_rate="0", stock="10")
    with tenant_context(store_a.store):
        product_update(product=product, reorder_level=Decimal("5"))
    client = client_for(store_a.cashier, store_a.store)
    open_shift(client)

    for _ in range(3):  # 10 → 8 → 6 → 4: crosses once, at the third
        checkout(client, [{"product": 1, "quantity": "2"}], cash("2.00"))
    checkout(client, [{"product": 1, "quantity": "1"}], cash("1.00"))  # 3: already below
    with tenant_context(store_a.store):
        stock_adjust(product=product, delta=Decimal("10"), reason="restock", user=None)  # 13
    checkout(client, [{"product": 1, "quantity": "8"}], cash("8.00"))  # 5: at the level again

    low = [data for kind, data in events_of(store_a) if kind == "stock.low"]
    assert low == [
        {"product": 1, "name": "Milk", "sku": "MILK", "stock": "4.000", "reorder_level": "5.000"},
        {"product": 1, "name": "Milk", "sku": "MILK", "stock": "5.000", "reorder_level": "5.000"},
    ]


def test_a_sales_events_tell_its_number_and_the_stock_it_took_below_its_level_does_not(
    store_a, client_for
):
    # given a product with 1 left and a reorder level of 5, and an open shift
    product = add_product(store_a, name="Milk", price="1.00", tax_rate="0", stock="1")
    with tenant_context(store_a.store):
        product_update(product=product, reorder_level=Decimal("5"))
    open_shift(client_for(store_a.owner, store_a.store))
    checkout(
        client_for(store_a.owner, store_a.store), [{"product": 1, "quantity": "1"}], cash("1.00")
    )

    # when a till's offline sale takes 3 more (the goods have left: a conflict)
    store_a.store.offline_oversell = True
    store_a.store.save(update_fields=["offline_oversell"])
    with tenant_context(store_a.store), transaction.atomic():
        stock_adjust(product=product, delta=Decimal("6"), reason="restock", user=None)  # 6
        sale = sale_checkout(
            user=store_a.owner,
            role="owner",
            register_id=1,
            lines=[LineInput(product_id=1, quantity=Decimal("9"))],
            payments=[PaymentInput(method="cash", amount=Decimal("9.00"))],
            client_id=uuid4(),
            offline=OfflineSale(occurred_at=now() - timedelta(minutes=1)),
        )

    # then its sale and conflict events carry its id and number, written with them (the sale
    # had neither when they were made); its stock.low neither
    written = [(kind, data) for kind, data in events_of(store_a) if kind != "product.changed"]
    assert [kind for kind, _ in written] == [
        "sale.completed", "sale.completed", "sync.conflict", "stock.low",
    ]  # fmt: skip
    assert sale.number == 2
    assert [data["number"] for _, data in written[:3]] == [1, 2, 2]
    assert (written[1][1]["id"], written[2][1]["sale"]) == (sale.pk, sale.pk)
    assert written[2][1]["requested"] == "9.000"
    assert written[3][1] == {
        "product": 1, "name": "Milk", "sku": "MILK", "stock": "-3.000", "reorder_level": "5.000"
    }  # fmt: skip


def test_the_feed_pages_after_an_id_in_order(store_a, client_for):
    add_product(store_a, name="Tea", price="1.00", tax_rate="0", stock="100")
    client = client_for(store_a.manager, store_a.store)
    open_shift(client)
    for _ in range(5):
        checkout(client, [{"product": 1, "quantity": "1"}], cash("1.00"))

    everything = client.get(EVENTS).json()
    after_two = client.get(f"{EVENTS}?after=2&page_size=2").json()
    sales_only = client.get(f"{EVENTS}?type=sale.completed").json()

    assert everything["count"] == 6
    assert [event["id"] for event in everything["results"]] == [1, 2, 3, 4, 5, 6]
    assert set(everything["results"][1]) == {"id", "type", "timestamp", "data"}
    assert [event["id"] for event in after_two["results"]] == [3, 4]
    assert after_two["count"] == 4
    assert after_two["next"] is not None
    assert sales_only["count"] == 5


@pytest.mark.parametrize("query", ["after=-1", "after=x", f"after={2**63}", "type=sale.eaten"])
def test_a_bad_feed_query_is_400(store_a, client_for, query):
    response = client_for(store_a.owner, store_a.store).get(f"{EVENTS}?{query}")

    assert response.status_code == 400


def test_cashiers_do_not_read_the_feed_and_other_stores_see_none_of_it(
    store_a, store_b, client_for
):
    add_product(store_a, name="Secret tea", price="1.00", tax_rate="0", stock="1")

    cashier = client_for(store_a.cashier, store_a.store).get(EVENTS)
    outsider = client_for(store_b.owner, store_a.store).get(EVENTS)
    own = client_for(store_b.owner, store_b.store).get(EVENTS).json()

    assert cashier.status_code == 403
    assert outsider.status_code == 403
    assert own["count"] == 0


@pytest.mark.usefixtures("committed_stores")
def test_an_event_outside_a_transaction_is_refused():
    staffed = make_store("tenant_test_alpha", name="Outbox Store")

    with tenant_context(staffed.store), pytest.raises(RuntimeError, match="transaction"):
        event_emit(SALE_COMPLETED, {"id": 1})

    assert events_of(staffed) == []


@pytest.mark.usefixtures("committed_stores")
def test_a_poller_following_after_misses_no_event_written_concurrently():
    """Eight writers commit events in random order of their ids' taking, some rolling back;
    a poller following `after` ends with exactly the committed events, in id order."""
    staffed = make_store("tenant_test_alpha", name="Outbox Store")
    committed: list[int] = []
    lock = threading.Lock()
    done = threading.Event()

    def writer(number: int) -> None:
        try:
            for round_ in range(25):
                with tenant_context(staffed.store):
                    try:
                        with transaction.atomic():
                            event_emit(SALE_COMPLETED, {"writer": number, "round": round_})
                            if round_ % 5 == number % 5:
                                raise RuntimeError("rolled back")
                    except RuntimeError:
                        continue
                    with lock:
                        committed.append((number, round_))
        finally:
            connection.close()

    seen: list[int] = []
    seen_data: list[dict] = []

    def poller() -> None:
        last = 0
        try:
            with tenant_context(staffed.store):
                while True:
                    finished = done.is_set()
                    batch = list(Event.objects.filter(id__gt=last).order_by("id")[:50])
                    for event in batch:
                        seen.append(event.id)
                        seen_data.append(event.data)
                        last = event.id
                    if finished and not batch:
                        return
        finally:
            connection.close()

    reader = threading.Thread(target=poller)
    reader.start()
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()

    assert len(committed) == 8 * 20
    assert seen == sorted(seen)
    assert seen == list(range(1, len(committed) + 1))  # gap-free: rollbacks take no id
    assert sorted((d["writer"], d["round"]) for d in seen_data) == sorted(committed)
    with tenant_context(staffed.store):
        assert not Sale.objects.exists()


def exploding_subscriber(**kwargs: object) -> None:
    raise RuntimeError("the cache is down")


def test_a_failing_subscriber_never_fails_a_committed_checkout(
    store_a, client_for, settings, django_capture_on_commit_callbacks
):
    settings.EVENT_SUBSCRIBERS = ["tests.jobs.test_events.exploding_subscriber"]
    add_product(store_a, name="Tea", price="1.00", tax_rate="0", stock="5")
    client = client_for(store_a.cashier, store_a.store)
    open_shift(client)

    with django_capture_on_commit_callbacks(execute=True):
        sold = checkout(client, [{"product": 1, "quantity": "1"}], cash("1.00"))

    assert sold.status_code == 201
    assert "sale.completed" in types_of(store_a)


def test_old_events_are_purged_except_those_still_to_be_delivered(store_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_REQUIRE_HTTPS = False
    with tenant_context(store_a.store):
        with transaction.atomic():
            event_emit(SALE_COMPLETED, {"id": 1})
            event_emit(SALE_COMPLETED, {"id": 2})
        webhook = Webhook.objects.create(
            url="http://127.0.0.1:9/x", events=["sale.completed"], secret="unused"
        )
        WebhookDelivery.objects.create(webhook=webhook, event_id=2)
        Event.objects.update(created_at=now() - timedelta(days=31))
        with transaction.atomic():
            event_emit(SALE_COMPLETED, {"id": 3})

        purged = services.events_purge(before=now() - timedelta(days=30))

        assert purged == 1
        assert list(Event.objects.values_list("id", flat=True)) == [2, 3]
