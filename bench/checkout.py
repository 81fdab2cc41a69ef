"""Checkout figures: SQL statements per checkout (1 and 20 lines) and checkouts per second
beside plain reads.

    python bench/checkout.py [--seconds 10] [--clients 8] [--rounds 2]

Statements are counted in-process. The rates come from gunicorn on loopback (2 workers × 4
threads) driven by `--clients` keep-alive HTTP clients: plain reads of one product
(`GET /api/catalog/products/{id}/`) and checkouts of 1–3 lines, for `--seconds` each, in
alternating order for `--rounds` rounds (read, checkout; checkout, read; …). Beside the rates,
Kassa's CPU a request (the machine's busy time less the clients'), which a shared host's drift
does not move. The floors (issue 18): checkout at least 0.6 of the read rate, and at most 20
statements whatever the number of lines. Runs against DATABASE_URL (or the embedded
PostgreSQL); removes its store after.
"""

import argparse
import http.client
import json
import random
import threading
import time
from decimal import Decimal
from pathlib import Path

from _setup import drop_queued_tasks, kassa_busy_seconds, kassa_processes_cpu, setup_django

setup_django()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from catalog.services import product_create, stock_adjust  # noqa: E402
from onboarding.services import store_signup  # noqa: E402
from ops.serving import database_url, gunicorn  # noqa: E402
from sales.services import shift_open  # noqa: E402
from stores.models import User  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = 200
STATEMENT_FLOOR = 20
RATE_FLOOR = 0.6


