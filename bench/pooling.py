"""The POS mix over many stores, behind PgBouncer in transaction mode and on direct connections.

    python bench/pooling.py [--stores 1000] [--clients 64] [--seconds 30] [--server-connections 20]

With `--stores` stores (each with products in stock, customers and an open shift), `--clients`
client threads run bench/load.py's POS mix (lookups, checkouts, customer searches, refunds),
each request for a store drawn at random, against gunicorn (4 workers x 8 threads) twice:

1. **direct**: `DATABASE_POOL_MODE=session`, every gunicorn thread with its own connection;
2. **pooled**: through a real PgBouncer in transaction mode whose pool holds at most
   `--server-connections` server connections, `DATABASE_POOL_MODE=transaction`.

For each: throughput, p50/p99, errors, and the most server connections PostgreSQL saw (sampled
every 100 ms); then onboarding p50 (`POST /api/stores/signup/` as a signed-in owner, no spare
schemas, so each replays the template's script) on each path. Afterwards every store's
invariants are checked (stock = movements, never negative, no sale without lines or payments).
Runs on DATABASE_URL (or the embedded PostgreSQL); removes its stores after unless `--keep`.
"""

import argparse
import json
import random
import secrets
import statistics
import sys
import threading
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from decimal import Decimal

from _setup import drop_queued_tasks, setup_django

setup_django()

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from load import Till, check_invariants, percentile  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from catalog.services import product_create, stock_adjust  # noqa: E402
from customers.services import customer_create  # noqa: E402
from ops.serving import database_url, gunicorn, pgbouncer  # noqa: E402
from sales.models import Register  # noqa: E402
from sales.services import shift_open  # noqa: E402
from stores import provisioning  # noqa: E402
from stores.models import Membership, Store, User  # noqa: E402

PREFIX = "tenant_bench_pool_"
PRODUCTS = 12
CUSTOMERS = 4
WORKERS, THREADS = 4, 8


def grow_to(count: int, owner: User, access: str) -> list[dict]:
    """The bench's stores, made until `count` exist (kept ones are reused with `--keep`)."""
    stores = list(Store.objects.filter(schema_name__startswith=PREFIX).order_by("schema_name"))
    started = time.perf_counter()
    for number in range(len(stores), count):
        schema_name = f"{PREFIX}{number:05d}"
        provisioning.schema_from_template(schema_name)
        store = Store.objects.create(
            name=f"Pooling Bench {number}",
            slug=f"pooling-bench-{number}",
            schema_name=schema_name,
            tenant_key=f"pooling_bench_{number}_{secrets.token_hex(4)}",
            currency="EUR",
            timezone="UTC",
        )
        Membership.objects.create(user=owner, store=store, role=Membership.Role.OWNER)
        rng = random.Random(number)
        with tenant_context(store):
            register = Register.objects.create(name="Main register")
            for index in range(PRODUCTS):
                product = product_create(
                    name=f"Item {index}",
                    barcode=f"41{number:05d}{index:06d}",
                    price=Decimal(rng.randint(50, 5000)) / 100,
                    tax_rate=Decimal(rng.choice([0, 7, 19])),
                )
                stock_adjust(product=product, delta=Decimal(10000), reason="restock", user=owner)
            for index in range(CUSTOMERS):
                customer_create(name=f"Customer {index} Ivanova", phone=f"+4917{index:07d}")
            shift_open(register_id=register.pk, opening_cash=Decimal("200.00"), user=owner)
        stores.append(store)
        if (number + 1) % 100 == 0:
            print(f"  {number + 1} stores ({time.perf_counter() - started:.0f} s)", flush=True)
    entries = []
    for store in stores[:count]:
        with tenant_context(store):
            from catalog.models import Product  # noqa: PLC0415
            from customers.models import Customer  # noqa: PLC0415

            products = list(Product.objects.order_by("pk").values_list("pk", "barcode"))
            entries.append(
                {
                    "store": store,
                    "key": store.tenant_key,
                    "access": access,
                    "register": Register.objects.values_list("pk", flat=True).first(),
                    "products": [pk for pk, _ in products],
                    "barcodes": [barcode for _, barcode in products],
                    "customers": list(Customer.objects.values_list("pk", flat=True)),
                }
            )
    return entries


class StoreHoppingTill(Till):
    """A client thread that serves a random store on every request, as gunicorn sees 1,000
    stores' tills: each store's recent sales are kept apart for its refunds."""

    def __init__(self, port: int, stores: list[dict], rng: random.Random) -> None:
        super().__init__(port, stores[0], rng)
        self.stores = stores
        self.sales_by_store: dict[str, list[dict]] = defaultdict(list)

    def step(self) -> tuple[str, int]:
        self.store = self.rng.choice(self.stores)
        self.headers["X-Tenant-Key"] = self.store["key"]
        self.sales = self.sales_by_store[self.store["key"]]
        return super().step()


