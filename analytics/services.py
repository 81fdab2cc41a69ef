"""Rebuilding a store's analytics tables from its sales: set-based SQL, whole days at a time."""

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models import Max, Min
from django.db.models.functions import TruncDate
from django.utils.timezone import now

from analytics.models import DailyPayment, DailyProductSales, DailySales, HourlySales
from sales.models import Refund, Sale, SaleLine, SalePayment
from stores.models import Store
from stores.tenancy import current_store

logger = logging.getLogger(__name__)

# Days rebuilt per transaction: each batch replaces its days at once, so a reader never sees a
# half-rebuilt day, and progress is reported between batches.
BATCH_DAYS = 31
# A busy store's sales of one day are folded into one refresh queued at most this often.
REFRESH_COALESCE_SECONDS = 5

TABLES = {
    "sale": Sale._meta.db_table,
    "line": SaleLine._meta.db_table,
    "payment": SalePayment._meta.db_table,
    "refund": Refund._meta.db_table,
    "daily": DailySales._meta.db_table,
    "daily_payment": DailyPayment._meta.db_table,
    "hourly": HourlySales._meta.db_table,
    "product": DailyProductSales._meta.db_table,
}

# Each figure's rows for the local days [first, last], from the sales of [start, end) (local
# midnights as timestamps, so the created_at indexes serve). Only the first reads the sale
# lines; the daily row is summed from the hourly and product rows just written. Lines and
# payments are also bounded by the batch's sale ids, so each batch reads only its own part of
# them through the sale_id index instead of the whole table.
BATCH_SALES = "WHERE b.created_at >= %(start)s AND b.created_at < %(end)s"
FIGURES = (
    (
        "product",
        ("date", "product_id"),
        ("quantity", "revenue"),
        """
        SELECT (s.created_at AT TIME ZONE %(tz)s)::date, l.product_id, sum(l.quantity),
               sum(CASE WHEN s.prices_include_tax THEN l.total ELSE l.total + l.tax_amount END)
          FROM {line} AS l JOIN {sale} AS s ON s.id = l.sale_id
         WHERE s.created_at >= %(start)s AND s.created_at < %(end)s
           AND l.sale_id BETWEEN (SELECT min(id) FROM {sale} AS b {batch})
                             AND (SELECT max(id) FROM {sale} AS b {batch})
         GROUP BY 1, 2
        """,
    ),
    (
        "hourly",
        ("date", "hour"),
        ("sales_count", "revenue"),
        """
        SELECT (created_at AT TIME ZONE %(tz)s)::date,
               extract(hour FROM created_at AT TIME ZONE %(tz)s)::smallint, count(*), sum(total)
          FROM {sale} WHERE created_at >= %(start)s AND created_at < %(end)s
         GROUP BY 1, 2
        """,
    ),
    (
        "daily_payment",
        ("date", "method"),
        ("amount",),
        """
        SELECT day, method, sum(amount) FROM (
            SELECT (s.created_at AT TIME ZONE %(tz)s)::date AS day, p.method, p.amount
              FROM {payment} AS p JOIN {sale} AS s ON s.id = p.sale_id
             WHERE s.created_at >= %(start)s AND s.created_at < %(end)s
               AND p.sale_id BETWEEN (SELECT min(id) FROM {sale} AS b {batch})
                                 AND (SELECT max(id) FROM {sale} AS b {batch})
            UNION ALL
            SELECT (created_at AT TIME ZONE %(tz)s)::date, 'cash', -change_due
              FROM {sale}
             WHERE created_at >= %(start)s AND created_at < %(end)s AND change_due > 0
        ) AS taken
        GROUP BY day, method
        """,
    ),
    (
        "daily",
        ("date",),
        ("sales_count", "revenue", "refunds", "items_sold", "generated_at"),
        """
        WITH sold AS (
            SELECT date AS day, sum(sales_count) AS sales_count, sum(revenue) AS revenue
              FROM {hourly} WHERE date >= %(first)s AND date <= %(last)s GROUP BY 1
        ), items AS (
            SELECT date AS day, sum(quantity) AS items_sold
              FROM {product} WHERE date >= %(first)s AND date <= %(last)s GROUP BY 1
        ), refunded AS (
            SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, sum(total) AS refunds
              FROM {refund} WHERE created_at >= %(start)s AND created_at < %(end)s GROUP BY 1
        )
        SELECT coalesce(sold.day, refunded.day), coalesce(sold.sales_count, 0),
               coalesce(sold.revenue, 0), coalesce(refunded.refunds, 0),
               coalesce(items.items_sold, 0), %(generated_at)s::timestamptz
          FROM sold FULL OUTER JOIN refunded ON refunded.day = sold.day
          LEFT JOIN items ON items.day = sold.day
        """,
    ),
)


def _replace_statements(
    table: str, keys: tuple[str, ...], values: tuple[str, ...], select: str
) -> tuple[str, str]:
    """The two statements making the table's rows of [first, last] exactly the `select`'s rows:
    delete the range, insert it afresh (cheaper than comparing row by row with ON CONFLICT)."""
    # Built once at import from the constants above: no outside value reaches the SQL text.
    columns = ", ".join(keys + values)
    return (
        f"DELETE FROM {TABLES[table]} WHERE date >= %(first)s AND date <= %(last)s",  # noqa: S608
        f"INSERT INTO {TABLES[table]} ({columns}) {select.format(**TABLES, batch=BATCH_SALES)}",
    )


