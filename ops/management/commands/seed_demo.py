"""`manage.py seed_demo`: demo stores with weeks of plausible history, for local runs."""

import argparse
import random
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, OutputWrapper

from ops.demo import SeededStore, demo_stores_seed
from ops.demo.data import DEMO_EMAIL, DEMO_PASSWORD
from stores.models import Membership

BAR_WIDTH = 30


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


class ProgressBar:
    """`[#####.....]  50% label`, redrawn in place on a terminal.

    Elsewhere (a pipe, a log, a test) each tenth is a line of its own, so the output stays short.
    """

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out
        self.is_terminal = out.isatty()
        self.shown: tuple[int, str] | None = None

    def update(self, done: int, total: int, label: str) -> None:
        percent = 100 * done // max(total, 1)
        if self.is_terminal:
            if (percent, label) == self.shown:
                return
        elif self.shown is not None and percent // 10 == self.shown[0] // 10:
            return
        self.shown = (percent, label)
        filled = BAR_WIDTH * percent // 100
        bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {percent:3d}%"
        if self.is_terminal:
            # Padded, so a shorter label fully covers the longer one it replaces.
            self.out.write(f"\r{bar} {label:<40}", ending="")
        else:
            self.out.write(f"{bar} {label}")
        self.out.flush()

    def finish(self) -> None:
        if self.is_terminal and self.shown is not None:
            self.out.write("")  # the bar's line ends; what follows starts on a new one


class Command(BaseCommand):
    help = (
        "Create demo stores full of history (products, stock, customers, shifts, sales, "
        "refunds, analytics) through the real services; stores that exist are left as they are."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stores", type=_at_least(1), required=True, help="How many stores.")
        parser.add_argument(
            "--products", type=_at_least(1), required=True, help="Products per store."
        )
        parser.add_argument("--sales", type=_at_least(0), required=True, help="Sales per store.")
        parser.add_argument(
            "--days", type=_at_least(1), default=30, help="Days the sales are spread over."
        )
        parser.add_argument("--seed", type=int, help="Make the same data as an earlier run.")

    def handle(self, *args: object, **options: Any) -> None:
        seed = options["seed"]
        if seed is None:
            seed = random.SystemRandom().randrange(1_000_000)
        bar = ProgressBar(self.stdout)
        seeded = demo_stores_seed(
            stores=options["stores"],
            products=options["products"],
            sales=options["sales"],
            days=options["days"],
            seed=seed,
            progress=bar.update,
        )
        bar.finish()
        for result in seeded:
            self.stdout.write(self._outcome(result))
        self.stdout.write(
            f'  sign in:      POST /api/auth/token/ {{"email": "{DEMO_EMAIL}", '
            f'"password": "{DEMO_PASSWORD}"}}'
        )
        for result in seeded:
            self.stdout.write(f"  X-Tenant-Key: {result.store.tenant_key}  ({result.store.name})")
        staff = (
            Membership.objects.filter(store__in=[result.store for result in seeded], is_active=True)
            .exclude(role=Membership.Role.OWNER)
            .order_by("store_id", "pk")
            .values_list("user__email", flat=True)
        )
        if staff:
            self.stdout.write(f"  staff:        {', '.join(staff)} (the same password)")
        self.stdout.write("  API docs:     http://127.0.0.1:8000/api/docs/")
        if any(result.is_new for result in seeded):
            self.stdout.write(f"Seed {seed}: pass --seed {seed} to make the same stores again.")

    def _outcome(self, result: SeededStore) -> str:
        store = result.store
        if not result.is_new:
            return f"The demo store {store.name!r} exists already; its data is left as it is."
        return self.style.SUCCESS(
            f"Created the demo store {store.name!r} ({store.currency}, {store.timezone}): "
            f"{result.products} products, {result.customers} customers, {result.sales} sales, "
            f"{result.refunds} refund(s), {result.restocks} deliveries."
        )
