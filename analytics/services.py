"""Rebuilding a store's analytics tables from its sales: set-based SQL, whole days at a time."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.utils.timezone import now

from analytics.models import DailyPayment, DailyProductSales, DailySales, HourlySales
from core.transactions import derived_data_transaction
from sales.models import Refund, Sale, SaleLine, SalePayment
from stores.models import Store
from stores.tenancy import current_store

logger = logging.getLogger(__name__)

# Days rebuilt per transaction: each batch replaces its days at once, so a reader never sees a
# half-rebuilt day, and progress is reported between batches.
BATCH_DAYS = 31

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

ANALYTICS_TABLES = tuple(TABLES[name] for name in ("daily", "daily_payment", "hourly", "product"))

# A batch is the local days [first, last]: the sales of [start, end), the first instants of
# `first` and of the day after `last`, so the created_at index serves. A day's first instant is
# usually its local midnight; where a time zone turns its clocks back at midnight
# (Atlantic/Azores, America/Santiago…) midnight comes twice, PostgreSQL names the second, and
# the day began at the first: the earliest of the quarter hours up to three hours before it
# that is still on that date. Every local day and hour comes from PostgreSQL's time-zone data,
# so no sale can fall between two batches or into the wrong one. Lines and payments are read
# through their sale_id index, bounded by the batch's first and last sale ids. All four are
# looked up first and passed to the rebuild's statement as values, so the planner knows how
# many rows it groups.
_DAY_STARTS = """
    (SELECT min(at) FROM (
        SELECT {day}::timestamp AT TIME ZONE %(tz)s - step * interval '15 minutes' AS at
          FROM generate_series(0, 12) AS step) AS candidates
      WHERE (at AT TIME ZONE %(tz)s)::date = {day})
"""
# The last column says whether any analytics table holds a row of those days: a batch that holds
# none (a store's first build, or days emptied) is written without comparing (REBUILD_NEW).
BATCH_BOUNDS = """
    SELECT batch.start_at, batch.end_at, min(sale.id), max(sale.id), {held}
      FROM (SELECT {start} AS start_at, {end} AS end_at) AS batch
      LEFT JOIN {sale} AS sale
        ON sale.created_at >= batch.start_at AND sale.created_at < batch.end_at
     GROUP BY batch.start_at, batch.end_at
""".format(  # noqa: S608 - table names and our own SQL only
    start=_DAY_STARTS.format(day="%(first)s::date"),
    end=_DAY_STARTS.format(day="(%(last)s::date + 1)"),
    held=" OR ".join(
        f"EXISTS (SELECT FROM {table} WHERE date >= %(first)s AND date <= %(last)s)"
        for table in ANALYTICS_TABLES
    ),
    **TABLES,
)
# The first and last local days with a sale or a refund: four probes of the created_at indexes.
SALES_DAYS = """
    SELECT (least((SELECT min(created_at) FROM {sale}), (SELECT min(created_at) FROM {refund}))
            AT TIME ZONE %(tz)s)::date,
           (greatest((SELECT max(created_at) FROM {sale}), (SELECT max(created_at) FROM {refund}))
            AT TIME ZONE %(tz)s)::date
""".format(**TABLES)  # noqa: S608 - table names only


# The batch's sales, read once for every figure: each sale with its local time.
SOLD = """
    SELECT id, total, change_due, prices_include_tax, created_at AT TIME ZONE %(tz)s AS local_at
      FROM {sale} WHERE created_at >= %(start)s AND created_at < %(end)s
