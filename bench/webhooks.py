"""Webhooks under the POS load: checkout throughput with two subscriptions beside none, the
delivery latency from commit to receiver, and the worker's CPU a delivery.

    python bench/webhooks.py [--seconds 10] [--clients 8] [--rounds 4]

gunicorn on loopback (2 workers × 4 threads), a real Celery worker (4 threads, at a lower CPU
priority: `--worker-nice`) on Redis, the shared cache on Redis, and a receiver on loopback in a
process of its own (a lean HTTP server answering 204). Each round drives `--clients` keep-alive
clients ringing up checkouts of 1–3 lines for `--seconds` with no subscription and with two
subscriptions to `sale.completed` (each sale is delivered twice), in alternating order. The
floor: checkouts with two subscriptions at least 0.9 × those without. Latency is the
receiver's clock at arrival less the event's `timestamp` (written just before its transaction
commits): p50 and p99 under the load. `--no-worker` leaves the deliveries queued, to measure
the request path's own cost. Runs against DATABASE_URL (or the embedded PostgreSQL); removes
its store after.
"""

import argparse
import asyncio
import http.client
import json
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from _setup import cpu_seconds, drop_queued_tasks, kassa_cpu_seconds, setup_django

CACHE = "redis://127.0.0.1:6379/12"
# This process, gunicorn and the worker share the cache (the nudge marks, the "has webhooks"
# flag) and post to the receiver on loopback.
os.environ.update({"CACHE_URL": CACHE, "WEBHOOK_ALLOW_PRIVATE": "1", "WEBHOOK_REQUIRE_HTTPS": "0"})
setup_django()

from checkout import drive  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db.models import Max  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from catalog.services import product_create, stock_adjust  # noqa: E402
from core.models import Event  # noqa: E402
from jobs.models import Webhook, WebhookDelivery  # noqa: E402
from jobs.webhooks.services import webhook_create, webhook_delete  # noqa: E402
from onboarding.services import store_signup  # noqa: E402
from ops.serving import database_url, free_port, gunicorn  # noqa: E402
from sales.services import shift_open  # noqa: E402
from stores.models import User  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = 200
FLOOR = 0.9


