"""Operations at scale: onboarding beside the raw DDL of one schema, and no-op migrate_schemas.

    python bench/operations.py [--stores 1000] [--migrate-at 200] [--signups 10]

In one run, on DATABASE_URL (or the embedded PostgreSQL):
1. with one store: the raw DDL of one store schema (the template's script run into a new
   schema), and onboarding through the API (authenticated owner, so no password hashing),
   p50 of `--signups` each;
2. with `--migrate-at` stores: `migrate_schemas` with nothing to do, per store (floor 20 ms);
3. with `--stores` stores: the same as 1 again (floor: onboarding at most 1.5 × the raw DDL,
   and the same at many stores as at one).
The stores it made are removed at the end.
"""

import argparse
import io
import secrets
import statistics
import time

from _setup import setup_django

setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from stores import provisioning  # noqa: E402
from stores.models import Membership, SpareSchema, Store, User  # noqa: E402

PREFIX = "tenant_bench_ops_"
DDL_FLOOR = 1.5
MIGRATE_FLOOR_MS = 20.0


def raw_ddl_seconds(count: int) -> list[float]:
    timings = []
    for _ in range(count):
        name = f"{PREFIX}ddl_{secrets.token_hex(4)}"
        started = time.perf_counter()
        provisioning.schema_from_template(name)
        timings.append(time.perf_counter() - started)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{name}" CASCADE')
    return timings


def signup_seconds(client: APIClient, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        provisioning.spares_refill(target=3)  # as the task does after each signup
        started = time.perf_counter()
        response = client.post(
            "/api/stores/signup/",
            {
                "store_name": f"Bench Ops {secrets.token_hex(3)}",
                "currency": "EUR",
                "timezone": "UTC",
            },
            format="json",
        )
        timings.append(time.perf_counter() - started)
        assert response.status_code == 201, response.content
    return timings


def grow_to(count: int, owner: User) -> None:
    """Stores with schemas from the template, the way spares are made, until `count` exist."""
    have = Store.objects.count()
    for number in range(have, count):
        schema_name = f"{PREFIX}{number:05d}"
        provisioning.schema_from_template(schema_name)
        store = Store.objects.create(
            name=f"Bench Ops Store {number}",
            slug=f"bench-ops-store-{number}",
            schema_name=schema_name,
            tenant_key=f"bench_ops_{number}_{secrets.token_hex(4)}",
            currency="EUR",
            timezone="UTC",
        )
        Membership.objects.create(user=owner, store=store, role=Membership.Role.OWNER)


def noop_migrate_ms_per_store() -> float:
    call_command("migrate_schemas", tenant=True, interactive=False, stdout=io.StringIO())  # warm
    started = time.perf_counter()
    call_command("migrate_schemas", tenant=True, interactive=False, stdout=io.StringIO())
    return (time.perf_counter() - started) * 1000 / Store.objects.count()


def report(label: str, ddl: list[float], signups: list[float]) -> float:
    ddl_p50, signup_p50 = statistics.median(ddl), statistics.median(signups)
    ratio = signup_p50 / ddl_p50
    print(f"{label}:")
    print(f"  raw DDL of one store schema  p50 {ddl_p50 * 1000:7.1f} ms")
    print(
        f"  onboarding (API, owner)      p50 {signup_p50 * 1000:7.1f} ms   "
        f"= {ratio:.2f} x DDL (floor: at most {DDL_FLOOR}) "
        f"{'OK' if ratio <= DDL_FLOOR else 'ABOVE'}"
    )
    return signup_p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--migrate-at", type=int, default=200)
    parser.add_argument("--signups", type=int, default=10)
    args = parser.parse_args()

    if Store.objects.exists():
        raise SystemExit("Run this on a database without stores (it counts them).")
    provisioning.template_update()
    owner, _ = User.objects.get_or_create(email="bench-ops@bench.kassa.local")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}")
    try:
        grow_to(1, owner)
        at_one = report(
            "with 1 store", raw_ddl_seconds(args.signups), signup_seconds(client, args.signups)
        )

        grow_to(args.migrate_at, owner)
        per_store = noop_migrate_ms_per_store()
        print(
            f"no-op migrate_schemas with {Store.objects.count()} stores: "
            f"{per_store:.2f} ms per store "
            f"(floor: at most {MIGRATE_FLOOR_MS:.0f}) "
            f"{'OK' if per_store <= MIGRATE_FLOOR_MS else 'ABOVE'}"
        )

        grow_to(args.stores, owner)
        at_many = report(
            f"with {Store.objects.count()} stores",
            raw_ddl_seconds(args.signups),
            signup_seconds(client, args.signups),
        )
        print(f"onboarding at {Store.objects.count()} stores / at 1 store = {at_many / at_one:.2f}")
    finally:
        for store in Store.objects.all():
            store.delete(force_drop=True)
        for spare in SpareSchema.objects.all():
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{spare.name}" CASCADE')
            spare.delete()
        owner.delete()


if __name__ == "__main__":
    main()