""".format(**TABLES)  # noqa: S608 - table names only


@dataclass(frozen=True)
class Figure:
    """One analytics table: its key and value columns, and the query of a batch's rows, whose
    columns come in that order (keys, then values). None of them is ever NULL. The query reads
    the batch's sales from `sold` (SOLD), and may read another figure's fresh rows from
    `<figure>_fresh`."""

    table: str
    keys: tuple[str, ...]
    values: tuple[str, ...]
    select: str


# The product figure's rows come sorted by their key: grouped by sorting, a batch's thousands of
# day × product sums cost less than in a hash table (one pair of numeric sums at a time), and new
# rows reach the primary key in its order, each index insert at its right edge.
FIGURES = (
    Figure(
        "product",
        ("date", "product_id"),
        ("quantity", "revenue"),
        """
        SELECT s.local_at::date, l.product_id, sum(l.quantity),
               sum(CASE WHEN s.prices_include_tax THEN l.total ELSE l.total + l.tax_amount END)
          FROM {line} AS l JOIN sold AS s ON s.id = l.sale_id
         WHERE l.sale_id BETWEEN %(first_sale)s AND %(last_sale)s
         GROUP BY 1, 2
         ORDER BY 1, 2
        """,
    ),
    Figure(
        "hourly",
        ("date", "hour"),
        ("sales_count", "revenue"),
        """
        SELECT local_hour::date, extract(hour FROM local_hour)::smallint, count(*), sum(total)
          FROM (SELECT date_trunc('hour', local_at) AS local_hour, total FROM sold) AS hours
         GROUP BY local_hour
        """,
    ),
    Figure(
        "daily_payment",
        ("date", "method"),
        ("amount",),
        # What each method took, cash net of the change given.
        """
        SELECT day, method, sum(amount) FROM (
            SELECT s.local_at::date AS day, p.method, p.amount
              FROM {payment} AS p JOIN sold AS s ON s.id = p.sale_id
             WHERE p.sale_id BETWEEN %(first_sale)s AND %(last_sale)s
            UNION ALL
            SELECT local_at::date, 'cash', -change_due FROM sold WHERE change_due > 0
        ) AS taken
        GROUP BY day, method
        """,
    ),
    Figure(
        "daily",
        ("date",),
        # generated_at differs on every run: a day's row is always rewritten, and says when its
        # figures were last built. The sales and items are summed from the hourly and product
        # rows of the same batch.
        ("sales_count", "revenue", "refunds", "items_sold", "generated_at"),
        """
        SELECT coalesce(sold.day, refunded.day), coalesce(sold.sales_count, 0),
               coalesce(sold.revenue, 0), coalesce(refunded.refunds, 0),
               coalesce(items.items_sold, 0), %(generated_at)s::timestamptz
          FROM (SELECT date AS day, sum(sales_count) AS sales_count, sum(revenue) AS revenue
                  FROM hourly_fresh GROUP BY 1) AS sold
          FULL OUTER JOIN (
                SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, sum(total) AS refunds
                  FROM {refund} WHERE created_at >= %(start)s AND created_at < %(end)s
                 GROUP BY 1) AS refunded ON refunded.day = sold.day
          LEFT JOIN (SELECT date AS day, sum(quantity) AS items_sold FROM product_fresh
                      GROUP BY 1) AS items ON items.day = sold.day
        """,
    ),
)


def _fresh(figure: Figure) -> str:
    """The CTE of the figure's rows for the batch, `<figure>_fresh`."""
    columns = ", ".join(figure.keys + figure.values)
    return f"{figure.table}_fresh ({columns}) AS ({figure.select.format(**TABLES)})"


def _write_new(figure: Figure) -> str:
    """The CTEs inserting the figure's rows for [first, last], which its table does not hold."""
    columns = ", ".join(figure.keys + figure.values)
    return f"""
        {_fresh(figure)},
        {figure.table}_new AS (
            INSERT INTO {TABLES[figure.table]} ({columns})
            SELECT {columns} FROM {figure.table}_fresh
        )"""  # noqa: S608 - built at import from the constants above


def _write_difference(figure: Figure) -> str:
    """The CTEs making the figure's table hold exactly the `select`'s rows for [first, last].

    Only the difference is written: rows that are gone are deleted, changed ones updated, new
    ones inserted, and unchanged ones left alone, so rebuilding figures that are already right
    (the nightly rebuild, a day refreshed after a sale) writes next to nothing. `<figure>_diff`
    holds one row per key, and the three writes take disjoint keys from it, so their order
    within the statement does not matter.
    """
    # Built at import from the constants above: no outside value reaches the SQL text.
    name, table, keys, values = figure.table, TABLES[figure.table], figure.keys, figure.values
    columns = ", ".join(keys + values)
    either_key = ", ".join(f"coalesce(fresh.{key}, old.{key}) AS {key}" for key in keys)
    fresh_values = ", ".join(f"fresh.{value}" for value in values)
    old_values = ", ".join(f"old.{value}" for value in values)
    same_key = " AND ".join(f"old.{key} = fresh.{key}" for key in keys)
    in_batch = f"{table}.date >= %(first)s AND {table}.date <= %(last)s"
    this_row = " AND ".join(f"{table}.{key} = diff.{key}" for key in keys)
    set_values = ", ".join(f"{value} = diff.{value}" for value in values)
    # Keys are never NULL: a NULL first key means the row is missing from that side.
    return f"""
        {_fresh(figure)},
        {name}_diff AS MATERIALIZED (
            SELECT {either_key}, {fresh_values},
                   old.{keys[0]} IS NOT NULL AS existed, fresh.{keys[0]} IS NOT NULL AS present
              FROM {name}_fresh AS fresh
              FULL OUTER JOIN (SELECT {columns} FROM {table} WHERE {in_batch}) AS old
                ON {same_key}
             WHERE ({fresh_values}) IS DISTINCT FROM ({old_values})
        ), {name}_gone AS (
            DELETE FROM {table} USING {name}_diff AS diff
             WHERE {in_batch} AND NOT diff.present AND {this_row}
        ), {name}_changed AS (
            UPDATE {table} SET {set_values} FROM {name}_diff AS diff
             WHERE {in_batch} AND diff.existed AND diff.present AND {this_row}
        ), {name}_new AS (
            INSERT INTO {table} ({columns})
            SELECT {columns} FROM {name}_diff AS diff WHERE NOT diff.existed
        )"""  # noqa: S608