async def _arrivals(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log) -> None:
    """One kept-alive connection of the receiver: each request answered 204, and its event's
    latency (seconds) appended to `log`."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = time.time()
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = json.loads(await reader.readexactly(length))
            log.write(f"{arrived - datetime.fromisoformat(body['timestamp']).timestamp()}\n")
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def receive(port: int, log: str) -> None:
    """The receiver's process, apart from the clients: a lean asyncio HTTP/1.1 server keeping
    connections alive, as receivers in production do. It stands for a service on another
    machine, so it takes as little as it can of this one (about a tenth of a millisecond a
    request, a third of what `http.server` takes)."""
    with open(log, "a", buffering=1) as arrivals:

        async def serve() -> None:
            server = await asyncio.start_server(
                lambda reader, writer: _arrivals(reader, writer, arrivals), "127.0.0.1", port
            )
            await server.serve_forever()

        asyncio.run(serve())


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


@dataclass
class Figures:
    rates: dict[str, list[float]] = field(default_factory=lambda: {"none": [], "two": []})
    # Kassa's CPU (kassa_cpu_seconds) and the checkouts made, over each kind of round.
    cpu: dict[str, dict[str, float]] = field(default_factory=lambda: {"none": {}, "two": {}})
    checkouts: dict[str, int] = field(default_factory=lambda: {"none": 0, "two": 0})
    delivered: int = 0
    undelivered: int = 0
    worker_seconds: float = 0.0  # the worker's CPU over the rounds with subscriptions


def rounds(
    store, owner, url: str, port: int, *, headers: dict, checkout, worker, receiver, args
) -> Figures:
    """Checkouts per second without and with two subscriptions, `args.rounds` times each, in
    alternating order (none, two; two, none; …) so that a drift of the machine's speed weighs
    on both alike. A round with subscriptions ends once its deliveries have arrived."""
    figures = Figures()
    drive(port, headers, checkout, 1.0, args.clients)  # warm every worker
    for number in range(args.rounds):
        for label in ("none", "two") if number % 2 == 0 else ("two", "none"):
            with tenant_context(store):
                for webhook in Webhook.objects.all():
                    webhook_delete(webhook=webhook)
                if label == "two":
                    after = Event.objects.aggregate(last=Max("id"))["last"] or 0
                    for _ in range(2):
                        webhook_create(url=url, events=["sale.completed"], user=owner)
            time.sleep(1.0)  # the worker quiet, the "has webhooks" flag as it is now
            started = None if args.no_worker else cpu_seconds(worker.pid)
            used = kassa_cpu_seconds(receiver.pid)
            ok, errors, _ = drive(port, headers, checkout, args.seconds, args.clients)
            assert errors == 0, errors
            figures.rates[label].append(ok / args.seconds)
            if label == "two" and not args.no_worker:
                delivered, undelivered = settled(store, after)
                figures.delivered += delivered
                figures.undelivered += undelivered
                figures.worker_seconds += cpu_seconds(worker.pid) - started
            time.sleep(1.0)  # what the round left to do (analytics refreshes) is counted in it
            for kind, seconds in kassa_cpu_seconds(receiver.pid).items():
                spent = figures.cpu[label]
                spent[kind] = spent.get(kind, 0.0) + seconds - used.get(kind, 0.0)
            figures.checkouts[label] += ok
    return figures


def settled(store, after: int) -> tuple[int, int]:
    """Wait (two minutes at most) for the deliveries of the sales after event `after`, two
    each: (arrived, not arrived)."""
    deadline = time.monotonic() + 120
    with tenant_context(store):
        expected = 2 * Event.objects.filter(id__gt=after, type="sale.completed").count()
        arrived = WebhookDelivery.objects.filter(status="succeeded")
        while time.monotonic() < deadline and arrived.count() < expected:
            time.sleep(0.2)
        delivered = arrived.count()
    return delivered, expected - delivered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4)
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
            figures = rounds(
                store,
                owner,
                url,
                port,
                headers=headers,
                checkout=checkout_request(product_ids),
                worker=worker,
                receiver=receiver,
                args=args,
            )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        receiver.terminate()
        store.delete(force_drop=True)
        owner.delete()
        drop_queued_tasks()

    rates = figures.rates
    none = sum(rates["none"]) / args.rounds
    ratio = sum(rates["two"]) / args.rounds / none if none else 0.0
    print(f"gunicorn 2 workers x 4 threads, {args.clients} clients, {args.seconds:.0f} s each:")
    for label, values in rates.items():
        print(f"  checkouts, {label} subscriptions: " + ", ".join(f"{v:.1f}/s" for v in values))
    print(
        f"  with two / with none = {ratio:.2f} (floor: {FLOOR}) "
        f"{'OK' if ratio >= FLOOR else 'BELOW FLOOR'}"
    )
    per_checkout = {
        label: {kind: seconds / figures.checkouts[label] * 1000 for kind, seconds in cpu.items()}
        for label, cpu in figures.cpu.items()
    }
    none, two = per_checkout["none"], per_checkout["two"]
    print(
        f"  Kassa's CPU a checkout (all its processes, deliveries included): none "
        f"{none['all']:.1f} ms, two {two['all']:.1f} ms; none / two = "
        f"{none['all'] / two['all']:.2f}, the ratio the rates would have on a machine of its own"
    )
    print(
        "    of which "
        + ", ".join(
            f"{kind} {none.get(kind, 0):.2f} / {two.get(kind, 0):.2f} ms"
            for kind in ("gunicorn", "postgres", "celery", "redis")
        )
    )
    latencies = [float(line) for line in Path(log).read_text().split()]
    Path(log).unlink()
    if args.no_worker:
        return
    per_delivery = figures.worker_seconds / figures.delivered * 1000 if figures.delivered else 0
    print(
        f"  deliveries: {figures.delivered} arrived, {figures.undelivered} not; commit to "
        f"receiver p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms; worker CPU {per_delivery:.2f} ms "
        "a delivery (its other tasks, the analytics refreshes, included)"
    )


if __name__ == "__main__":
    main()
