"""Moving a live store between Citus workers loses nothing: a check under a checkout load.

    DATABASE_URL=<a Citus coordinator's database> python bench/citus_move.py \
        [--moves 10] [--tills 4] [--mode block_writes|force_logical]

One store with products in stock and an open shift; `--tills` threads check out through gunicorn
(one to three lines each, an Idempotency-Key each) while its schema is moved back and forth
between two workers `--moves` times: with `block_writes` (the default) by `ops.citus.store_move`,
as `manage.py move_store` does; with `force_logical`, the non-blocking mode, for comparison.
Afterwards every sale answered 201 must be there with the number it was answered with, the
numbers must run 1..N without a gap or a repeat, and each product's stock must equal the sum of
its movements. Prints the moves' durations, the longest checkout (the writes' pause) and what
was found; exits 1 when anything was lost. Removes its store after.
"""

import argparse
import json
import random
import sys
import threading
import time
from decimal import Decimal

from _setup import drop_queued_tasks, setup_django

setup_django()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from load import Till  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from catalog.models import Product  # noqa: E402
from catalog.services import product_create, stock_adjust  # noqa: E402
from onboarding.services import store_signup  # noqa: E402
from ops import citus  # noqa: E402
from ops.serving import database_url, gunicorn  # noqa: E402
from sales.models import Sale  # noqa: E402
from sales.services import shift_open  # noqa: E402
from stores.models import User  # noqa: E402

PRODUCTS = 20


def setup_store(owner: User) -> dict:
    store = store_signup(user=owner, name="Citus Move Check", currency="EUR", timezone="UTC").store
    with tenant_context(store):
        products = []
        for index in range(PRODUCTS):
            product = product_create(name=f"Item {index}", price=Decimal("1.50"))
            stock_adjust(product=product, delta=Decimal(100000), reason="restock", user=owner)
            products.append(product.pk)
        shift_open(register_id=1, opening_cash=Decimal("0"), user=owner)
    return {
        "store": store,
        "key": store.tenant_key,
        "access": str(RefreshToken.for_user(owner).access_token),
        "products": products,
    }


def move(store: object, to: citus.Node, mode: str) -> None:
    if mode == citus.SAFE_TRANSFER_MODE:
        citus.store_move(store, to=to)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT citus_schema_move(%s, %s, %s, shard_transfer_mode => %s)",
            [store.schema_name, to.host, to.port, mode],
        )


class Load:
    """Tills checking out through gunicorn until stopped: what each was answered."""

    def __init__(self, port: int, entry: dict, tills: int) -> None:
        self.port, self.entry = port, entry
        self.answered: dict[int, int] = {}  # sale id -> the number it was answered with
        self.statuses: dict[int, int] = {}
        self.longest = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._till, args=(n,)) for n in range(tills)]

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _till(self, number: int) -> None:
        client = Till(self.port, self.entry, random.Random(number))
        while not self._stop.is_set():
            lines = [
                {"product": pk, "quantity": "1"}
                for pk in client.rng.sample(self.entry["products"], client.rng.randint(1, 3))
            ]
            body = {"register": 1, "lines": lines, "payments": [{"method": "cash", "amount": "10"}]}
            started = time.perf_counter()
            try:
                status, data = client.call("POST", "/api/sales/", body, key=True)
            except OSError:
                status, data = 599, b""
                client.conn.close()
            elapsed = time.perf_counter() - started
            with self._lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                self.longest = max(self.longest, elapsed)
                if status == 201:
                    sale = json.loads(data)
                    self.answered[sale["id"]] = sale["number"]
        client.conn.close()


def what_was_kept(store: object) -> tuple[dict[int, int], list[int]]:
    """The store's sales (id -> number) and the products whose stock is not their movements'."""
    with tenant_context(store):
        kept = dict(Sale.objects.values_list("pk", "number"))
        drifted = [
            product.pk
            for product in Product.objects.annotate(moved=Sum("movements__delta"))
            if product.moved != product.stock
        ]
    return kept, drifted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--moves", type=int, default=10)
    parser.add_argument("--tills", type=int, default=4)
    parser.add_argument("--mode", default=citus.SAFE_TRANSFER_MODE)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds between moves")
    args = parser.parse_args()

    if not citus.is_citus() or len(citus.workers()) < 2:
        raise SystemExit("DATABASE_URL must name a Citus coordinator's database with 2+ workers.")
    owner, _ = User.objects.get_or_create(email="bench-citus-move@bench.kassa.local")
    entry = setup_store(owner)
    store = entry["store"]
    durations: list[float] = []
    try:
        with (
            gunicorn({"DATABASE_URL": database_url(settings.DATABASES["default"])}) as port,
            Load(port, entry, args.tills) as load,
        ):
            nodes = citus.workers()[:2]
            for _ in range(args.moves):
                time.sleep(args.settle)
                here = citus.placement(store)
                started = time.perf_counter()
                move(store, nodes[1] if here == nodes[0] else nodes[0], args.mode)
                durations.append(time.perf_counter() - started)
            time.sleep(args.settle)
        kept, drifted = what_was_kept(store)
    finally:
        store.delete(force_drop=True)
        owner.delete()
        drop_queued_tasks()

    lost = [pk for pk in load.answered if pk not in kept]
    renumbered = [pk for pk, number in load.answered.items() if pk in kept and kept[pk] != number]
    numbers = sorted(kept.values())
    gap_free = numbers == list(range(1, len(numbers) + 1))
    print(
        f"{args.moves} moves ({args.mode}), {args.tills} tills: move {min(durations):.2f}–"
        f"{max(durations):.2f} s, longest checkout {load.longest:.2f} s"
    )
    print(
        f"  answered 201: {len(load.answered)}; kept: {len(kept)}; lost: {len(lost)}; "
        f"renumbered: {len(renumbered)}; numbers 1..N gap-free: {gap_free}; stock = movements: "
        f"{not drifted}; answers {dict(sorted(load.statuses.items()))}"
    )
    if lost or renumbered or not gap_free or drifted:
        sys.exit(1)


if __name__ == "__main__":
    main()
