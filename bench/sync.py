"""Offline sync against online checkout, and a till's catalog poll with nothing new.

    python bench/sync.py [--sales 1000] [--batch 500] [--polls 200]

In one run, on DATABASE_URL (or the embedded PostgreSQL), with one store (50 products in stock,
an open shift):
1. `--sales` sales of 3 lines each, rung up as separate `POST /api/sales/` (one client,
   keep-alive, against gunicorn), then as many offline sales in batches of `--batch` through
   `POST /api/sales/sync/`: the sync's time beside the checkouts' (floor: at most 0.2 ×);
2. the statements a batch costs, of 10 sales and of 100 (floor: the same, whatever its size);
3. `GET /api/catalog/changes/` with nothing new: its statements for a small and a large
   catalog (floor: the same) and its p50 in the server (floor: under 5 ms).
The store is removed at the end.
"""

import argparse
import http.client
import json
import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from _setup import counted, remove, setup_django

setup_django()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils.timezone import now  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from rest_framework.fields import DateTimeField  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from catalog.services import product_create, stock_adjust  # noqa: E402
from onboarding.services import store_signup  # noqa: E402
from ops.serving import database_url, gunicorn  # noqa: E402
from sales.models import Shift  # noqa: E402
from sales.services import shift_open  # noqa: E402
from stores.models import Store, User  # noqa: E402

PRODUCTS = 50
RATIO_FLOOR = 0.2
POLL_FLOOR_MS = 5.0


def lines(number: int) -> list[dict]:
    return [
        {"product": (number * 3 + offset) % PRODUCTS + 1, "quantity": "1"} for offset in range(3)
    ]


def offline_sales(count: int, start: int) -> list[dict]:
    first = now() - timedelta(hours=1)
    return [
        {
            "client_id": str(uuid.uuid4()),
            "occurred_at": DateTimeField().to_representation(first + timedelta(seconds=number)),
            "offline_number": f"T1-{start + number:05d}",
            "lines": lines(number),
            "payments": [{"method": "cash", "amount": "100.00"}],
        }
        for number in range(count)
    ]


class Client:
    def __init__(self, port: int, token: str, key: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.headers = {
            "Authorization": f"Bearer {token}",
            "X-Tenant-Key": key,
            "Content-Type": "application/json",
        }

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        self.conn.request("POST", path, body=json.dumps(body), headers=self.headers)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())


def measure_http(store: Store, token: str, count: int, batch: int) -> tuple[float, float]:
    with gunicorn({"DATABASE_URL": database_url(settings.DATABASES["default"])}) as port:
        client = Client(port, token, store.tenant_key)
        client.post("/api/sales/", {"register": 1, "lines": lines(0), "payments": []})  # warm
        started = time.perf_counter()
        for number in range(count):
            status, body = client.post(
                "/api/sales/",
                {
                    "register": 1,
                    "client_id": str(uuid.uuid4()),
                    "lines": lines(number),
                    "payments": [{"method": "cash", "amount": "100.00"}],
                },
            )
            assert status == 201, body
        online = time.perf_counter() - started
        started = time.perf_counter()
        for start in range(0, count, batch):
            status, body = client.post(
                "/api/sales/sync/",
                {"register": 1, "sales": offline_sales(min(batch, count - start), start)},
            )
            assert status == 200, body
            assert {result["status"] for result in body["results"]} == {"applied"}, body
        offline = time.perf_counter() - started
        client.conn.close()
    return online, offline


def statements_per_batch(api: APIClient, count: int) -> int:
    with counted() as queries:
        response = api.post(
            "/api/sales/sync/", {"register": 1, "sales": offline_sales(count, 0)}, format="json"
        )
    assert response.status_code == 200, response.content
    return len(queries)


def poll(api: APIClient, polls: int) -> tuple[int, float]:
    cursor = api.get("/api/catalog/changes/", {"limit": 1000}).json()["cursor"]
    with counted() as queries:
        api.get("/api/catalog/changes/", {"since": cursor})
    timings = []
    for _ in range(polls):
        started = time.perf_counter()
        response = api.get("/api/catalog/changes/", {"since": cursor})
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    return len(queries), statistics.median(timings) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--polls", type=int, default=200)
    args = parser.parse_args()

    owner, _ = User.objects.get_or_create(email="bench-sync@bench.kassa.local")
    store = store_signup(user=owner, name="Sync Bench", currency="EUR", timezone="UTC").store
    Store.objects.filter(pk=store.pk).update(created_at=now() - timedelta(days=1))
    store.refresh_from_db()
    token = str(RefreshToken.for_user(owner).access_token)
    try:
        with tenant_context(store):
            for number in range(PRODUCTS):
                product = product_create(name=f"Item {number}", price=Decimal("1.25"))
                stock_adjust(product=product, delta=Decimal(10**7), reason="restock", user=owner)
            shift_open(register_id=1, opening_cash=Decimal("0"), user=owner)
            Shift.objects.update(opened_at=now() - timedelta(days=1))
        connection.set_schema_to_public()

        online, offline = measure_http(store, token, args.sales, args.batch)
        ratio = offline / online
        print(f"{args.sales} sales of 3 lines:")
        print(f"  {args.sales} x POST /api/sales/          {online:7.2f} s")
        print(
            f"  sync in batches of {args.batch:<4d}         {offline:7.2f} s   = {ratio:.2f} x "
            f"(floor: at most {RATIO_FLOOR}) {'OK' if ratio <= RATIO_FLOOR else 'ABOVE'}"
        )

        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_TENANT_KEY=store.tenant_key)
        statements_per_batch(api, 1)  # the store and the user cached, as in a till's day
        small, large = statements_per_batch(api, 10), statements_per_batch(api, 100)
        print(
            f"  statements a batch: {small} for 10 sales, {large} for 100 (floor: the same) "
            f"{'OK' if small == large else 'ABOVE'}"
        )
        few_statements, few_ms = poll(api, args.polls)
        with tenant_context(store):
            for number in range(500):
                product_create(name=f"More {number}", price=Decimal("2.00"))
        connection.set_schema_to_public()
        many_statements, many_ms = poll(api, args.polls)
        print(
            f"catalog changes, nothing new: {few_statements} statements with {PRODUCTS} products, "
            f"{many_statements} with {PRODUCTS + 500} (floor: the same) "
            f"{'OK' if few_statements == many_statements else 'ABOVE'}"
        )
        print(
            f"  p50 in the server {few_ms:.2f} ms / {many_ms:.2f} ms "
            f"(floor: under {POLL_FLOOR_MS:.0f} ms) "
            f"{'OK' if max(few_ms, many_ms) < POLL_FLOOR_MS else 'ABOVE'}"
        )
    finally:
        remove(store, owner)


if __name__ == "__main__":
    main()
