"""Webhooks: subscriptions (owner, secret once, kept encrypted), deliveries to a real receiver on
loopback that verifies every signature with the `standardwebhooks` library, retries, order,
the delivery log, and the SSRF guards of production settings."""

import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils.timezone import now
from django_tenants.utils import tenant_context

from jobs.models import Webhook, WebhookDelivery
from jobs.webhooks import sending, services
from jobs.webhooks.addresses import AddressRefused, Target, target_resolve
from jobs.webhooks.secrets import secret_decrypt
from tests.jobs.receiver import DROP, LATE, TIMEOUT, receiver_running
from tests.sales.test_shifts import add_product, checkout, open_shift

WEBHOOKS = "/api/webhooks/"


@pytest.fixture
def development(settings):
    """Settings that post to loopback over http, with short timeouts and quick retries."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.5  # an answer on a busy machine is still in time
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    return settings


@pytest.fixture
def production(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.WEBHOOK_REQUIRE_HTTPS = True
    return settings


def subscribe(client, url: str, events: tuple[str, ...] = ("sale.completed",)) -> dict:
    response = client.post(WEBHOOKS, {"url": url, "events": list(events)}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def sell(client, count: int) -> None:
    for _ in range(count):
        sold = checkout(
            client, [{"product": 1, "quantity": "1"}], [{"method": "card", "amount": "1.00"}]
        )
        assert sold.status_code == 201, sold.json()


def deliver_all(staffed, *, seconds: float = 20) -> None:
    """What the workers do: fan out, then post each subscription's deliveries, waiting out the
    backoff, until nothing is pending."""
    deadline = time.monotonic() + seconds
    with tenant_context(staffed.store):
        while time.monotonic() < deadline:
            waiting = []
            for webhook_id in services.deliveries_fan_out():
                progress = services.webhook_deliver(webhook_id=webhook_id)
                if progress.retry_at is not None:
                    waiting.append(progress.retry_at)
            if not WebhookDelivery.objects.filter(
                status="pending", webhook__is_active=True
            ).exists():
                return
            if waiting:
                time.sleep(max(0.0, (min(waiting) - now()).total_seconds()))
    pytest.fail("deliveries still pending")


@pytest.fixture
def shop(store_a, client_for):
    add_product(store_a, name="Tea", price="1.00", tax_rate="0", stock="1000")
    owner = client_for(store_a.owner, store_a.store)
    open_shift(owner)
    store_a.client = owner
    return store_a


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_every_event_arrives_in_order_once_after_refused_500_timeout_and_drop(shop, development):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks/kassa"
    created = subscribe(shop.client, url)
    sell(shop.client, 5)

    # Nothing listens yet: the first attempt is refused, and the delivery waits.
    with tenant_context(shop.store):
        (webhook_id,) = services.deliveries_fan_out()
        progress = services.webhook_deliver(webhook_id=webhook_id)
    assert progress.retry_at is not None
    with receiver_running(
        port=port, secret=created["secret"], script=[500, TIMEOUT, DROP, LATE], hang_seconds=3
    ) as receiver:
        deliver_all(shop)

    delivered = receiver.delivered()
    assert [event.data["number"] for event in delivered] == [1, 2, 3, 4, 5]
    assert all(event.verified for event in receiver.requests)
    assert [event.type for event in delivered] == ["sale.completed"] * 5
    # The event taken before the late answer came again, with the same webhook-id.
    ids = [event.webhook_id for event in receiver.requests]
    assert len(ids) == 6
    assert len(set(ids)) == 5
    log = shop.client.get(f"{WEBHOOKS}{created['id']}/deliveries/").json()
    first = log["results"][-1]  # newest first
    assert first["status"] == "succeeded"
    assert [attempt["response_code"] for attempt in first["log"]] == [
        None,
        500,
        None,
        None,
        None,
        204,
    ]
    errors = [attempt["error"] for attempt in first["log"]]
    assert "NewConnectionError" in errors[0] or "refused" in errors[0].lower()
    assert "Timeout" in errors[2]
    assert all(attempt["latency_ms"] >= 0 for attempt in first["log"])
    assert first["attempts"] == 6


def test_a_410_stops_at_once_and_turns_the_webhook_off_with_the_reason(shop, development):
    with receiver_running(script=[410]) as receiver:
        created = subscribe(shop.client, receiver.url)
        receiver.secret = created["secret"]
        sell(shop.client, 3)
        deliver_all(shop)

    hook = shop.client.get(f"{WEBHOOKS}{created['id']}/").json()
    assert hook["is_active"] is False
    assert "410" in hook["disabled_reason"]
    deliveries = shop.client.get(f"{WEBHOOKS}{created['id']}/deliveries/").json()["results"]
    assert [delivery["status"] for delivery in deliveries] == ["pending", "pending", "failed"]
    assert deliveries[-1]["attempts"] == 1
    assert receiver.requests == []


def test_another_4xx_ends_that_delivery_and_the_next_goes_on(shop, development):
    with receiver_running(script=[400]) as receiver:
        created = subscribe(shop.client, receiver.url)
        receiver.secret = created["secret"]
        sell(shop.client, 2)
        deliver_all(shop)

    assert [event.data["number"] for event in receiver.delivered()] == [2]
    deliveries = shop.client.get(f"{WEBHOOKS}{created['id']}/deliveries/").json()["results"]
    assert [(d["status"], d["response_code"], d["attempts"]) for d in deliveries] == [
        ("succeeded", 204, 1),
        ("failed", 400, 1),
    ]


def test_a_delivery_failing_past_its_day_gives_up_and_turns_the_webhook_off(shop, development):
    development.WEBHOOK_RETRY_FOR_SECONDS = 0  # "a day", for the test
    with receiver_running(script=[503, 503]) as receiver:
        created = subscribe(shop.client, receiver.url)
        sell(shop.client, 1)
        deliver_all(shop)

    hook = shop.client.get(f"{WEBHOOKS}{created['id']}/").json()
    assert hook["is_active"] is False
    assert "503" in hook["disabled_reason"]
    assert "could not be delivered" in hook["disabled_reason"]


def test_a_failed_delivery_is_retried_by_hand(shop, development):
    with receiver_running(script=[400]) as receiver:
        created = subscribe(shop.client, receiver.url)
        receiver.secret = created["secret"]
        sell(shop.client, 1)
        deliver_all(shop)
        (failed,) = shop.client.get(f"{WEBHOOKS}{created['id']}/deliveries/").json()["results"]

        retried = shop.client.post(f"{WEBHOOKS}{created['id']}/deliveries/{failed['id']}/retry/")
        deliver_all(shop)

    assert retried.status_code == 202
    assert retried.json()["status"] == "pending"
    assert [event.data["number"] for event in receiver.delivered()] == [1]
    (done,) = shop.client.get(f"{WEBHOOKS}{created['id']}/deliveries/").json()["results"]
    assert (done["status"], done["attempts"]) == ("succeeded", 2)


def test_retry_of_a_turned_off_webhook_or_a_stranger_delivery(shop, development):
    with receiver_running(script=[410]) as receiver:
        created = subscribe(shop.client, receiver.url)
        other = subscribe(shop.client, receiver.url)
        sell(shop.client, 1)
        deliver_all(shop)
    deliveries = shop.client.get(f"{WEBHOOKS}{created['id']}/deliveries/").json()["results"]
    off = next(d for d in deliveries if d["status"] == "failed")

    turned_off = shop.client.post(f"{WEBHOOKS}{created['id']}/deliveries/{off['id']}/retry/")
    stranger = shop.client.post(f"{WEBHOOKS}{other['id']}/deliveries/{off['id']}/retry/")

    assert turned_off.status_code == 409
    assert turned_off.json()["code"] == "webhook_inactive"
    assert stranger.status_code == 404


def test_only_the_types_subscribed_are_sent(shop, development):
    with receiver_running() as receiver:
        created = subscribe(shop.client, receiver.url, events=("shift.closed",))
        receiver.secret = created["secret"]
        sell(shop.client, 2)
        shop.client.post("/api/sales/shifts/1/close/", {"counted_cash": "100.00"}, format="json")
        deliver_all(shop)

    assert [event.type for event in receiver.delivered()] == ["shift.closed"]


def test_the_secret_is_shown_once_and_kept_encrypted(shop, development):
    created = subscribe(shop.client, "http://127.0.0.1:9/hooks")

    listed = shop.client.get(WEBHOOKS).json()["results"][0]
    read = shop.client.get(f"{WEBHOOKS}{created['id']}/").json()

    assert created["secret"].startswith("whsec_")
    assert "secret" not in listed
    assert "secret" not in read
    with tenant_context(shop.store):
        stored = Webhook.objects.get().secret
    assert created["secret"] not in stored
    assert secret_decrypt(stored) == created["secret"]


def test_webhooks_are_for_owners_only_and_their_own_store(shop, store_b, client_for, development):
    created = subscribe(shop.client, "http://127.0.0.1:9/hooks")
    body = {"url": "http://127.0.0.1:9/x", "events": ["sale.completed"]}

    manager = client_for(shop.manager, shop.store)
    outsider = client_for(store_b.owner, shop.store)
    own_b = client_for(store_b.owner, store_b.store)

    assert manager.get(WEBHOOKS).status_code == 403
    assert manager.post(WEBHOOKS, body, format="json").status_code == 403
    assert outsider.get(f"{WEBHOOKS}{created['id']}/").status_code == 403
    assert own_b.get(f"{WEBHOOKS}{created['id']}/").status_code == 404
    assert own_b.get(WEBHOOKS).json()["count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"url": "http://127.0.0.1:9/x", "events": []},
        {"url": "http://127.0.0.1:9/x", "events": ["sale.eaten"]},
        {"url": "ftp://127.0.0.1/x", "events": ["sale.completed"]},
        {"url": "http://user:pw@127.0.0.1:9/x", "events": ["sale.completed"]},
        {"url": "not a url", "events": ["sale.completed"]},
    ],
)
def test_a_bad_subscription_is_400_and_writes_nothing(shop, development, body):
    response = shop.client.post(WEBHOOKS, body, format="json")

    assert response.status_code == 400
    with tenant_context(shop.store):
        assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",  # http, and loopback
        "https://127.0.0.1/hooks",
        "https://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",  # IPv4-mapped private
        "https://10.1.2.3/hooks",
        "https://localhost/hooks",  # a name resolving to loopback
        "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "https://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "https://[::7f00:1]/",  # IPv4-compatible loopback
        "https://[fec0::1]/",  # site-local
    ],
)
def test_production_settings_refuse_private_addresses(shop, production, url):
    response = shop.client.post(WEBHOOKS, {"url": url, "events": ["sale.completed"]}, format="json")

    assert response.status_code == 400
    assert "url" in response.json()
    with pytest.raises(AddressRefused):
        target_resolve(url)


def test_a_url_allowed_before_is_refused_at_delivery_under_production_settings(shop, development):
    with receiver_running() as receiver:
        created = subscribe(shop.client, receiver.url)
        sell(shop.client, 1)
        development.WEBHOOK_ALLOW_PRIVATE = False  # as if the name now resolved to loopback
        with tenant_context(shop.store):
            (webhook_id,) = services.deliveries_fan_out()
            services.webhook_deliver(webhook_id=webhook_id)

    assert receiver.requests == []
    (delivery,) = shop.client.get(f"{WEBHOOKS}{created['id']}/deliveries/").json()["results"]
    assert delivery["status"] == "failed"  # refused is final: it would be refused again
    assert delivery["error"].startswith("refused:")


def test_no_redirect_is_followed(shop, development):
    with receiver_running(script=[302]) as receiver:
        created = subscribe(shop.client, receiver.url)
        receiver.secret = created["secret"]
        sell(shop.client, 1)
        deliver_all(shop)

    (delivery,) = shop.client.get(f"{WEBHOOKS}{created['id']}/deliveries/").json()["results"]
    assert (delivery["status"], delivery["response_code"]) == ("failed", 302)


def test_a_new_webhook_is_sent_only_what_happens_after_it(shop, development):
    sell(shop.client, 2)
    with receiver_running() as receiver:
        created = subscribe(shop.client, receiver.url)
        receiver.secret = created["secret"]
        sell(shop.client, 1)
        deliver_all(shop)

    assert [event.data["number"] for event in receiver.delivered()] == [3]


def test_backoff_doubles_with_jitter_and_is_capped(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 5
    waits = [services.backoff(attempt) for attempt in range(1, 12)]

    assert timedelta(seconds=2.5) <= waits[0] <= timedelta(seconds=5)
    assert timedelta(seconds=20) <= waits[3] <= timedelta(seconds=40)
    assert all(wait <= timedelta(hours=3) for wait in waits)


def test_a_host_that_does_not_resolve_at_delivery_is_tried_again(development):
    outcome = sending.post(url="http://no-such-host.invalid/hooks", body="{}", headers={})

    assert outcome.response_code is None
    assert outcome.error.startswith("unresolved:")
    assert outcome.retryable


def test_a_public_address_passes(production):
    target = target_resolve("https://93.184.216.34:8443/hooks?x=1")

    assert (target.address, target.port, target.host) == ("93.184.216.34", 8443, "93.184.216.34")


def test_a_request_goes_to_the_address_checked_and_through_no_proxy(development, monkeypatch):
    # DNS rebinding: the name is checked (here it "resolved" to the receiver's address), and the
    # request goes to that address, not to what the name resolves to as libcurl connects (this
    # one resolves to nothing), nor through a proxy the environment names (nothing listens there).
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with receiver_running() as receiver:
        port = int(receiver.url.rsplit(":", 1)[1].split("/", 1)[0])
        url = f"http://rebinding.invalid:{port}/hooks"
        checked = Target(
            parts=urlsplit(url), host="rebinding.invalid", port=port, address="127.0.0.1"
        )
        monkeypatch.setattr(sending, "target_resolve", lambda _: checked)
        outcome = sending.post(
            url=url,
            body='{"type": "sale.completed", "timestamp": "2026-12-03T10:00:00+00:00", "data": {}}',
            headers={
                "webhook-id": "msg_1_1",
                "webhook-timestamp": "0",
                "webhook-signature": "v1,x",
            },
        )

    # The receiver got it (and refused the signature: 401), under the URL's own host name.
    assert outcome.response_code == 401, outcome
    assert [received.webhook_id for received in receiver.requests] == ["msg_1_1"]


def test_a_url_with_letters_beyond_ascii_is_sent_encoded(development):
    with receiver_running() as receiver:
        outcome = sending.post(
            url=f"{receiver.url}/bücher?für=kassé",
            body='{"type": "sale.completed", "timestamp": "2026-12-03T10:00:00+00:00", "data": {}}',
            headers={
                "webhook-id": "msg_1_2",
                "webhook-timestamp": "0",
                "webhook-signature": "v1,x",
            },
        )

    assert outcome.response_code == 401, outcome  # it arrived (unsigned for this receiver)
    assert [received.webhook_id for received in receiver.requests] == ["msg_1_2"]