def count_statements(client: APIClient, body: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/sales/", body, format="json")
    assert response.status_code == 201, response.content
    return len(queries.captured_queries)


def drive(
    port: int, headers: dict, request: callable, seconds: float, clients: int
) -> tuple[int, int, list[float]]:
    """`clients` threads calling `request(connection)` for `seconds`: (ok, errors, latencies)."""
    ok = errors = 0
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        nonlocal ok, errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        good = bad = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status = request(conn, headers)
            mine.append(time.perf_counter() - started)
            if 200 <= status < 300:
                good += 1
            else:
                bad += 1
        conn.close()
        with lock:
            ok += good
            errors += bad
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return ok, errors, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    owner, _ = User.objects.get_or_create(email="bench-checkout@bench.kassa.local")
    signup = store_signup(user=owner, name="Bench Checkout", currency="EUR", timezone="UTC")
    store = signup.store
    try:
        with tenant_context(store):
            product_ids = []
            for number in range(PRODUCTS):
                product = product_create(
                    name=f"Product {number}",
                    sku=f"SKU-{number}",
                    price=Decimal("1.99") + number % 50,
                    tax_rate=Decimal("20.00"),
                )
                stock_adjust(
                    product=product, delta=Decimal(1_000_000), reason="restock", user=owner
                )
                product_ids.append(product.pk)
            shift_open(register_id=1, opening_cash=Decimal("100.00"), user=owner)

        access = str(RefreshToken.for_user(owner).access_token)
        client = APIClient()
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {access}", HTTP_X_TENANT_KEY=store.tenant_key
        )

        def checkout_body(lines: int) -> dict:
            chosen = random.sample(product_ids, lines)
            return {
                "register": 1,
                "lines": [{"product": pk, "quantity": "1"} for pk in chosen],
                "payments": [{"method": "cash", "amount": "10000.00"}],
            }

        client.get("/api/catalog/products/1/")  # warm caches
        one_line = count_statements(client, checkout_body(1))
        twenty_lines = count_statements(client, checkout_body(20))

        headers = {
            "Authorization": f"Bearer {access}",
            "X-Tenant-Key": store.tenant_key,
            "Content-Type": "application/json",
        }

        def read(conn: http.client.HTTPConnection, headers: dict) -> int:
            conn.request(
                "GET", f"/api/catalog/products/{random.choice(product_ids)}/", headers=headers
            )
            response = conn.getresponse()
            response.read()
            return response.status

        def checkout(conn: http.client.HTTPConnection, headers: dict) -> int:
            body = json.dumps(checkout_body(random.randint(1, 3)))
            conn.request("POST", "/api/sales/", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status

        kinds = {"read": read, "checkout": checkout}
        done = {kind: [0, 0, []] for kind in kinds}  # ok, failed, latencies
        cpu = {kind: {} for kind in kinds}  # CPU seconds by process kind ("all" for the sum)
        with gunicorn({"DATABASE_URL": database_url(settings.DATABASES["default"])}) as port:
            drive(port, headers, read, 1.0, args.clients)  # warm every worker
            for number in range(args.rounds):
                # Alternating (read, checkout; checkout, read; …): a drift of a shared host's
                # speed weighs on both alike.
                for kind in ("read", "checkout") if number % 2 == 0 else ("checkout", "read"):
                    used, processes = kassa_busy_seconds(), kassa_processes_cpu()
                    ok, failed, latencies = drive(
                        port, headers, kinds[kind], args.seconds, args.clients
                    )
                    time.sleep(0.5)  # what the requests left to do is counted with them
                    _add_cpu(cpu[kind], since=(used, processes))
                    done[kind] = [done[kind][0] + ok, done[kind][1] + failed, done[kind][2]]
                    done[kind][2].extend(latencies)
    finally:
        store.delete(force_drop=True)
        owner.delete()
        _drop_queued_tasks()

    _report(args, (one_line, twenty_lines), done, cpu)


def _report(args: argparse.Namespace, statements: tuple[int, int], done: dict, cpu: dict) -> None:
    one_line, twenty_lines = statements
    reads_ok, reads_failed, read_latencies = done["read"]
    sales_ok, sales_failed, sale_latencies = done["checkout"]
    read_rate = reads_ok / args.seconds / args.rounds
    sale_rate = sales_ok / args.seconds / args.rounds
    print(
        f"SQL statements per checkout: 1 line {one_line}, 20 lines {twenty_lines} "
        f"(floor: equal and at most {STATEMENT_FLOOR}) "
        f"{'OK' if one_line == twenty_lines <= STATEMENT_FLOOR else 'BELOW FLOOR'}"
    )
    print(
        f"gunicorn 2 workers x 4 threads, {args.clients} clients, {args.rounds} rounds of "
        f"{args.seconds:.0f} s each:"
    )
    print(
        f"  GET product   {read_rate:8.1f}/s  p50 {_ms(read_latencies, 0.5)}  "
        f"p95 {_ms(read_latencies, 0.95)}  errors {reads_failed}"
    )
    print(
        f"  POST checkout {sale_rate:8.1f}/s  p50 {_ms(sale_latencies, 0.5)}  "
        f"p95 {_ms(sale_latencies, 0.95)}  errors {sales_failed}"
    )
    ratio = sale_rate / read_rate if read_rate else 0.0
    print(
        f"  checkout / read = {ratio:.2f} (floor: {RATE_FLOOR}) "
        f"{'OK' if ratio >= RATE_FLOOR else 'BELOW FLOOR'}"
    )
    read_cpu = cpu["read"]["all"] / reads_ok * 1000
    sale_cpu = cpu["checkout"]["all"] / sales_ok * 1000
    print(
        f"  Kassa's CPU a request (gunicorn, PostgreSQL, Redis): read {read_cpu:.1f} ms, "
        f"checkout {sale_cpu:.1f} ms; read / checkout = {read_cpu / sale_cpu:.2f}, the ratio "
        "the rates would have on a machine of its own"
    )
    for kind, requests in (("read", reads_ok), ("checkout", sales_ok)):
        shares = ", ".join(
            f"{process} {cpu[kind].get(process, 0.0) / requests * 1000:.2f} ms"
            for process in ("gunicorn", "postgres", "redis")
        )
        print(f"    {kind} by process: {shares}")


def _add_cpu(spent: dict[str, float], *, since: tuple[float, dict]) -> None:
    """Add to `spent` what Kassa (`all`) and each kind of its processes have used since the
    readings `since`. A process that exited in between is missing from its kind's share (a
    PostgreSQL backend whose connection was closed, say), never from `all`."""
    used, processes = since
    spent["all"] = spent.get("all", 0.0) + kassa_busy_seconds() - used
    for pid, (kind, seconds) in kassa_processes_cpu().items():
        before = processes.get(pid, (kind, 0.0))[1]
        spent[kind] = spent.get(kind, 0.0) + seconds - before


def _drop_queued_tasks() -> None:
    """The analytics refreshes the run queued are for a store that is gone now."""
    drop_queued_tasks()


def _ms(latencies: list[float], fraction: float) -> str:
    if not latencies:
        return "-"
    ordered = sorted(latencies)
    value = ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
    return f"{value * 1000:.1f} ms"


if __name__ == "__main__":
    main()
