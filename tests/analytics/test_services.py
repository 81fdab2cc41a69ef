"""The analytics rebuild against hand-computed figures, its idempotency, day refreshes and tasks."""

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django_tenants.utils import schema_context, tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analytics.services
import analytics.tasks
import stores.clock
from analytics.models import DailyPayment, DailyProductSales, DailySales, HourlySales
from analytics.services import analytics_days_rebuild, analytics_rebuild
from catalog.models import Product
from core.money import quantize_money
from jobs.models import Job
from sales.models import Refund, Sale, SaleLine
from sales.services import (
    LineInput,
    PaymentInput,
    RefundLineInput,
    sale_checkout,
    sale_refund,
    shift_open,
)
from tests.catalog.factories import ProductFactory
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, make_store

NEW_YORK = "America/New_York"
# New York is on EDT (UTC−4) from 8 March 2026: 2026-03-10T03:30Z is 9 March, 23:30 there.
MARCH_8, MARCH_9, MARCH_10, MARCH_11, MARCH_12 = (date(2026, 3, day) for day in range(8, 13))
# What `now()` says in the rebuilds under test, so `generated_at` is known.
GENERATED_AT = datetime(2026, 3, 12, 6, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    """`"2026-03-10T03:30"` as an aware UTC moment."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- Making sales on given days -------------------------------------------------------------


def set_up_store(
    staffed: StoreWithStaff,
    *,
    prices_include_tax: bool,
    timezone: str = NEW_YORK,
    currency: str = "USD",
) -> None:
    """Set and save the store's settings, and open a shift on its register."""
    store = staffed.store
    store.prices_include_tax = prices_include_tax
    store.timezone = timezone
    store.currency = currency
    store.save()
    with tenant_context(store):
        shift_open(
            register_id=staffed.register.pk, opening_cash=Decimal("100.00"), user=staffed.owner
        )


def sell(
    staffed: StoreWithStaff,
    at: datetime,
    lines: list[tuple[Product, str]],
    payments: list[tuple[str, str]],
) -> Sale:
    """Check a sale out as the owner, in the active store, then move it to `at`."""
    sale = sale_checkout(
        user=staffed.owner,
        role="owner",
        register_id=staffed.register.pk,
        lines=[
            LineInput(product_id=product.pk, quantity=Decimal(quantity))
            for product, quantity in lines
        ],
        payments=[
            PaymentInput(method=method, amount=Decimal(amount)) for method, amount in payments
        ],
    )
    Sale.objects.filter(pk=sale.pk).update(created_at=at)
    return sale


def give_back(
    staffed: StoreWithStaff,
    sale: Sale,
    at: datetime,
    lines: list[tuple[SaleLine, Decimal]],
    method: str,
) -> Refund:
    """Refund some of a sale's lines as the owner, in the active store, then move it to `at`."""
    refund = sale_refund(
        sale=sale,
        user=staffed.owner,
        lines=[RefundLineInput(line_id=line.pk, quantity=quantity) for line, quantity in lines],
        method=method,
    )
    Refund.objects.filter(pk=refund.pk).update(created_at=at)
    return refund


# What the card, exact cash and "other" payments of the scenario come to, by tax setting.
EXACT_AMOUNTS = {
    True: {"coffee and cake": "7.50", "bagels": "6.60", "large coffee": "3.50"},
    False: {"coffee and cake": "8.65", "bagels": "7.06", "large coffee": "3.85"},
}


def three_days_of_sales(staffed: StoreWithStaff, *, prices_include_tax: bool) -> None:
    """Five sales and a refund in a New York store, 9–11 March 2026 (local times):

    | local            | UTC              | sale                                             |
    | 9 March 10:15    | 9 March 14:15    | 2 coffee; cash 10.00 (change)                    |
    | 9 March 23:30    | 10 March 03:30   | 1 cake, 1 coffee; card                           |
    | 10 March 00:30   | 10 March 04:30   | 3 bagels; exact cash                             |
    | 10 March 14:05   | 10 March 18:05   | 2 cakes; card 5.00 and cash 5.00 (change)        |
    | 11 March 09:00   | 11 March 13:00   | 1 coffee, renamed "Coffee, large"; other         |
    | 11 March 11:00   | 11 March 15:00   | refund of 1 of the 2 cakes of 10 March, by card  |

    Coffee 3.50 at 10 %, cake 4.00 at 20 %, bagel 2.20 at 7 % (ids 1, 2, 3).
    """
    set_up_store(staffed, prices_include_tax=prices_include_tax)
    amounts = EXACT_AMOUNTS[prices_include_tax]
    with tenant_context(staffed.store):
        coffee = ProductFactory(
            name="Coffee", price=Decimal("3.50"), tax_rate=Decimal("10"), stock="100"
        )
        cake = ProductFactory(
            name="Cake", price=Decimal("4.00"), tax_rate=Decimal("20"), stock="100"
        )
        bagel = ProductFactory(
            name="Bagel", price=Decimal("2.20"), tax_rate=Decimal("7"), stock="100"
        )
        sell(staffed, utc("2026-03-09T14:15"), [(coffee, "2")], [("cash", "10.00")])
        sell(
            staffed,
            utc("2026-03-10T03:30"),
            [(cake, "1"), (coffee, "1")],
            [("card", amounts["coffee and cake"])],
        )
        sell(staffed, utc("2026-03-10T04:30"), [(bagel, "3")], [("cash", amounts["bagels"])])
        two_cakes = sell(
            staffed, utc("2026-03-10T18:05"), [(cake, "2")], [("card", "5.00"), ("cash", "5.00")]
        )
        Product.objects.filter(pk=coffee.pk).update(name="Coffee, large")
        sell(
            staffed, utc("2026-03-11T13:00"), [(coffee, "1")], [("other", amounts["large coffee"])]
        )
        give_back(
            staffed,
            two_cakes,
            utc("2026-03-11T15:00"),
            [(SaleLine.objects.get(sale=two_cakes), Decimal("1"))],
            "card",
        )


# --- Reading the tables ---------------------------------------------------------------------


def daily_rows() -> list[tuple]:
    return list(
        DailySales.objects.order_by("date").values_list(
            "date", "sales_count", "revenue", "refunds", "items_sold"
        )
    )


def payment_rows() -> list[tuple]:
    return list(
        DailyPayment.objects.order_by("date", "method").values_list("date", "method", "amount")
    )


def hourly_rows() -> list[tuple]:
    return list(
        HourlySales.objects.order_by("date", "hour").values_list(
            "date", "hour", "sales_count", "revenue"
        )
    )


def product_rows() -> list[tuple]:
    return list(
        DailyProductSales.objects.order_by("date", "product_id").values_list(
            "date", "product_id", "quantity", "revenue"
        )
    )


def analytics_tables() -> dict[str, list[tuple]]:
    """Every row of the four tables, every column but the id and `generated_at`."""
    return {
        "daily": daily_rows(),
        "payments": payment_rows(),
        "hourly": hourly_rows(),
        "products": product_rows(),
    }


def empty_analytics_tables() -> None:
    for model in (DailySales, DailyPayment, HourlySales, DailyProductSales):
        model.objects.all().delete()


def money(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(value) for value in values)


# Hand-computed rows of `three_days_of_sales`, by tax setting.
#
# Prices include tax: coffee and cake 7.50, bagels 6.60, 2 cakes 8.00, 2 coffee 7.00, coffee
# 3.50; the refund gives back half of 8.00. Cash of 9 March: 10.00 − 3.00 change; of 10 March:
# 6.60 + 5.00 − 2.00 change.
#
# Prices exclude tax: 2 coffee 7.00 + 0.70 = 7.70; cake 4.00 + 0.80 and coffee 3.50 + 0.35 =
# 8.65; bagels 6.60 + 0.462 → 0.46 = 7.06; 2 cakes 8.00 + 1.60 = 9.60; coffee 3.85; the refund
# gives back half of 9.60. Cash of 9 March: 10.00 − 2.30; of 10 March: 7.06 + 5.00 − 0.40.
EXPECTED_ROWS = {
    True: {
        "daily": [
            (MARCH_9, 2, *money("14.50", "0.00", "4.000")),
            (MARCH_10, 2, *money("14.60", "0.00", "5.000")),
            (MARCH_11, 1, *money("3.50", "4.00", "1.000")),
        ],
        "payments": [
            (MARCH_9, "card", Decimal("7.50")),
            (MARCH_9, "cash", Decimal("7.00")),
            (MARCH_10, "card", Decimal("5.00")),
            (MARCH_10, "cash", Decimal("9.60")),
            (MARCH_11, "other", Decimal("3.50")),
        ],
        "hourly": [
            (MARCH_9, 10, 1, Decimal("7.00")),
            (MARCH_9, 23, 1, Decimal("7.50")),
            (MARCH_10, 0, 1, Decimal("6.60")),
            (MARCH_10, 14, 1, Decimal("8.00")),
            (MARCH_11, 9, 1, Decimal("3.50")),
        ],
        "products": [
            (MARCH_9, 1, *money("3.000", "10.50")),
            (MARCH_9, 2, *money("1.000", "4.00")),
            (MARCH_10, 2, *money("2.000", "8.00")),
            (MARCH_10, 3, *money("3.000", "6.60")),
            (MARCH_11, 1, *money("1.000", "3.50")),
        ],
    },
    False: {
        "daily": [
            (MARCH_9, 2, *money("16.35", "0.00", "4.000")),
            (MARCH_10, 2, *money("16.66", "0.00", "5.000")),
            (MARCH_11, 1, *money("3.85", "4.80", "1.000")),
        ],
        "payments": [
            (MARCH_9, "card", Decimal("8.65")),
            (MARCH_9, "cash", Decimal("7.70")),
            (MARCH_10, "card", Decimal("5.00")),
            (MARCH_10, "cash", Decimal("11.66")),
            (MARCH_11, "other", Decimal("3.85")),
        ],
        "hourly": [
            (MARCH_9, 10, 1, Decimal("7.70")),
            (MARCH_9, 23, 1, Decimal("8.65")),
            (MARCH_10, 0, 1, Decimal("7.06")),
            (MARCH_10, 14, 1, Decimal("9.60")),
            (MARCH_11, 9, 1, Decimal("3.85")),
        ],
        "products": [
            (MARCH_9, 1, *money("3.000", "11.55")),
            (MARCH_9, 2, *money("1.000", "4.80")),
            (MARCH_10, 2, *money("2.000", "9.60")),
            (MARCH_10, 3, *money("3.000", "7.06")),
            (MARCH_11, 1, *money("1.000", "3.85")),
        ],
    },
}

TAX_SETTINGS = [
    pytest.param(True, id="prices-include-tax"),
    pytest.param(False, id="prices-exclude-tax"),
]


@pytest.fixture
def frozen_generated_at(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """`now()` of the analytics services (generated_at, the store's today) is GENERATED_AT."""
    monkeypatch.setattr(analytics.services, "now", lambda: GENERATED_AT)
    return GENERATED_AT


# --- The rebuild against hand-computed figures ----------------------------------------------


@pytest.mark.parametrize("prices_include_tax", TAX_SETTINGS)
def test_rebuild_writes_the_hand_computed_rows(store_a, frozen_generated_at, prices_include_tax):
    # given three days of sales and a refund
    three_days_of_sales(store_a, prices_include_tax=prices_include_tax)
    progress: list[int] = []

    with tenant_context(store_a.store):
        # when
        rebuilt = analytics_rebuild(progress=progress.append)

        # then
        tables = analytics_tables()
        generated = set(DailySales.objects.values_list("generated_at", flat=True))

    assert rebuilt == {"from": "2026-03-09", "to": "2026-03-11", "days": 3}
    assert progress == [100]
    assert tables == EXPECTED_ROWS[prices_include_tax]
    assert generated == {GENERATED_AT}


def test_a_rebuild_of_a_long_range_goes_in_batches_with_the_same_rows(store_a):
    # given
    three_days_of_sales(store_a, prices_include_tax=True)
    progress: list[int] = []

    with tenant_context(store_a.store):
        # when: 40 days, one batch of 31 and one of 9, the sales in the second
        rebuilt = analytics_rebuild(
            first=date(2026, 2, 1), last=date(2026, 3, 12), progress=progress.append
        )

        # then
        tables = analytics_tables()

    assert rebuilt == {"from": "2026-02-01", "to": "2026-03-12", "days": 40}
    assert progress == [50, 100]
    assert tables == EXPECTED_ROWS[True]


def test_a_sale_belongs_to_the_local_day_and_hour_of_the_store(store_a):
    # given the same two moments, in a store seen from New York and then from Kolkata (UTC+5:30)
    set_up_store(store_a, prices_include_tax=True)
    with tenant_context(store_a.store):
        coffee = ProductFactory(
            name="Coffee", price=Decimal("3.50"), tax_rate=Decimal("10"), stock="10"
        )
        sell(store_a, utc("2026-03-10T03:59:59"), [(coffee, "1")], [("card", "3.50")])
        sell(store_a, utc("2026-03-10T04:00"), [(coffee, "1")], [("card", "3.50")])

        # when
        analytics_rebuild()
        in_new_york = (daily_rows(), hourly_rows())
        store_a.store.timezone = "Asia/Kolkata"
        empty_analytics_tables()
        analytics_rebuild()
        in_kolkata = (daily_rows(), hourly_rows())

    # then: 23:59:59 on 9 March and midnight on 10 March in New York; 9:29 and 9:30 in Kolkata
    assert in_new_york == (
        [
            (MARCH_9, 1, *money("3.50", "0.00", "1.000")),
            (MARCH_10, 1, *money("3.50", "0.00", "1.000")),
        ],
        [(MARCH_9, 23, 1, Decimal("3.50")), (MARCH_10, 0, 1, Decimal("3.50"))],
    )
    assert in_kolkata == (
        [(MARCH_10, 2, *money("7.00", "0.00", "2.000"))],
        [(MARCH_10, 9, 2, Decimal("7.00"))],
    )


def test_a_day_that_begins_at_the_first_of_two_midnights_keeps_its_first_hour(store_a):
    # given a store on the Azores, whose clocks go back from 01:00 to 00:00 on 25 October 2026:
    # local midnight comes twice that day (00:00 UTC, then 01:00 UTC), and the day begins at
    # the first; a sale at 00:30 UTC is on 25 October, in its first hour
    set_up_store(store_a, prices_include_tax=True, timezone="Atlantic/Azores")
    with tenant_context(store_a.store):
        coffee = ProductFactory(
            name="Coffee", price=Decimal("3.50"), tax_rate=Decimal("10"), stock="10"
        )
        for moment in ("2026-10-24T12:00", "2026-10-25T00:30", "2026-10-25T12:00"):
            sell(store_a, utc(moment), [(coffee, "1")], [("card", "3.50")])
        october_24, october_25 = date(2026, 10, 24), date(2026, 10, 25)

        # when everything is rebuilt, then each day refreshed on its own
        analytics_rebuild()
        rebuilt = analytics_tables()
        analytics_days_rebuild(first=october_24, last=october_24)
        analytics_days_rebuild(first=october_25, last=october_25)
        refreshed = analytics_tables()

    # then the 00:30 sale counts on 25 October, at hour 0, whichever way the days were built
    assert [row[:2] for row in rebuilt["daily"]] == [(october_24, 1), (october_25, 2)]
    assert [row[:3] for row in rebuilt["hourly"]] == [
        (october_24, 12, 1), (october_25, 0, 1), (october_25, 11, 1),  # 12:00 UTC is 11:00 now
    ]  # fmt: skip
    assert [row[:3] for row in rebuilt["products"]] == [
        (october_24, coffee.pk, Decimal("1.000")), (october_25, coffee.pk, Decimal("2.000")),
    ]  # fmt: skip
    assert refreshed == rebuilt


def test_a_full_rebuild_after_a_time_zone_change_leaves_no_stale_day(store_a):
    # given figures built in New York: the 03:30Z sale on 9 March, the 18:00Z one on 10 March
    set_up_store(store_a, prices_include_tax=True)
    with tenant_context(store_a.store):
        coffee = ProductFactory(
            name="Coffee", price=Decimal("3.50"), tax_rate=Decimal("10"), stock="10"
        )
        sell(store_a, utc("2026-03-10T03:30"), [(coffee, "1")], [("card", "3.50")])
        sell(store_a, utc("2026-03-10T18:00"), [(coffee, "1")], [("card", "3.50")])
        analytics_rebuild()
    # and then the store moves to Berlin, where both sales were made on 10 March
    store_a.store.timezone = "Europe/Berlin"
    store_a.store.save()

    with tenant_context(store_a.store):
        # when everything is rebuilt (what POST /api/analytics/regenerate/ without a range does)
        analytics_rebuild()

        # then only 10 March has figures: the summary matches the sales, none counted twice
        tables = analytics_tables()

    assert tables == {
        "daily": [(MARCH_10, 2, *money("7.00", "0.00", "2.000"))],
        "payments": [(MARCH_10, "card", Decimal("7.00"))],
        "hourly": [(MARCH_10, 4, 1, Decimal("3.50")), (MARCH_10, 19, 1, Decimal("3.50"))],
        "products": [(MARCH_10, coffee.pk, *money("2.000", "7.00"))],
    }


# --- Idempotency ----------------------------------------------------------------------------


@pytest.mark.parametrize("prices_include_tax", TAX_SETTINGS)
def test_a_rebuild_over_wrong_figures_writes_what_a_first_build_does(
    store_a, frozen_generated_at, prices_include_tax
):
    # given figures built, then made wrong: every value changed, a row of each table gone, and
    # a stray row on a day with sales (a first build writes its rows without comparing, so this
    # is what the comparing statement alone must bring back)
    three_days_of_sales(store_a, prices_include_tax=prices_include_tax)
    with tenant_context(store_a.store):
        analytics_rebuild()
        DailySales.objects.update(sales_count=99, revenue=1, refunds=1, items_sold=1)
        DailyPayment.objects.update(amount=1)
        HourlySales.objects.update(sales_count=99, revenue=1)
        DailyProductSales.objects.update(quantity=1, revenue=1)
        for model in (DailySales, DailyPayment, HourlySales, DailyProductSales):
            model.objects.filter(date=MARCH_11).order_by("pk").first().delete()
        DailyPayment.objects.create(date=MARCH_10, method="voucher", amount=5)
        HourlySales.objects.create(date=MARCH_10, hour=3, sales_count=1, revenue=5)
        DailyProductSales.objects.create(date=MARCH_10, product_id=10**9, quantity=1, revenue=5)

        # when
        analytics_rebuild()

        # then
        tables = analytics_tables()

    assert tables == EXPECTED_ROWS[prices_include_tax]


def test_rebuilding_twice_gives_the_same_rows(store_a):
    # given
    three_days_of_sales(store_a, prices_include_tax=False)
    with tenant_context(store_a.store):
        analytics_rebuild()
        first = analytics_tables()

        # when
        analytics_rebuild()

        # then
        second = analytics_tables()

    assert first == second == EXPECTED_ROWS[False]


# Each table's key columns, to tell its rows apart.
KEYS = {
    "daily": (DailySales, "date"),
    "payments": (DailyPayment, "date, method"),
    "hourly": (HourlySales, "date, hour"),
    "products": (DailyProductSales, "date, product_id"),
}


def row_locations() -> dict[str, dict[object, str]]:
    """Where each row of the four tables is stored (its ctid), by key: a row written again, by
    an update or a new insert, is stored elsewhere."""
    locations = {}
    with connection.cursor() as cursor:
        for name, (model, key) in KEYS.items():
            cursor.execute(f"SELECT {key}, ctid::text FROM {model._meta.db_table}")
            locations[name] = {
                row[0] if len(row) == 2 else row[:-1]: row[-1] for row in cursor.fetchall()
            }
    return locations


def test_a_rebuild_writes_only_the_rows_whose_figures_changed(store_a, frozen_generated_at):
    # given built figures, then one more bagel sold on 10 March, at 16:20 local
    three_days_of_sales(store_a, prices_include_tax=True)
    with tenant_context(store_a.store):
        analytics_rebuild()
        before = row_locations()
        bagel = Product.objects.get(name="Bagel")
        sell(store_a, utc("2026-03-10T20:20"), [(bagel, "1")], [("card", "2.20")])

        # when everything is rebuilt
        analytics_rebuild()

        # then
        after = row_locations()
        tables = analytics_tables()

    written = {
        table: sorted(key for key, where in rows.items() if before[table].get(key) != where)
        for table, rows in after.items()
    }
    # only the figures of 10 March that the sale changed (the time a day was built is frozen)
    assert written == {
        "daily": [MARCH_10],
        "payments": [(MARCH_10, "card")],
        "hourly": [(MARCH_10, 16)],
        "products": [(MARCH_10, bagel.pk)],
    }
    assert (MARCH_10, 3, *money("16.80", "0.00", "6.000")) in tables["daily"]
    assert (MARCH_10, "card", Decimal("7.20")) in tables["payments"]
    assert (MARCH_10, 16, 1, Decimal("2.20")) in tables["hourly"]
    assert (MARCH_10, bagel.pk, *money("4.000", "8.80")) in tables["products"]


def test_each_rebuild_records_when_every_day_was_built(store_a, monkeypatch):
    # given figures built at GENERATED_AT
    three_days_of_sales(store_a, prices_include_tax=True)
    monkeypatch.setattr(analytics.services, "now", lambda: GENERATED_AT)
    with tenant_context(store_a.store):
        analytics_rebuild()

        # when everything is rebuilt an hour later, nothing having changed
        monkeypatch.setattr(analytics.services, "now", lambda: GENERATED_AT + timedelta(hours=1))
        analytics_rebuild()

        # then every day says it was built then, with the same figures
        generated = set(DailySales.objects.values_list("generated_at", flat=True))
        tables = analytics_tables()

    assert generated == {GENERATED_AT + timedelta(hours=1)}
    assert tables == EXPECTED_ROWS[True]


def settings_of_the_writes() -> tuple[list[tuple[str, str]], Callable]:
    """The synchronous_commit and work_mem in force as each batch's statement (its four figures)
    runs, and the execute wrapper that records them."""
    seen: list[tuple[str, str]] = []

    def record(execute, sql, params, many, context):
        if sql.lstrip().startswith("WITH sold"):
            raw = context["cursor"].cursor
            raw.execute(SETTINGS)
            seen.append(raw.fetchone())
        return execute(sql, params, many, context)

    return seen, record


SETTINGS = "SELECT current_setting('synchronous_commit'), current_setting('work_mem')"


def current_settings() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(SETTINGS)
        return cursor.fetchone()


def test_a_rebuild_in_its_own_transactions_groups_in_memory_and_does_not_wait_for_the_disk(
    committed_stores,
):
    # given a store with committed sales, and no transaction open
    staffed = make_store(STORE_SCHEMAS[0], name="Магазин Альфа")
    three_days_of_sales(staffed, prices_include_tax=True)
    seen, record = settings_of_the_writes()
    with tenant_context(staffed.store):
        default = current_settings()

        # when everything is rebuilt
        with connection.execute_wrapper(record):
            analytics_rebuild()

        # then every write ran with the rebuild's settings, which ended with its transactions
        after = current_settings()
        tables = analytics_tables()

    assert seen == [("off", django_settings.ANALYTICS_WORK_MEM)]  # one batch
    assert after == default
    assert tables == EXPECTED_ROWS[True]


def test_a_rebuild_inside_a_callers_transaction_keeps_its_settings(store_a):
    # given a transaction of the caller's (the test's own), which may hold more than analytics
    three_days_of_sales(store_a, prices_include_tax=True)
    seen, record = settings_of_the_writes()
    with tenant_context(store_a.store):
        callers = current_settings()

        # when a day and then everything are rebuilt inside it
        with connection.execute_wrapper(record):
            analytics_days_rebuild(first=MARCH_10, last=MARCH_10)
            analytics_rebuild()

        # then its commit still waits for the disk, and its work_mem is its own
        after = current_settings()
        tables = analytics_tables()

    assert seen == [callers] * 2  # a day's batch, then everything's
    assert after == callers
    assert tables == EXPECTED_ROWS[True]


def test_concurrent_rebuilds_and_refreshes_of_a_store_never_collide(committed_stores):
    # given a store with committed sales
    staffed = make_store(STORE_SCHEMAS[0], name="Магазин Альфа")
    three_days_of_sales(staffed, prices_include_tax=True)
    store = staffed.store
    errors: list[BaseException] = []

    def run(work: Callable[[], object], start: threading.Barrier) -> None:
        try:
            with tenant_context(store):
                start.wait()
                work()
        except BaseException as error:  # every failure is the test's finding
            errors.append(error)
        finally:
            connection.close()

    for _ in range(5):
        # when, from empty tables, two full rebuilds and two refreshes of 10 March start at once
        with tenant_context(store):
            empty_analytics_tables()
        work = [
            analytics_rebuild,
            analytics_rebuild,
            lambda: analytics_days_rebuild(first=MARCH_10, last=MARCH_10),
            lambda: analytics_days_rebuild(first=MARCH_10, last=MARCH_10),
        ]
        start = threading.Barrier(len(work), timeout=10)
        threads = [threading.Thread(target=run, args=(each, start)) for each in work]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        # then they wrote one after another: no error, and the figures of the sales
        with tenant_context(store):
            tables = analytics_tables()
        assert errors == []
        assert tables == EXPECTED_ROWS[True]


def test_rebuilding_a_range_replaces_only_its_days(store_a):
    # given built figures, then one more sale on 9 March and one on 10 March
    three_days_of_sales(store_a, prices_include_tax=True)
    with tenant_context(store_a.store):
        analytics_rebuild()
        before = analytics_tables()
        bagel = Product.objects.get(name="Bagel")
        sell(store_a, utc("2026-03-09T16:00"), [(bagel, "1")], [("card", "2.20")])
        sell(store_a, utc("2026-03-10T16:20"), [(bagel, "2")], [("cash", "5.00")])

        # when only 10 March is rebuilt
        rebuilt = analytics_rebuild(first=MARCH_10, last=MARCH_10)

        # then 10 March has the new sale (12:20 local; cash 5.00 less 0.60 change)
        after = analytics_tables()

    def of_day(rows: list[tuple], day: date) -> list[tuple]:
        return [row for row in rows if row[0] == day]

    assert rebuilt == {"from": "2026-03-10", "to": "2026-03-10", "days": 1}
    assert after == {
        "daily": [
            *of_day(before["daily"], MARCH_9),
            (MARCH_10, 3, *money("19.00", "0.00", "7.000")),
            *of_day(before["daily"], MARCH_11),
        ],
        "payments": [
            *of_day(before["payments"], MARCH_9),
            (MARCH_10, "card", Decimal("5.00")),
            (MARCH_10, "cash", Decimal("14.00")),
            *of_day(before["payments"], MARCH_11),
        ],
        "hourly": [
            *of_day(before["hourly"], MARCH_9),
            (MARCH_10, 0, 1, Decimal("6.60")),
            (MARCH_10, 12, 1, Decimal("4.40")),
            (MARCH_10, 14, 1, Decimal("8.00")),
            *of_day(before["hourly"], MARCH_11),
        ],
        "products": [
            *of_day(before["products"], MARCH_9),
            (MARCH_10, 2, *money("2.000", "8.00")),
            (MARCH_10, 3, *money("5.000", "11.00")),
            *of_day(before["products"], MARCH_11),
        ],
    }
    # and 9 March still shows the figures built before its new sale
    assert of_day(after["daily"], MARCH_9) == [(MARCH_9, 2, *money("14.50", "0.00", "4.000"))]


def test_a_rebuild_without_sales_empties_the_tables(store_a):
    # given figures left in the tables of a store without a sale or refund
    set_up_store(store_a, prices_include_tax=True)
    with tenant_context(store_a.store):
        DailySales.objects.create(
            date=MARCH_9, sales_count=1, revenue=Decimal("1.00"), generated_at=GENERATED_AT
        )
        DailyPayment.objects.create(date=MARCH_9, method="cash", amount=Decimal("1.00"))
        HourlySales.objects.create(date=MARCH_9, hour=9, sales_count=1, revenue=Decimal("1.00"))
        DailyProductSales.objects.create(
            date=MARCH_9, product_id=1, quantity=Decimal("1"), revenue=Decimal("1.00")
        )
        progress: list[int] = []

        # when
        rebuilt = analytics_rebuild(progress=progress.append)

        # then
        tables = analytics_tables()

    assert rebuilt == {"from": None, "to": None, "days": 0}
    assert progress == [100]
    assert tables == {"daily": [], "payments": [], "hourly": [], "products": []}


# --- Incremental refreshes equal a full rebuild ---------------------------------------------

PRODUCTS = (("Coffee", "3.50", "10.00"), ("Cake", "4.00", "20.00"), ("Flour", "1.99", "7.00"))
# Sales over four days around New York's change to summer time (2:00 on 8 March 2026).
FIRST_MOMENT = datetime(2026, 3, 7, 0, 0, tzinfo=UTC)
MINUTES = 4 * 24 * 60
QUANTITIES = ("1", "2", "3", "0.250", "1.500")
PAYMENTS = ("cash exact", "cash with change", "card", "card and cash", "other")
ZONES = ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Chatham")

sale_operations = st.tuples(
    st.just("sale"),
    st.integers(0, MINUTES - 1),
    st.lists(st.tuples(st.integers(0, 2), st.sampled_from(QUANTITIES)), min_size=1, max_size=3),
    st.sampled_from(PAYMENTS),
)
refund_operations = st.tuples(
    st.just("refund"),
    st.integers(0, 50),  # which earlier sale
    st.integers(0, 2),  # which of its lines
    st.booleans(),  # everything left of the line, or one unit
    st.integers(0, 3 * 24 * 60),  # minutes after the sale
    st.sampled_from(("cash", "card", "other")),
)


def expected_total(lines: list[tuple[int, str]], *, prices_include_tax: bool) -> Decimal:
    """A sale's total, to pay it exactly by card."""
    total = Decimal("0.00")
    for index, quantity in lines:
        _, price, rate = PRODUCTS[index]
        line_total = quantize_money(Decimal(quantity) * Decimal(price), "EUR")
        total += line_total
        if not prices_include_tax:
            total += quantize_money(line_total * Decimal(rate) / 100, "EUR")
    return total


def payments_of(style: str, total: Decimal) -> list[tuple[str, str]]:
    card = quantize_money(total / 2, "EUR")
    return {
        "cash exact": [("cash", str(total))],
        "cash with change": [("cash", str(total + Decimal("7.35")))],
        "card": [("card", str(total))],
        "card and cash": [("card", str(card)), ("cash", str(total - card + Decimal("5.00")))],
        "other": [("other", str(total))],
    }[style]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    operations=st.lists(st.one_of(sale_operations, refund_operations), min_size=1, max_size=8),
    prices_include_tax=st.booleans(),
    zone=st.sampled_from(ZONES),
)
def test_refreshing_each_touched_day_equals_a_full_rebuild(
    store_a, operations, prices_include_tax, zone
):
    with transaction.atomic():
        # given the store, its products and an open shift
        set_up_store(store_a, prices_include_tax=prices_include_tax, timezone=zone)
        local = ZoneInfo(zone)
        with tenant_context(store_a.store):
            products = [
                ProductFactory(
                    name=name, price=Decimal(price), tax_rate=Decimal(rate), stock="1000"
                )
                for name, price, rate in PRODUCTS
            ]
            sales: list[tuple[Sale, datetime]] = []

            # when each sale or refund is followed by a refresh of its local day
            for operation in operations:
                if operation[0] == "sale":
                    _, minutes, lines, style = operation
                    at = FIRST_MOMENT + timedelta(minutes=minutes)
                    total = expected_total(lines, prices_include_tax=prices_include_tax)
                    sale = sell(
                        store_a,
                        at,
                        [(products[index], quantity) for index, quantity in lines],
                        payments_of(style, total),
                    )
                    sales.append((sale, at))
                else:
                    _, which, line_index, everything, minutes, method = operation
                    if not sales:
                        continue
                    sale, sold_at = sales[which % len(sales)]
                    sale_lines = list(SaleLine.objects.filter(sale=sale).order_by("id"))
                    line = sale_lines[line_index % len(sale_lines)]
                    left = line.quantity - line.refunded_quantity
                    if not left:
                        continue
                    quantity = left if everything or left < 1 else Decimal("1")
                    at = sold_at + timedelta(minutes=minutes)
                    give_back(store_a, sale, at, [(line, quantity)], method)
                day = at.astimezone(local).date()
                analytics_days_rebuild(first=day, last=day)
            incremental = analytics_tables()

            # and then everything is rebuilt from nothing
            empty_analytics_tables()
            analytics_rebuild()
            full = analytics_tables()

            # then
            assert incremental == full
            # and the tables add up to the sales and refunds
            days = DailySales.objects.all()
            assert sum(row.revenue for row in days) == sum(
                sale.total for sale in Sale.objects.all()
            )
            assert sum(row.refunds for row in days) == sum(
                refund.total for refund in Refund.objects.all()
            )
            assert sum(row.sales_count for row in days) == Sale.objects.count()
            assert sum(row.items_sold for row in days) == sum(
                line.quantity for line in SaleLine.objects.all()
            )
            assert sum(row.amount for row in DailyPayment.objects.all()) == sum(
                sale.total for sale in Sale.objects.all()
            )

        # each example leaves nothing behind for the next
        transaction.set_rollback(True)


def test_a_committed_checkout_and_refund_refresh_their_day(
    store_a, client_for, django_capture_on_commit_callbacks
):
    # given a store whose analytics were never rebuilt
    set_up_store(store_a, prices_include_tax=True)
    with tenant_context(store_a.store):
        coffee = ProductFactory(
            name="Coffee", price=Decimal("3.50"), tax_rate=Decimal("10"), stock="10"
        )

        # when two sales and a refund are made now, each committed (its callbacks run)
        with django_capture_on_commit_callbacks(execute=True) as sold:
            sale = sale_checkout(
                user=store_a.cashier,
                role="cashier",
                register_id=store_a.register.pk,
                lines=[LineInput(product_id=coffee.pk, quantity=Decimal("2"))],
                payments=[PaymentInput(method="cash", amount=Decimal("10.00"))],
            )
        with django_capture_on_commit_callbacks(execute=True):
            sale_checkout(
                user=store_a.cashier,
                role="cashier",
                register_id=store_a.register.pk,
                lines=[LineInput(product_id=coffee.pk, quantity=Decimal("1"))],
                payments=[PaymentInput(method="card", amount=Decimal("3.50"))],
            )
        with django_capture_on_commit_callbacks(execute=True):
            sale_refund(
                sale=sale,
                user=store_a.owner,
                lines=[
                    RefundLineInput(
                        line_id=SaleLine.objects.get(sale=sale).pk, quantity=Decimal("1")
                    )
                ],
                method="cash",
            )
        today = stores.clock.local_today(store_a.store)

    # then the summary of today shows them, with no rebuild asked for
    body = client_for(store_a.owner, store_a.store).get("/api/analytics/summary/").json()
    assert len(sold) == 2  # one refresh of the day, and the nudge of the sale's event
    assert (body["to"], body["sales_count"], body["revenue"], body["refunds"]) == (
        today.isoformat(),
        2,
        "10.50",
        "3.50",
    )
    assert body["by_day"][-1] == {
        "date": today.isoformat(),
        "sales_count": 2,
        "revenue": "10.50",
        "refunds": "3.50",
    }
    assert body["by_payment_method"] == [
        {"method": "cash", "amount": "7.00"},
        {"method": "card", "amount": "3.50"},
        {"method": "other", "amount": "0.00"},
    ]
    assert body["items_sold"] == "3.000"


# --- Tasks: each store's rebuild in its own schema, the nightly fan-out ---------------------


def test_rebuild_tasks_write_only_their_own_store(
    store_a, store_b, client_for, django_capture_on_commit_callbacks
):
    # given different sales in two stores, neither rebuilt
    three_days_of_sales(store_a, prices_include_tax=True)
    set_up_store(store_b, prices_include_tax=False, timezone="Europe/Berlin", currency="EUR")
    with tenant_context(store_b.store):
        tea = ProductFactory(name="Tea", price=Decimal("2.00"), tax_rate=Decimal("10"), stock="10")
        sell(store_b, utc("2026-03-10T09:00"), [(tea, "3")], [("card", "6.60")])

    # when store_a's rebuild job runs
    with tenant_context(store_a.store), django_capture_on_commit_callbacks(execute=True):
        job_a = analytics.tasks.analytics_rebuild_enqueue(
            date_from=None, date_to=None, user=store_a.owner
        )

    # then only store_a's tables were written
    with schema_context(store_a.store.schema_name):
        tables_a = analytics_tables()
        job_a_after = Job.objects.values_list("status", "result").get(pk=job_a.pk)
    with schema_context(store_b.store.schema_name):
        tables_b_before = analytics_tables()
        jobs_b_before = Job.objects.count()
    assert tables_a == EXPECTED_ROWS[True]
    assert job_a_after == ("succeeded", {"from": "2026-03-09", "to": "2026-03-11", "days": 3})
    assert tables_b_before == {"daily": [], "payments": [], "hourly": [], "products": []}
    assert jobs_b_before == 0

    # when store_b's runs
    with tenant_context(store_b.store), django_capture_on_commit_callbacks(execute=True):
        job_b = analytics.tasks.analytics_rebuild_enqueue(
            date_from=None, date_to=None, user=store_b.owner
        )

    # then only store_b's tables changed
    with schema_context(store_b.store.schema_name):
        tables_b = analytics_tables()
        job_b_after = Job.objects.values_list("status", "result").get(pk=job_b.pk)
    with schema_context(store_a.store.schema_name):
        assert analytics_tables() == tables_a
        assert Job.objects.count() == 1
    assert tables_b == {
        "daily": [(MARCH_10, 1, *money("6.60", "0.00", "3.000"))],
        "payments": [(MARCH_10, "card", Decimal("6.60"))],
        "hourly": [(MARCH_10, 10, 1, Decimal("6.60"))],
        "products": [(MARCH_10, tea.pk, *money("3.000", "6.60"))],
    }
    assert job_b_after == ("succeeded", {"from": "2026-03-10", "to": "2026-03-10", "days": 1})

    # and each store's summary shows only its own sales
    query = {"from": "2026-03-08", "to": "2026-03-12"}
    summary_a = client_for(store_a.owner, store_a.store).get("/api/analytics/summary/", query)
    summary_b = client_for(store_b.owner, store_b.store).get("/api/analytics/summary/", query)
    assert [
        (body["currency"], body["sales_count"], body["revenue"], body["refunds"])
        for body in (summary_a.json(), summary_b.json())
    ] == [("USD", 5, "32.60", "4.00"), ("EUR", 1, "6.60", "0.00")]
    assert [product["name"] for product in summary_b.json()["top_products"]] == ["Tea"]


@pytest.mark.usefixtures("committed_stores")
def test_the_nightly_rebuild_queues_one_job_per_active_store_in_its_schema(monkeypatch):
    # given two active stores on either side of the date line and an inactive one, committed
    # (the nightly task runs in a worker, outside any transaction), at 06:00 UTC on 12 March
    east = make_store(STORE_SCHEMAS[0], name="East", timezone="Pacific/Kiritimati")
    west = make_store(STORE_SCHEMAS[1], name="West", timezone="Pacific/Pago_Pago")
    make_store(STORE_SCHEMAS[2], name="Closed", is_active=False)
    monkeypatch.setattr(stores.clock, "now", lambda: GENERATED_AT)  # the stores' today
    sent: list[dict] = []

    def record(*args: object, **options: object) -> None:
        sent.append({"schema": connection.schema_name, "args": args, **options})

    monkeypatch.setattr(analytics.tasks.analytics_rebuild_job, "apply_async", record)

    # when, in public
    queued = analytics.tasks.analytics_nightly_rebuild()

    # then one job per active store, queued in its own schema: its yesterday and today
    jobs = {}
    for staffed in (east, west):
        with schema_context(staffed.store.schema_name):
            jobs[staffed.store.schema_name] = list(
                Job.objects.values_list("id", "kind", "status", "params", "requested_by")
            )
    with schema_context(STORE_SCHEMAS[2]):
        closed_jobs = Job.objects.count()
    east_days = {"date_from": "2026-03-11", "date_to": "2026-03-12"}  # UTC+14: 20:00, 12 March
    west_days = {"date_from": "2026-03-10", "date_to": "2026-03-11"}  # UTC−11: 19:00, 11 March
    assert queued == 2
    assert jobs == {
        STORE_SCHEMAS[0]: [(1, "analytics.rebuild", "queued", east_days, None)],
        STORE_SCHEMAS[1]: [(1, "analytics.rebuild", "queued", west_days, None)],
    }
    assert closed_jobs == 0
    assert [(call["schema"], call["args"], call["kwargs"]) for call in sent] == [
        (STORE_SCHEMAS[0], (), {**east_days, "job_id": 1}),
        (STORE_SCHEMAS[1], (), {**west_days, "job_id": 1}),
    ]
    window = django_settings.ANALYTICS_NIGHTLY_WINDOW_SECONDS
    assert [set(call) for call in sent] == [
        {"schema", "args", "kwargs", "countdown", "headers"}
    ] * 2
    # the task names its store itself, whatever the connection is set to when it is sent
    assert [call["headers"] for call in sent] == [{"_schema_name": call["schema"]} for call in sent]
    assert all(0 <= call["countdown"] < window for call in sent)
    assert connection.schema_name == "public"
