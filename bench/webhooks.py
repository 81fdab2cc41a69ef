"""Webhooks under the POS load: checkout throughput with two subscriptions beside none, and the
delivery latency from commit to receiver.

    python bench/webhooks.py [--seconds 10] [--clients 8] [--rounds 2]

gunicorn on loopback (2 workers × 4 threads), a real Celery worker (4 threads, at a lower CPU
priority: `--worker-nice`) on Redis, the shared cache on Redis, and a receiver on loopback in a
process of its own (an HTTP server answering 204). Each round drives `--clients` keep-alive
clients ringing up checkouts of 1–3 lines for `--seconds` with no subscription, then with two
subscriptions to `sale.completed` (each sale is delivered twice). The floor: checkouts with two
subscriptions at least 0.9 × those without. Latency is the receiver's clock at arrival less the
event's `timestamp` (written just before its transaction commits): p50 and p99 under the load.
`--no-worker` leaves the deliveries queued, to measure the request path's own cost. Runs
against DATABASE_URL (or the embedded PostgreSQL); removes its store after.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _setup import drop_queued_tasks, setup_django

CACHE = "redis://127.0.0.1:6379/12"
# This process, gunicorn and the worker share the cache (the nudge marks, the "has webhooks"
# flag) and post to the receiver on loopback.
os.environ.update({"CACHE_URL": CACHE, "WEBHOOK_ALLOW_PRIVATE": "1", "WEBHOOK_REQUIRE_HTTPS": "0"})
setup_django()

from checkout import drive  # noqa: E402
from django.conf import settings  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from catalog.services import product_create, stock_adjust  # noqa: E402
from jobs.models import Webhook, WebhookDelivery  # noqa: E402
from jobs.webhooks.services import webhook_create, webhook_delete  # noqa: E402
from onboarding.services import store_signup  # noqa: E402
from ops.serving import database_url, free_port, gunicorn  # noqa: E402
from sales.services import shift_open  # noqa: E402
from stores.models import User  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = 200
FLOOR = 0.9


class Arrivals(BaseHTTPRequestHandler):
    """The receiver: answers 204 and appends each event's latency (seconds) to `log`. It keeps
    connections alive (HTTP/1.1), as any receiver in production does: an HTTP/1.0 one would
    make the worker connect, and itself start a thread, for every delivery."""

    protocol_version = "HTTP/1.1"
    log = None
    writing = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        arrived = time.time()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        sent = datetime.fromisoformat(body["timestamp"]).timestamp()
        with self.writing:
            self.log.write(f"{arrived - sent}\n")
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


def receive(port: int, log: str) -> None:
    """The receiver's process: apart from the clients, so it takes none of their interpreter."""
    Arrivals.log = open(log, "a", buffering=1)  # noqa: SIM115 - open for the process's life
    server = ThreadingHTTPServer(("127.0.0.1", port), Arrivals)
    server.daemon_threads = True
    server.serve_forever()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def stocked_store(owner: User):
    store = store_signup(user=owner, name="Bench Webhooks", currency="EUR", timezone="UTC").store
    with tenant_context(store):
        product_ids = []
        for number in range(PRODUCTS):
            product = product_create(
                name=f"Product {number}", price=Decimal("1.99"), tax_rate=Decimal("20")
            )
            stock_adjust(product=product, delta=Decimal(1_000_000), reason="restock", user=owner)
            product_ids.append(product.pk)
        shift_open(register_id=1, opening_cash=Decimal("100.00"), user=owner)
    return store, product_ids


