"""Analytics rebuild figures: the rebuild job beside the bare SQL GROUP BY over the same lines.

    python bench/analytics.py [--lines 100000] [--rounds 5]

Fills a fresh store with `--lines` sale lines (3 per sale, 90 days, by set-based SQL), then
times, round after round so that both meet the same machine: the bare `SELECT … GROUP BY` of
the lines by day and product (its rows fetched), and the rebuild job (analytics.rebuild through
its Celery task, run in-process) in three cases:

- figures current: the tables already hold what the sales say, as the nightly rebuild and a
  requested one find them when the day refreshes after each sale have kept up;
- tables empty: the first build of a store's figures;
- every row moved: the store's time zone changed, so every sale lands in another local hour
  (and many in another day) and nearly every row is rewritten.

Each figure is the best of the rounds. The floor named for Kassa: the job at most twice the
bare SQL. The process's peak memory is printed after a rebuild of a tenth of the lines and
after the full ones: rows stay in PostgreSQL, so it does not grow with them. Removes its store
after.
"""

import argparse
import resource
import time
from collections.abc import Callable

from _setup import setup_django

setup_django()

from django.db import connection  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402

from analytics.services import ANALYTICS_TABLES  # noqa: E402
from analytics.tasks import analytics_rebuild_job  # noqa: E402
from jobs.models import Job  # noqa: E402
from jobs.services import job_create  # noqa: E402
from onboarding.services import store_signup  # noqa: E402
from stores.models import Store, User  # noqa: E402

LINES_PER_SALE = 3
DAYS = 90
PRODUCTS = 500

FILL = [
    """
    INSERT INTO catalog_product (name, sku, price, cost, tax_rate, stock, is_active,
                                 created_at, updated_at, version)
    SELECT 'Product ' || n, 'SKU-' || n, 1 + n %% 50, 0, 20, 0, true, now(), now(), n
      FROM generate_series(1, %(products)s) AS n
    """,
    """
    INSERT INTO sales_shift (register_id, status, opened_by_id, opened_at, opening_cash)
    VALUES (1, 'closed', %(user)s, now(), 0)
    """,
    """
    INSERT INTO sales_sale (number, status, register_id, shift_id, cashier_id, subtotal,
                            discount_total, tax_total, total, paid_total, change_due,
                            refunded_total, prices_include_tax, note, cash_rounding, source,
                            offline_number, late, created_at)
    SELECT n, 'completed', 1, 1, %(user)s, 30, 0, 5, 30, 40, 10, 0, true, '', 0, 'online', '',
           false,
           now() - %(days)s * interval '1 day' + n * (%(days)s * interval '1 day') / %(sales)s
      FROM generate_series(1, %(sales)s) AS n
    """,
    """
    INSERT INTO sales_saleline (sale_id, product_id, name, sku, quantity, unit_price, discount,
                                tax_rate, tax_amount, total, refunded_quantity, refunded_amount,
                                refunded_tax)
    SELECT s.id, 1 + (s.id * 7 + k) %% %(products)s, 'Product', '', 1, 10, 0, 20, 1.67, 10,
           0, 0, 0
      FROM sales_sale AS s CROSS JOIN generate_series(1, %(per_sale)s) AS k
    """,
    """
    INSERT INTO sales_salepayment (sale_id, method, amount)
    SELECT id, CASE WHEN id %% 3 = 0 THEN 'card' ELSE 'cash' END, 40 FROM sales_sale
    """,
    "ANALYZE",
]
BARE_GROUP_BY = """
    SELECT (s.created_at AT TIME ZONE 'UTC')::date, l.product_id, sum(l.quantity), sum(l.total)
      FROM sales_saleline AS l JOIN sales_sale AS s ON s.id = l.sale_id
     GROUP BY 1, 2
"""


FLOOR = 2.0
# Ten times the lines may cost the process a few allocator pages, not their rows.
MEMORY_SLACK_MB = 5


def timed(work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def rebuild_job() -> None:
    job = job_create(kind="analytics.rebuild", params={}, requested_by=None)
    analytics_rebuild_job.apply(kwargs={"job_id": job.pk})
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(lines: int, user_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE sales_sale, sales_saleline, sales_salepayment CASCADE")
        for statement in FILL[2:]:
            cursor.execute(
                statement,
                {
                    "products": PRODUCTS,
                    "user": user_id,
                    "days": DAYS,
                    "sales": lines // LINES_PER_SALE,
                    "per_sale": LINES_PER_SALE,
                },
            )


def bare_group_by() -> None:
    with connection.cursor() as cursor:
        cursor.execute(BARE_GROUP_BY)
        cursor.fetchall()


def empty_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(ANALYTICS_TABLES)}")


def move_time_zone(store: Store) -> Callable[[], None]:
    """Flip the store between UTC and Kolkata (UTC+5:30) before each rebuild."""

    def move() -> None:
        store.timezone = "Asia/Kolkata" if store.timezone == "UTC" else "UTC"
        store.save(update_fields=["timezone"])

    return move


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    owner, _ = User.objects.get_or_create(email="bench-analytics@bench.kassa.local")
    store = store_signup(user=owner, name="Bench Analytics", currency="EUR", timezone="UTC").store
    try:
        with tenant_context(store):
            with connection.cursor() as cursor:
                for statement in FILL[:2]:
                    cursor.execute(statement, {"products": PRODUCTS, "user": owner.pk})
            fill(args.lines // 10, owner.pk)
            rebuild_job()
            memory_small = peak_memory_mb()

            fill(args.lines, owner.pk)
            cases = {
                "figures current": lambda: None,
                "tables empty": empty_tables,
                "every row moved": move_time_zone(store),
            }
            rebuild_job()  # the figures are current from here on
            for prepare in cases.values():  # a first round, untimed, before the bare SQL's
                prepare()  # fetched rows count against the process's peak memory
                rebuild_job()
            memory_full = peak_memory_mb()

            bare_seconds = []
            job_seconds = {case: [] for case in cases}
            for _ in range(args.rounds):
                bare_seconds.append(timed(bare_group_by))
                for case, prepare in cases.items():
                    prepare()
                    job_seconds[case].append(timed(rebuild_job))
    finally:
        store.delete(force_drop=True)
        owner.delete()

    bare = min(bare_seconds)
    print(f"analytics rebuild of {args.lines:,} sale lines, {DAYS} days, best of {args.rounds}:")
    print(f"  bare SQL GROUP BY (day, product), rows fetched  {bare * 1000:6.0f} ms")
    for case, seconds in job_seconds.items():
        ratio = min(seconds) / bare
        verdict = "OK" if ratio <= FLOOR else "ABOVE"
        print(
            f"  rebuild job (4 tables), {case:<16} {min(seconds) * 1000:6.0f} ms"
            f"  {ratio:4.2f} x bare (floor: at most {FLOOR:.2f}) {verdict}"
        )
    growth = memory_full - memory_small
    print(
        f"  peak memory: {memory_small:.0f} MB after {args.lines // 10:,} lines, "
        f"{memory_full:.0f} MB after {args.lines:,} (floor: flat, within {MEMORY_SLACK_MB} MB) "
        f"{'OK' if growth <= MEMORY_SLACK_MB else 'ABOVE'}"
    )


if __name__ == "__main__":
    main()
