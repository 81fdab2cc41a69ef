"""The X report of a busy shift: its figures while open, at any size, changing nothing.

    python bench/shift_report.py [--sales 10000] [--reports 50]

One store, one open shift with `--sales` sales (cash, card and split payments, one in fifty
refunded in cash) and some pay-ins and pay-outs, made through the services; then
`GET /api/sales/shifts/{id}/report/` `--reports` times: its p50 in the server (floor: under
50 ms) and its statements. The store is removed at the end.
"""

import argparse
import statistics
import time
from decimal import Decimal

from _setup import counted, remove, setup_django

setup_django()

from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402

from catalog.services import product_create, stock_adjust  # noqa: E402
from onboarding.services import store_signup  # noqa: E402
from sales.services import (  # noqa: E402
    LineInput,
    PaymentInput,
    RefundLineInput,
    cash_movement_create,
    sale_checkout,
    sale_refund,
    shift_open,
)
from stores.models import User  # noqa: E402

FLOOR_MS = 50.0
PAYMENTS = (
    [PaymentInput(method="cash", amount=Decimal("20.00"))],
    [PaymentInput(method="card", amount=Decimal("3.75"))],
    [
        PaymentInput(method="card", amount=Decimal("2.00")),
        PaymentInput(method="cash", amount=Decimal("5.00")),
    ],
)


def busy_shift(owner: User, sales: int) -> None:
    products = []
    for number in range(20):
        product = product_create(name=f"Item {number}", price=Decimal("1.25"))
        stock_adjust(product=product, delta=Decimal(10**7), reason="restock", user=owner)
        products.append(product.pk)
    shift = shift_open(register_id=1, opening_cash=Decimal("100.00"), user=owner)
    started = time.perf_counter()
    for number in range(sales):
        sale = sale_checkout(
            user=owner,
            role="owner",
            register_id=1,
            lines=[
                LineInput(product_id=products[(number + offset) % 20], quantity=Decimal(1))
                for offset in range(3)
            ],
            payments=PAYMENTS[number % 3],
        )
        if number % 50 == 0:
            line = sale._prefetched_objects_cache["lines"][0]
            sale_refund(
                sale=sale,
                lines=[RefundLineInput(line_id=line.pk, quantity=Decimal(1))],
                method="cash",
                restock=True,
                reason="",
                user=owner,
            )
        if number % 500 == 0:
            cash_movement_create(
                shift=shift, kind="pay_in", amount=Decimal("10.00"), reason="Float", user=owner
            )
            cash_movement_create(
                shift=shift, kind="pay_out", amount=Decimal("2.50"), reason="Milk", user=owner
            )
        if (number + 1) % 2000 == 0:
            print(f"  {number + 1} sales ({time.perf_counter() - started:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=int, default=10000)
    parser.add_argument("--reports", type=int, default=50)
    args = parser.parse_args()

    owner, _ = User.objects.get_or_create(email="bench-report@bench.kassa.local")
    store = store_signup(user=owner, name="Report Bench", currency="EUR", timezone="UTC").store
    try:
        print(f"Ringing up {args.sales} sales ...", flush=True)
        with tenant_context(store):
            busy_shift(owner, args.sales)
        connection.set_schema_to_public()
        api = APIClient()
        api.credentials(
            HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}",
            HTTP_X_TENANT_KEY=store.tenant_key,
        )
        report = api.get("/api/sales/shifts/1/report/").json()
        with counted() as queries:
            api.get("/api/sales/shifts/1/report/")
        timings = []
        for _ in range(args.reports):
            started = time.perf_counter()
            api.get("/api/sales/shifts/1/report/")
            timings.append(time.perf_counter() - started)
        p50 = statistics.median(timings) * 1000
        print(
            f"X report of a shift with {report['sales_count']} sales: p50 {p50:.1f} ms "
            f"(floor: under {FLOOR_MS:.0f} ms) {'OK' if p50 < FLOOR_MS else 'ABOVE'}; "
            f"{len(queries)} statements; expected cash {report['expected_cash']}"
        )
    finally:
        remove(store, owner)


if __name__ == "__main__":
    main()
