"""Demo stores for local runs: seeded through the real services, their history backdated.

`data` holds what they are made of, `setup` makes their catalog and customers, and
`history` plays one store's weeks of trading.
"""

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.core.cache import caches
from django.db import transaction

from analytics.tasks import refresh_mark
from onboarding.services import store_signup
from ops.demo.data import (
    DEMO_EMAIL,
    DEMO_PASSWORD,
    PROFILES,
    demo_store_name,
    ean13_check_digit,
)
from ops.demo.history import Progress, SeededStore, StoreHistory
from stores.clock import local_today
from stores.models import Membership, Store, User
from stores.services import store_update

__all__ = [
    "SeededStore",
    "demo_store_name",
    "demo_store_seed",
    "demo_stores_seed",
    "ean13_check_digit",
]

CASHIER_MAX_DISCOUNT_PERCENT = Decimal("25")
# Long enough to outlast any seeding; deleted as soon as the store's transaction has ended.
HOLD_SECONDS = 3600


def demo_stores_seed(
    *,
    stores: int,
    products: int,
    sales: int,
    days: int = 30,
    seed: int,
    progress: Callable[[int, int, str], None] = lambda done, total, label: None,
) -> list[SeededStore]:
    """Demo stores 1..`stores`: each made and seeded in one transaction, or reused as it is.

    `progress(done, total, label)` counts products, sales and rebuilds over all the stores.
    """
    per_store = products + sales + 1
    results = []
    for index in range(1, stores + 1):
        done_before = (index - 1) * per_store

        def store_progress(done: int, label: str, done_before: int = done_before) -> None:
            progress(done_before + done, stores * per_store, label)

        results.append(
            demo_store_seed(
                index=index,
                products=products,
                sales=sales,
                days=days,
                seed=seed,
                progress=store_progress,
            )
        )
    return results


def demo_store_seed(
    *, index: int, products: int, sales: int, days: int, seed: int, progress: Progress
) -> SeededStore:
    """Demo store number `index`, owned by the demo owner; one found by its name is kept as is."""
    name = demo_store_name(index)
    owner = User.objects.filter(email=DEMO_EMAIL).first()
    existing = (
        Store.objects.filter(
            name=name, memberships__user=owner, memberships__role=Membership.Role.OWNER
        )
        .order_by("pk")
        .first()
        if owner is not None
        else None
    )
    if existing is not None:
        progress(products + sales + 1, f"{name} exists")
        return SeededStore(store=existing, is_new=False)

    # A string seed is hashed the same in every process: the same store from the same --seed.
    rng = random.Random(f"kassa-demo:{seed}:{index}")  # noqa: S311 - demo data, not secrets
    profile = PROFILES[(index - 1) % len(PROFILES)]
    held: list[str] = []
    try:
        # All or nothing: a failure leaves no half-seeded store for the next run to "reuse".
        with transaction.atomic():
            signup = store_signup(
                user=owner,
                name=name,
                currency=profile.currency,
                timezone=profile.timezone,
                prices_include_tax=profile.prices_include_tax,
                owner_email=DEMO_EMAIL,
                owner_password=DEMO_PASSWORD,
                owner_full_name="Demo Owner",
            )
            # Its cashier gives loyalty and best-before discounts of up to 20 % (history.py).
            store = store_update(
                store=signup.store, cashier_max_discount_percent=CASHIER_MAX_DISCOUNT_PERCENT
            )
            held = _hold_analytics_refreshes(store)
            history = StoreHistory(
                store=store, profile=profile, rng=rng, index=index, progress=progress
            )
            return history.seed(products=products, sales=sales, days=days)
    finally:
        caches["shared"].delete_many(held)


def _hold_analytics_refreshes(store: Store) -> list[str]:
    """Mark today's analytics refresh as queued, so the sales' own refreshes are skipped.

    Each checkout queues a refresh of the day it ran (today) when the transaction commits; with
    no broker those run in-process, one per sale. The seeding rebuilds every day once at the
    end instead. Tomorrow too, in case the seeding runs past midnight.
    """
    today = local_today(store)
    marks = [refresh_mark(store.schema_name, day) for day in (today, today + timedelta(days=1))]
    caches["shared"].set_many(dict.fromkeys(marks, 1), timeout=HOLD_SECONDS)
    return marks