def checkout_request(product_ids: list[int]):
    def checkout(conn: http.client.HTTPConnection, headers: dict) -> int:
        lines = random.sample(product_ids, random.randint(1, 3))
        body = json.dumps(
            {
                "register": 1,
                "lines": [{"product": pk, "quantity": "1"} for pk in lines],
                "payments": [{"method": "card", "amount": str(Decimal("1.99") * len(lines))}],
            }
        )
        conn.request("POST", "/api/sales/", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status

    return checkout


def rounds(store, owner, url: str, port: int, *, headers: dict, checkout, args) -> dict:
    """Checkouts per second without and with two subscriptions, `args.rounds` times each."""
    rates: dict[str, list[float]] = {"none": [], "two": []}
    drive(port, headers, checkout, 1.0, args.clients)  # warm every worker
    for _ in range(args.rounds):
        with tenant_context(store):
            for webhook in Webhook.objects.all():
                webhook_delete(webhook=webhook)
        time.sleep(1.5)  # the "has webhooks" flag is forgotten as the deletion commits
        ok, errors, _ = drive(port, headers, checkout, args.seconds, args.clients)
        rates["none"].append(ok / args.seconds)
        with tenant_context(store):
            for _ in range(2):
                webhook_create(url=url, events=["sale.completed"], user=owner)
        ok, more_errors, _ = drive(port, headers, checkout, args.seconds, args.clients)
        rates["two"].append(ok / args.seconds)
        assert errors == more_errors == 0, (errors, more_errors)
    return rates


def settled(store) -> tuple[int, int]:
    """Wait for every delivery to arrive (two minutes at most): (arrived, not arrived)."""
    deadline = time.monotonic() + 120
    with tenant_context(store):
        unsent = WebhookDelivery.objects.exclude(status="succeeded")
        while time.monotonic() < deadline and unsent.exists():
            time.sleep(0.5)
        return WebhookDelivery.objects.filter(status="succeeded").count(), unsent.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker-nice", type=int, default=10)
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="No worker: the request path's own cost (the deliveries wait and are not counted).",
    )
    args = parser.parse_args()

    with tempfile.NamedTemporaryFile(prefix="kassa-webhooks-", suffix=".log", delete=False) as f:
        log = f.name
    port = free_port()
    receiver = multiprocessing.get_context("fork").Process(target=receive, args=(port, log))
    receiver.start()
    url = f"http://127.0.0.1:{port}/hooks"
    owner, _ = User.objects.get_or_create(email="bench-webhooks@bench.kassa.local")
    store, product_ids = stocked_store(owner)
    environment = {
        "DATABASE_URL": database_url(settings.DATABASES["default"]),
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "CACHE_URL": CACHE,
        "WEBHOOK_ALLOW_PRIVATE": "1",
        "WEBHOOK_REQUIRE_HTTPS": "0",
    }
    # The worker at a lower CPU priority, as background work beside the web processes on one
    # machine: deliveries use what the checkouts leave (on 2 cores they share everything).
    command = [
        *("nice", "-n", str(args.worker_nice)),
        *(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=threads"),
        *("--concurrency=4", "--without-gossip", "--without-mingle", "--loglevel=WARNING"),
    ]
    worker = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
        ["true"] if args.no_worker else command,
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **environment},
    )
    headers = {
        "Authorization": f"Bearer {RefreshToken.for_user(owner).access_token}",
        "X-Tenant-Key": store.tenant_key,
        "Content-Type": "application/json",
    }
    try:
        with gunicorn(environment) as port:
            rates = rounds(
                store,
                owner,
                url,
                port,
                headers=headers,
                checkout=checkout_request(product_ids),
                args=args,
            )
            delivered, pending = (0, 0) if args.no_worker else settled(store)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        receiver.terminate()
        store.delete(force_drop=True)
        owner.delete()
        drop_queued_tasks()

    none = sum(rates["none"]) / args.rounds
    ratio = sum(rates["two"]) / args.rounds / none if none else 0.0
    print(f"gunicorn 2 workers x 4 threads, {args.clients} clients, {args.seconds:.0f} s each:")
    for label, values in rates.items():
        print(f"  checkouts, {label} subscriptions: " + ", ".join(f"{v:.1f}/s" for v in values))
    print(
        f"  with two / with none = {ratio:.2f} (floor: {FLOOR}) "
        f"{'OK' if ratio >= FLOOR else 'BELOW FLOOR'}"
    )
    latencies = [float(line) for line in Path(log).read_text().split()]
    Path(log).unlink()
    print(
        f"  deliveries: {delivered} arrived, {pending} not; commit to receiver "
        f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