class ServerConnections:
    """The most connections PostgreSQL serves for the database, sampled every 100 ms."""

    def __init__(self, url: str, database: str) -> None:
        self.url, self.database, self.most = url, database, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as sampler:
            while not self._stop.wait(0.1):
                (count,) = sampler.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
                    [self.database],
                ).fetchone()
                self.most = max(self.most, count)

    def __enter__(self) -> "ServerConnections":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def pos_load(port: int, stores: list[dict], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: dict[int, int] = defaultdict(int)
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def run(number: int) -> None:
        till = StoreHoppingTill(port, stores, random.Random(2000 + number))
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                _, status = till.step()
            except OSError:
                status = 599  # the connection itself failed
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1
        till.conn.close()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "statuses": dict(statuses), "seconds": seconds}


def signups(port: int, access: str, count: int) -> list[float]:
    till = Till(port, {"access": access, "key": ""}, random.Random(0))
    del till.headers["X-Tenant-Key"]
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        status, data = till.call(
            "POST",
            "/api/stores/signup/",
            {
                "store_name": f"Pool Signup {uuid.uuid4().hex[:8]}",
                "currency": "EUR",
                "timezone": "UTC",
            },
        )
        timings.append(time.perf_counter() - started)
        if status != 201:
            raise SystemExit(f"signup answered {status}: {data[:300]!r}")
        json.loads(data)
    till.conn.close()
    return timings


def report(label: str, run: dict, most_connections: int, signup_timings: list[float]) -> int:
    latencies, statuses = run["latencies"], run["statuses"]
    errors = sum(count for status, count in statuses.items() if status >= 500)
    answers = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    print(
        f"{label:7s} {len(latencies) / run['seconds']:7.1f} req/s  p50 "
        f"{percentile(latencies, 0.5):6.1f} ms  p99 {percentile(latencies, 0.99):7.1f} ms  "
        f"5xx {errors}  server connections (most) {most_connections:3d}  onboarding p50 "
        f"{statistics.median(signup_timings) * 1000:6.1f} ms  ({answers})"
    )
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--server-connections", type=int, default=20)
    parser.add_argument("--signups", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the stores for the next run")
    args = parser.parse_args()

    database = settings.DATABASES["default"]
    direct_url = database_url(database)
    owner, _ = User.objects.get_or_create(email="bench-pooling@bench.kassa.local")
    access = str(RefreshToken.for_user(owner).access_token)
    provisioning.template_update()
    print(f"Setting up {args.stores} stores ...", flush=True)
    stores = grow_to(args.stores, owner, access)
    signed_up_before = set(Store.objects.values_list("pk", flat=True))
    connection.close()  # so that only the servers' connections are counted
    errors = 0
    try:
        common = {"STORE_SPARE_SCHEMAS": "0", "CONN_MAX_AGE": "600"}
        print(
            f"POS mix: {len(stores)} stores, {args.clients} client threads, {args.seconds:.0f} s "
            f"each, gunicorn {WORKERS} workers x {THREADS} threads"
        )
        with (
            ServerConnections(direct_url, database["NAME"]) as sampled,
            gunicorn(
                {**common, "DATABASE_URL": direct_url, "DATABASE_POOL_MODE": "session"},
                workers=WORKERS,
                threads=THREADS,
            ) as port,
        ):
            direct = pos_load(port, stores, args.clients, args.seconds)
            direct_signups = signups(port, access, args.signups)
        errors += report("direct", direct, sampled.most, direct_signups)
        connection.close()
        with ExitStack() as stack:
            pooler = stack.enter_context(
                pgbouncer(database, pool_mode="transaction", pool_size=args.server_connections)
            )
            sampled = stack.enter_context(ServerConnections(direct_url, database["NAME"]))
            port = stack.enter_context(
                gunicorn(
                    {**common, "DATABASE_URL": pooler.url, "DATABASE_POOL_MODE": "transaction"},
                    workers=WORKERS,
                    threads=THREADS,
                )
            )
            pooled = pos_load(port, stores, args.clients, args.seconds)
            pooled_signups = signups(port, access, args.signups)
        errors += report("pooled", pooled, sampled.most, pooled_signups)
        within = sampled.most <= args.server_connections
        errors += 0 if within else 1
        print(
            f"  pooled/direct throughput {len(pooled['latencies']) / len(direct['latencies']):.2f}"
            f"; server connections at most {args.server_connections} behind PgBouncer: "
            f"{'OK' if within else 'ABOVE'}"
        )
        problems = check_invariants(stores)
        print(f"  invariant problems: {len(problems)}")
        for problem in problems[:20]:
            print(f"    {problem}")
    finally:
        for store in Store.objects.exclude(pk__in=signed_up_before):
            store.delete(force_drop=True)  # the signups'
        if not args.keep:
            for entry in stores:
                entry["store"].delete(force_drop=True)
            owner.delete()
        connection.close()
        drop_queued_tasks()
    if errors or problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
