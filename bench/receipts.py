"""Receipt rendering: a sale's receipt as text, HTML and PDF, through the API.

    python bench/receipts.py [--renders 30]

One store (RUB, Russian locale) and three sales: 3 lines of Cyrillic and Latin names, 3 and
30 lines with CJK names too (their PDF loads the CJK fallback font, megabytes of it). Each
receipt is fetched `--renders` times per format: p50 in the server and the statements of one
fetch. The issue names no floor for rendering; the figures go to docs/performance.md. The
store is removed at the end.
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
from sales.services import LineInput, PaymentInput, sale_checkout, shift_open  # noqa: E402
from stores.models import Store, User  # noqa: E402

NAMES = (
    "Молоко ультрапастеризованное 3,2 % «Домик в деревне» 1 л",
    "抹茶ラテ(大)季節限定の特別なブレンド",
    "Tea",
)


def ring_up(owner: User, lines: int, names: tuple[str, ...]) -> int:
    products = []
    for number in range(lines):
        product = product_create(
            name=f"{names[number % len(names)]} #{number}",
            price=Decimal("89.90"),
            tax_rate=Decimal(10),
        )
        stock_adjust(product=product, delta=Decimal(100), reason="restock", user=owner)
        products.append(product.pk)
    sale = sale_checkout(
        user=owner,
        role="owner",
        register_id=1,
        lines=[LineInput(product_id=pk, quantity=Decimal(2)) for pk in products],
        payments=[PaymentInput(method="cash", amount=Decimal(90 * 2 * lines))],
    )
    return sale.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renders", type=int, default=30)
    args = parser.parse_args()

    owner, _ = User.objects.get_or_create(email="bench-receipts@bench.kassa.local")
    store = store_signup(user=owner, name="Receipt Bench", currency="RUB", timezone="UTC").store
    Store.objects.filter(pk=store.pk).update(locale="ru", receipt_footer="Спасибо!")
    try:
        with tenant_context(store):
            shift_open(register_id=1, opening_cash=Decimal(0), user=owner)
            sales = {
                "3 lines": ring_up(owner, 3, (NAMES[0], NAMES[2])),
                "3 lines, CJK": ring_up(owner, 3, NAMES),
                "30 lines, CJK": ring_up(owner, 30, NAMES),
            }
        connection.set_schema_to_public()
        api = APIClient()
        api.credentials(
            HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(owner).access_token}",
            HTTP_X_TENANT_KEY=store.tenant_key,
        )
        for lines, sale in sales.items():
            for format in ("text", "html", "pdf"):
                url = f"/api/sales/{sale}/receipt/?format={format}&width=42"
                answer = api.get(url)
                assert answer.status_code == 200, answer.content
                with counted() as queries:
                    api.get(url)
                timings = []
                for _ in range(args.renders):
                    started = time.perf_counter()
                    api.get(url)
                    timings.append(time.perf_counter() - started)
                p50 = statistics.median(timings) * 1000
                print(
                    f"receipt of {lines:<13} as {format:<4}: p50 {p50:6.1f} ms, "
                    f"{len(answer.content):>6} bytes, {len(queries)} statements"
                )
    finally:
        remove(store, owner)


if __name__ == "__main__":
    main()