# A batch's four figures in one statement: the sales are read once, and every CTE sees the
# tables as they were before it (the daily figure sums the others' fresh rows, not the tables).
REBUILD = (
    f"WITH sold AS MATERIALIZED ({SOLD}), "
    f"{', '.join(_write_difference(figure) for figure in FIGURES)} SELECT 1"
)
# The same for days no table holds a row of: nothing to compare, every row is new.
REBUILD_NEW = (
    f"WITH sold AS MATERIALIZED ({SOLD}), "
    f"{', '.join(_write_new(figure) for figure in FIGURES)} SELECT 1"
)


def _batches(first: date, last: date) -> Iterator[tuple[date, date]]:
    start = first
    while start <= last:
        end = min(start + timedelta(days=BATCH_DAYS - 1), last)
        yield start, end
        start = end + timedelta(days=1)


@contextmanager
def _writing_analytics(store: Store) -> Iterator[CursorWrapper]:
    """A transaction writing the store's analytics tables, and a cursor in it.

    Before anything is read, it takes the store's analytics lock: one writer at a time per
    store, as a day refresh and a rebuild of the same days would otherwise insert the same rows
    side by side. Under READ COMMITTED, every later statement sees what the previous writer
    committed, which writing only the difference relies on. The rows are derived and rebuilt at
    will, so a transaction of its own does not wait for the disk (the job that runs a rebuild
    commits its end durably, which flushes them) and raises `work_mem`, so a batch's lines are
    grouped in memory.
    """
    with derived_data_transaction(work_mem=settings.ANALYTICS_WORK_MEM) as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"kassa.analytics:{store.schema_name}"]
        )
        yield cursor


def analytics_days_rebuild(*, first: date, last: date) -> None:
    """Replace the analytics rows of the local days `first`..`last`, in one transaction."""
    store = current_store()
    params = {"tz": store.timezone, "first": first, "last": last, "generated_at": now()}
    with _writing_analytics(store) as cursor:
        cursor.execute(BATCH_BOUNDS, params)
        params["start"], params["end"], params["first_sale"], params["last_sale"], held = (
            cursor.fetchone()
        )
        cursor.execute(REBUILD if held else REBUILD_NEW, params)


def sales_date_range() -> tuple[date, date] | None:
    """The first and last local days with a sale or a refund, or None for a store without."""
    with connection.cursor() as cursor:
        cursor.execute(SALES_DAYS, {"tz": current_store().timezone})
        first, last = cursor.fetchone()
    return None if first is None else (first, last)


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
        with _writing_analytics(current_store()) as cursor:
            # Found under the lock, so a day refreshed meanwhile is inside the range.
            found = sales_date_range()
            # Days outside the sales' range hold nothing any more (a changed time zone moves
            # days); a store without sales has no figures at all.
            for table in ANALYTICS_TABLES:
                if found is None:
                    cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - a constant
                else:
                    cursor.execute(
                        f"DELETE FROM {table} WHERE date < %s OR date > %s",  # noqa: S608
                        found,
                    )
        if found is None:
            progress(100)
            return {"from": None, "to": None, "days": 0}
        first, last = found
    batches = list(_batches(first, last))
    for done, (batch_first, batch_last) in enumerate(batches, start=1):
        analytics_days_rebuild(first=batch_first, last=batch_last)
        progress(done * 100 // len(batches))
    return {"from": first.isoformat(), "to": last.isoformat(), "days": (last - first).days + 1}
