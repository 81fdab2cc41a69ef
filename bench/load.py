"""A POS load: several stores, tills doing what tills do, against gunicorn on loopback.

    python bench/load.py [--stores 3] [--clients 8] [--seconds 30]

Each client is a till of one of the stores, looping over a realistic mix: barcode lookups
(50 %), checkouts of 1–4 lines, some with a customer (30 %), customer searches (15 %) and
refunds of a recent sale's line (5 %), every write with an Idempotency-Key. Prints throughput,
p50/p95/p99 latency and errors per kind, then checks what must hold afterwards: no answer was a
5xx, no stock went below zero, every product's movements sum to its stock, every sale has its
lines and payments. Runs on DATABASE_URL (or the embedded PostgreSQL); removes its stores after.
"""

import argparse
import http.client
import json
import random
import sys
import threading
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from _setup import drop_queued_tasks, setup_django

setup_django()

from django.conf import settings  # noqa: E402
from django.db.models import Count, Q, Sum  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from catalog.models import Product  # noqa: E402
from catalog.services import product_create, stock_adjust  # noqa: E402
from customers.services import customer_create  # noqa: E402
from onboarding.services import store_signup  # noqa: E402
from ops.serving import database_url, gunicorn  # noqa: E402
from sales.models import Sale  # noqa: E402
from sales.services import shift_open  # noqa: E402
from stores.models import User  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = 150
CUSTOMERS = 40


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


class Till:
    """One client: a store's cashier-owner at a register, on a keep-alive connection."""

    def __init__(self, port: int, store: dict, rng: random.Random):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.store = store
        self.rng = rng
        self.headers = {
            "Authorization": f"Bearer {store['access']}",
            "X-Tenant-Key": store["key"],
            "Content-Type": "application/json",
        }
        self.sales: list[dict] = []

    def call(self, method: str, path: str, body: dict | None = None, key: bool = False) -> tuple:
        headers = dict(self.headers)
        if key:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        payload = json.dumps(body) if body is not None else None
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data

    def step(self) -> tuple[str, int]:
        roll = self.rng.random()
        if roll < 0.5:
            barcode = self.rng.choice(self.store["barcodes"])
            return "lookup", self.call("GET", f"/api/catalog/products/?barcode={barcode}")[0]
        if roll < 0.8:
            lines = [
                {"product": pk, "quantity": str(self.rng.randint(1, 3))}
                for pk in self.rng.sample(self.store["products"], self.rng.randint(1, 4))
            ]
            body = {
                "register": 1,
                "customer": self.rng.choice(self.store["customers"])
                if self.rng.random() < 0.3
                else None,
                "lines": lines,
                "payments": [{"method": "cash", "amount": "5000.00"}],
            }
            status, data = self.call("POST", "/api/sales/", body, key=True)
            if status == 201:
                self.sales.append(json.loads(data))
            return "checkout", status
        if roll < 0.95:
            term = self.rng.choice(["an", "ov", "+4", "ma", "@ex"])
            return "customer search", self.call("GET", f"/api/customers/?search={term}")[0]
        if not self.sales:
            return "lookup", self.call("GET", "/api/catalog/products/1/")[0]
        sale = self.sales.pop(self.rng.randrange(len(self.sales)))
        line = sale["lines"][0]
        body = {"lines": [{"line": line["id"], "quantity": "1"}], "method": "cash", "restock": True}
        return "refund", self.call("POST", f"/api/sales/{sale['id']}/refund/", body, key=True)[0]


def make_store(number: int, owner: User) -> dict:
    store = store_signup(
        user=owner, name=f"Load Store {number}", currency="EUR", timezone="Europe/Berlin"
    ).store
    rng = random.Random(number)
    with tenant_context(store):
        products, barcodes = [], []
        for index in range(PRODUCTS):
            barcode = f"40{number:02d}{index:09d}"
            product = product_create(
                name=f"Item {index}",
                barcode=barcode,
                price=Decimal(rng.randint(50, 5000)) / 100,
                tax_rate=Decimal(rng.choice([0, 7, 19])),
            )
            stock_adjust(product=product, delta=Decimal(300), reason="restock", user=owner)
            products.append(product.pk)
            barcodes.append(barcode)
        customers = [
            customer_create(name=f"Customer {index} Ivanova", phone=f"+4917{index:07d}").pk
            for index in range(CUSTOMERS)
        ]
        shift_open(register_id=1, opening_cash=Decimal("200.00"), user=owner)
    return {
        "store": store,
        "key": store.tenant_key,
        "access": str(RefreshToken.for_user(owner).access_token),
        "products": products,
        "barcodes": barcodes,
        "customers": customers,
    }


def check_invariants(stores: list[dict]) -> list[str]:
    problems = []
    for entry in stores:
        with tenant_context(entry["store"]):
            problems.extend(
                f"{entry['key']} product {product.pk}: stock {product.stock}"
                for product in Product.objects.annotate(moved=Sum("movements__delta"))
                if product.stock < 0 or product.moved != product.stock
            )
            incomplete = Sale.objects.annotate(
                line_count=Count("lines", distinct=True),
                payment_count=Count("payments", distinct=True),
            ).filter(Q(line_count=0) | Q(payment_count=0))
            problems.extend(f"{entry['key']} sale {sale.pk} incomplete" for sale in incomplete)
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    owner, _ = User.objects.get_or_create(email="bench-load@bench.kassa.local")
    stores = [make_store(number, owner) for number in range(args.stores)]
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    lock = threading.Lock()
    try:
        with gunicorn({"DATABASE_URL": database_url(settings.DATABASES["default"])}) as port:
            deadline = time.perf_counter() + args.seconds

            def run(number: int) -> None:
                till = Till(port, stores[number % len(stores)], random.Random(1000 + number))
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    kind, status = till.step()
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies[kind].append(elapsed)
                        statuses[kind][status] += 1
                till.conn.close()

            threads = [
                threading.Thread(target=run, args=(number,)) for number in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        problems = check_invariants(stores)
    finally:
        for entry in stores:
            entry["store"].delete(force_drop=True)
        owner.delete()
        drop_queued_tasks()

    total = sum(len(values) for values in latencies.values())
    everything = [value for values in latencies.values() for value in values]
    server_errors = sum(
        count for by_status in statuses.values() for code, count in by_status.items() if code >= 500
    )
    print(
        f"POS load: {args.stores} stores, {args.clients} tills, {args.seconds:.0f} s, gunicorn "
        f"2 workers x 4 threads"
    )
    print(
        f"  {total / args.seconds:.1f} requests/s  p50 {percentile(everything, 0.5):.1f} ms  "
        f"p95 {percentile(everything, 0.95):.1f} ms  p99 {percentile(everything, 0.99):.1f} ms"
    )
    for kind in sorted(latencies):
        answers = ", ".join(f"{code}: {count}" for code, count in sorted(statuses[kind].items()))
        print(
            f"  {kind:16s} {len(latencies[kind]):6d}  p50 {percentile(latencies[kind], 0.5):6.1f} "
            f"ms  p95 {percentile(latencies[kind], 0.95):6.1f} ms  p99 "
            f"{percentile(latencies[kind], 0.99):6.1f} ms  ({answers})"
        )
    print(f"  5xx answers: {server_errors}; invariant problems: {len(problems)}")
    for problem in problems[:20]:
        print(f"    {problem}")
    if server_errors or problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