REPLACE_STATEMENTS = tuple(
    statement for figure in FIGURES for statement in _replace_statements(*figure)
)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def _batches(first: date, last: date) -> Iterator[tuple[date, date]]:
    start = first
    while start <= last:
        end = min(start + timedelta(days=BATCH_DAYS - 1), last)
        yield start, end
        start = end + timedelta(days=1)


def analytics_days_rebuild(*, first: date, last: date) -> None:
    """Replace the analytics rows of the local days `first`..`last`, in one transaction."""
    zone = ZoneInfo(current_store().timezone)
    params = {
        "tz": zone.key,
        "first": first,
        "last": last,
        "start": _local_midnight(first, zone),
        "end": _local_midnight(last + timedelta(days=1), zone),
        "generated_at": now(),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # Enough memory to group a batch's lines without spilling to disk, and no wait for the
        # WAL flush at commit: the rows are derived and rebuilt at will (this transaction only;
        # it stays atomic either way).
        cursor.execute(
            "SELECT set_config('work_mem', %s, true), "
            "set_config('synchronous_commit', 'off', true), "
            # One rebuild at a time per store: a day refresh and a nightly or requested rebuild
            # of the same days would otherwise insert the same rows side by side.
            "pg_advisory_xact_lock(hashtext(%s))",
            [settings.ANALYTICS_WORK_MEM, f"kassa.analytics:{connection.schema_name}"],
        )
        for statement in REPLACE_STATEMENTS:
            cursor.execute(statement, params)


def sales_date_range() -> tuple[date, date] | None:
    """The first and last local days with a sale or a refund, or None for a store without."""
    zone = current_store().timezone
    days = [
        model.objects.aggregate(
            first=Min(TruncDate("created_at", tzinfo=ZoneInfo(zone))),
            last=Max(TruncDate("created_at", tzinfo=ZoneInfo(zone))),
        )
        for model in (Sale, Refund)
    ]
    firsts = [found["first"] for found in days if found["first"] is not None]
    lasts = [found["last"] for found in days if found["last"] is not None]
    if not firsts:
        return None
    return min(firsts), max(lasts)


def analytics_rebuild(
    *,
    first: date | None = None,
    last: date | None = None,
    progress: Callable[[int], None] = lambda percent: None,
) -> dict:
    """Rebuild `first`..`last` (all days with sales when both are None), batch by batch.

    Idempotent: running it twice gives the same tables. Returns what was rebuilt.
    """
    if first is None or last is None:
        found = sales_date_range()
        if found is None:
            DailySales.objects.all().delete()
            DailyPayment.objects.all().delete()
            HourlySales.objects.all().delete()
            DailyProductSales.objects.all().delete()
            progress(100)
            return {"from": None, "to": None, "days": 0}
        first, last = found
        # Days outside the sales' range hold nothing any more (a changed time zone moves days).
        with transaction.atomic():
            for model in (DailySales, DailyPayment, HourlySales, DailyProductSales):
                model.objects.exclude(date__range=(first, last)).delete()
    batches = list(_batches(first, last))
    for done, (batch_first, batch_last) in enumerate(batches, start=1):
        analytics_days_rebuild(first=batch_first, last=batch_last)
        progress(done * 100 // len(batches))
    return {"from": first.isoformat(), "to": last.isoformat(), "days": (last - first).days + 1}


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(current_store().timezone)).date()


def local_today(store: Store) -> date:
    return now().astimezone(ZoneInfo(store.timezone)).date()


def analytics_refresh_schedule(*, schema_name: str, days: Iterable[date]) -> None:
    """After a committed sale or refund: queue a refresh of its days, once per few seconds.

    Called from transaction.on_commit with the store's schema named when the sale was made, so
    the task runs there whatever the connection is set to by then. A day already queued and not
    yet started is not queued again; the task clears its mark when it starts, so a sale
    committed while it runs queues the next refresh.
    """
    from analytics.tasks import analytics_refresh_day  # noqa: PLC0415 - tasks import services

    marks = caches["shared"]
    for day in set(days):
        mark = refresh_mark(schema_name, day)
        if marks.add(mark, 1, timeout=REFRESH_COALESCE_SECONDS * 12):
            try:
                analytics_refresh_day.apply_async(
                    args=[day.isoformat()],
                    countdown=REFRESH_COALESCE_SECONDS,
                    headers={"_schema_name": schema_name},
                )
            except Exception:  # a broker outage must not fail a sale that is already committed
                # The mark stays until it expires: the sales meanwhile do not each wait on the
                # dead broker; the first sale after it retries, and the nightly rebuild repairs.
                logger.exception("analytics refresh not queued", extra={"day": day.isoformat()})


def refresh_mark(schema_name: str, day: date) -> str:
    # In the shared cache, so the sale's request and the worker's task name the same key.
    return f"analytics-refresh:{schema_name}:{day.isoformat()}"
