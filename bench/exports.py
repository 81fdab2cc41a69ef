"""Exports at size: sale lines as CSV and XLSX, time and the writing process's peak memory.

    python bench/exports.py [--lines 1000000]

One store with one sale rung up through the services, copied in SQL into `--lines` sale lines
(ten per sale). Each export runs in a fresh child process, first over a tenth of the lines
(by day), then over all of them: the peak memory (the child's max RSS) should be the same for
both, whatever the size (the issue's "memory flat"). The store is removed at the end.
"""

import argparse
import multiprocessing
import resource
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _setup import remove, setup_django

setup_django()

from django.db import connection  # noqa: E402
from django.utils.timezone import now  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from analytics.exports import export_write  # noqa: E402
from catalog.services import product_create, stock_adjust  # noqa: E402
from onboarding.services import store_signup  # noqa: E402
from sales.models import Sale, SaleLine  # noqa: E402
from sales.services import LineInput, PaymentInput, sale_checkout, shift_open  # noqa: E402
from stores.models import User  # noqa: E402

LINES_PER_SALE = 10


def fill(owner: User, lines: int) -> None:
    """One real sale, then copies of it and its line: `lines` lines, the first tenth today."""
    product = product_create(name="Tea", sku="TEA", price=Decimal("2.50"), tax_rate=Decimal(10))
    stock_adjust(product=product, delta=Decimal(10), reason="restock", user=owner)
    shift_open(register_id=1, opening_cash=Decimal(0), user=owner)
    sale_checkout(
        user=owner,
        role="owner",
        register_id=1,
        lines=[LineInput(product_id=product.pk, quantity=Decimal(1))],
        payments=[PaymentInput(method="card", amount=Decimal("2.50"))],
    )
    sales = lines // LINES_PER_SALE
    sale_table, line_table = Sale._meta.db_table, SaleLine._meta.db_table
    sale_columns = [
        f.column
        for f in Sale._meta.concrete_fields
        if f.column not in ("id", "number", "created_at")
    ]
    line_columns = [
        f.column for f in SaleLine._meta.concrete_fields if f.column not in ("id", "sale_id")
    ]
    recent = now() - timedelta(hours=1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {sale_table} ({', '.join(sale_columns)}, number, created_at) "  # noqa: S608
            f"SELECT {', '.join(sale_columns)}, n, CASE WHEN n <= %s THEN %s ELSE %s END "
            f"FROM {sale_table}, generate_series(2, %s) AS n WHERE id = 1",
            [sales // 10, recent, recent - timedelta(days=3), sales],
        )
        cursor.execute(
            f"INSERT INTO {line_table} ({', '.join(line_columns)}, sale_id) "  # noqa: S608
            f"SELECT {', '.join('l.' + c for c in line_columns)}, s.id "
            f"FROM {line_table} AS l, {sale_table} AS s, generate_series(1, %s) "
            "WHERE l.id = 1 AND s.id > 1",
            [LINES_PER_SALE],
        )


def _child(store_pk: int, kind: str, fmt: str, recent_only: bool, out: dict) -> None:
    from stores.models import Store  # noqa: PLC0415 - in the child, after the fork

    connection.close()
    store = Store.objects.get(pk=store_pk)
    with tenant_context(store), tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        today = now().date()
        result = export_write(
            kind=kind,
            first=today - timedelta(days=1) if recent_only else None,
            last=today if recent_only else None,
            format=fmt,
            path=Path(folder) / f"export.{fmt}",
        )
        out["seconds"] = time.perf_counter() - started
        out["rows"] = result["rows"]
        out["bytes"] = result["bytes"]
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measured(store_pk: int, fmt: str, *, recent_only: bool) -> dict:
    with multiprocessing.Manager() as manager:
        out = manager.dict()
        child = multiprocessing.get_context("fork").Process(
            target=_child, args=(store_pk, "sale_lines", fmt, recent_only, out)
        )
        connection.close()
        child.start()
        child.join()
        return dict(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args()

    owner, _ = User.objects.get_or_create(email="bench-exports@bench.kassa.local")
    store = store_signup(user=owner, name="Export Bench", currency="EUR", timezone="UTC").store
    try:
        started = time.perf_counter()
        with tenant_context(store):
            fill(owner, args.lines)
        print(f"{args.lines} sale lines made in {time.perf_counter() - started:.0f} s", flush=True)
        for fmt in args.formats.split(","):
            for recent_only in (True, False):
                figures = measured(store.pk, fmt, recent_only=recent_only)
                print(
                    f"sale lines as {fmt:<4}: {figures['rows']:>8} rows in "
                    f"{figures['seconds']:6.1f} s ({figures['rows'] / figures['seconds']:,.0f} "
                    f"rows/s), {figures['bytes'] / 2**20:6.1f} MiB written, peak memory "
                    f"{figures['peak_mib']:.0f} MiB",
                    flush=True,
                )
    finally:
        connection.close()
        remove(store, owner)


if __name__ == "__main__":
    main()
