"""Tests of `adopt_legacy_data`: legacy rows in `public` moved into their stores' schemas."""

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Sum
from django_tenants.utils import schema_context

from analytics.models import DailySales
from catalog.models import Product, StockMovement
from customers.models import Customer
from ops.legacy import ADOPTED_NOTE, MARK_TABLE
from sales.models import Counter, Register, Sale, Shift
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, make_store
from tests.factories import StoreFactory

ALPHA, BETA = STORE_SCHEMAS[0], STORE_SCHEMAS[1]
NO_STORE = 999_999

DDL = {
    "products_product": (
        "id integer PRIMARY KEY, store_id integer, name varchar(200), sku varchar(64), "
        "barcode varchar(64), price {price}, cost numeric(10, 2), tax_rate numeric(5, 2), "
        "stock integer, is_active boolean, created_at timestamptz"
    ),
    "customers_customer": (
        "id integer PRIMARY KEY, store_id integer, name varchar(200), phone varchar(32), "
        "email varchar(254), created_at timestamptz"
    ),
    "sales_sale": (
        "id integer PRIMARY KEY, store_id integer, customer_id integer, total numeric(10, 2), "
        "created_at timestamptz, payment_method varchar(20)"
    ),
    "sales_saleitem": (
        "id integer PRIMARY KEY, sale_id integer, product_id integer, quantity integer, "
        "price numeric(10, 2), total numeric(10, 2)"
    ),
}

Legacy = Callable[..., None]


def _drop_legacy() -> None:
    with connection.cursor() as cursor:
        for table in DDL:
            cursor.execute(f"DROP TABLE IF EXISTS public.{table}")
        for schema_name in STORE_SCHEMAS:
            cursor.execute(f'DROP TABLE IF EXISTS "{schema_name}".{MARK_TABLE}')


@pytest.fixture
def legacy(committed_stores: None) -> Iterator[Legacy]:
    """`legacy(table, *rows, columns=None, price="numeric(10, 2)")`: a public legacy table.

    The public schema is shared by the whole run, so the tables (and the stores' bookkeeping
    tables, which committed_stores would only empty) are dropped whatever the test's outcome.
    """
    _drop_legacy()

    def create(
        table: str, *rows: dict, columns: str | None = None, price: str = "numeric(10, 2)"
    ) -> None:
        with connection.cursor() as cursor:
            definition = columns or DDL[table].format(price=price)
            cursor.execute(f"CREATE TABLE IF NOT EXISTS public.{table} ({definition})")
            for row in rows:
                cursor.execute(
                    f"INSERT INTO public.{table} ({', '.join(row)}) "
                    f"VALUES ({', '.join(['%s'] * len(row))})",
                    list(row.values()),
                )

    try:
        yield create
    finally:
        connection.set_schema_to_public()
        _drop_legacy()


@pytest.fixture
def alpha(committed_stores: None) -> StoreWithStaff:
    return make_store(ALPHA, slug="alpha", name="Alpha")


@pytest.fixture
def beta(committed_stores: None) -> StoreWithStaff:
    return make_store(BETA, slug="beta", name="Beta")


def adopt(*args: str) -> str:
    output = StringIO()
    call_command("adopt_legacy_data", *args, stdout=output)
    return output.getvalue()


def adopt_failing(*args: str) -> tuple[str, CommandError]:
    output = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("adopt_legacy_data", *args, stdout=output)
    return output.getvalue(), failure.value


def moment(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 11, day, hour, tzinfo=UTC)


def legacy_rows(legacy: Legacy, *, alpha_id: int, beta_id: int) -> None:
    """Two stores' products, customers and sales, and rows of no store."""
    legacy(
        "products_product",
        {"id": 10, "store_id": alpha_id, "name": "Coffee", "sku": "C-1", "price": "2.50",
         "cost": "1.00", "tax_rate": "7.00", "stock": 40, "is_active": True,
         "created_at": moment(1, 8)},
        {"id": 11, "store_id": alpha_id, "name": "Tea", "sku": "", "price": "1.80", "stock": 0},
        {"id": 12, "store_id": alpha_id, "name": "Mug", "barcode": "4000", "price": "9.99",
         "stock": 5, "is_active": False},
        {"id": 13, "store_id": beta_id, "name": "Bread", "sku": "C-1", "price": "3.20",
         "stock": 7},
        {"id": 14, "store_id": NO_STORE, "name": "Ghost", "price": "1.00", "stock": 1},
    )  # fmt: skip
    legacy(
        "customers_customer",
        {"id": 20, "store_id": alpha_id, "name": "Anna", "phone": "+49 30 1234",
         "email": "anna@example.com"},
    )  # fmt: skip
    legacy(
        "sales_sale",
        {"id": 30, "store_id": alpha_id, "customer_id": 20, "total": "6.80",
         "created_at": moment(1), "payment_method": "card"},
        {"id": 31, "store_id": alpha_id, "total": "9.99", "created_at": moment(2),
         "payment_method": "bitcoin"},
        # An item of a product the legacy system no longer has: the sale stays behind.
        {"id": 32, "store_id": alpha_id, "total": "3.00", "created_at": moment(2)},
        {"id": 33, "store_id": beta_id, "total": "3.20", "created_at": moment(3),
         "payment_method": "cash"},
        # Alpha's product on a sale of beta's: unknown in beta.
        {"id": 34, "store_id": beta_id, "total": "2.50", "created_at": moment(3)},
        {"id": 35, "store_id": NO_STORE, "total": "1.00", "created_at": moment(3)},
    )  # fmt: skip
    legacy(
        "sales_saleitem",
        {"id": 300, "sale_id": 30, "product_id": 10, "quantity": 2, "price": "2.50",
         "total": "5.00"},
        {"id": 301, "sale_id": 30, "product_id": 11, "quantity": 1, "price": "1.80",
         "total": "1.80"},
        {"id": 310, "sale_id": 31, "product_id": 12, "quantity": 1, "price": "9.99",
         "total": "9.99"},
        {"id": 320, "sale_id": 32, "product_id": 999, "quantity": 1, "price": "3.00",
         "total": "3.00"},
        {"id": 330, "sale_id": 33, "product_id": 13, "quantity": 1, "price": "3.20",
         "total": "3.20"},
        {"id": 340, "sale_id": 34, "product_id": 10, "quantity": 1, "price": "2.50",
         "total": "2.50"},
        {"id": 350, "sale_id": 35, "product_id": 14, "quantity": 1, "price": "1.00",
         "total": "1.00"},
        {"id": 351, "sale_id": 777, "product_id": 10, "quantity": 1, "price": "2.50",
         "total": "2.50"},
    )  # fmt: skip


def ledger_holds() -> bool:
    """Every product's movements sum to its stock (in the active schema)."""
    return all(
        (product.movements.aggregate(total=Sum("delta"))["total"] or 0) == product.stock
        for product in Product.objects.all()
    )


def store_counts(schema_name: str) -> dict[str, int]:
    with schema_context(schema_name):
        return {
            "products": Product.objects.count(),
            "movements": StockMovement.objects.count(),
            "customers": Customer.objects.count(),
            "sales": Sale.objects.count(),
            "shifts": Shift.objects.count(),
            "counter": Counter.objects.filter(name="sale").values_list("value", flat=True).first(),
        }


def mark_table_exists(schema_name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f'"{schema_name}".{MARK_TABLE}'])
        return cursor.fetchone()[0] is not None


def legacy_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM public.{table}")
        return cursor.fetchone()[0]


def test_each_store_gets_its_rows_with_ids_of_its_own(
    legacy: Legacy, alpha: StoreWithStaff, beta: StoreWithStaff
) -> None:
    # given two stores' legacy rows and rows of no store; alpha has sold 5 times in Kassa
    legacy_rows(legacy, alpha_id=alpha.store.pk, beta_id=beta.store.pk)
    with schema_context(ALPHA):
        Counter.objects.create(name="sale", value=5)

    # when
    output = adopt()

    # then alpha's rows are in alpha, numbered from 1, with their stock as a ledger entry
    with schema_context(ALPHA):
        assert list(
            Product.objects.order_by("pk").values_list(
                "pk", "name", "sku", "barcode", "price", "cost", "tax_rate", "stock", "is_active"
            )
        ) == [
            (1, "Coffee", "C-1", None, Decimal("2.50"), Decimal("1.00"), Decimal("7.00"),
             Decimal("40.000"), True),
            (2, "Tea", None, None, Decimal("1.80"), Decimal("0.00"), Decimal("0.00"),
             Decimal("0.000"), True),
            (3, "Mug", None, "4000", Decimal("9.99"), Decimal("0.00"), Decimal("0.00"),
             Decimal("5.000"), False),
        ]  # fmt: skip
        assert Product.objects.get(pk=1).created_at == moment(1, 8)
        assert list(
            StockMovement.objects.order_by("product_id").values_list(
                "product_id", "delta", "reason", "note", "sale_id"
            )
        ) == [
            (1, Decimal("40.000"), "other", ADOPTED_NOTE, None),
            (3, Decimal("5.000"), "other", ADOPTED_NOTE, None),
        ]
        assert ledger_holds()
        anna = Customer.objects.get()
        assert (anna.pk, anna.name, anna.phone, anna.email) == (
            1, "Anna", "+49 30 1234", "anna@example.com"
        )  # fmt: skip
        # the customer's figures include the adopted sale
        assert (anna.total_spent, anna.visits, anna.last_purchase_at) == (
            Decimal("6.80"), 1, moment(1)
        )  # fmt: skip

        # the sales continue the store's numbers, on one closed shift of its register
        sales = list(Sale.objects.order_by("number"))
        assert [(sale.number, sale.customer_id, sale.total, sale.created_at) for sale in sales] == [
            (6, 1, Decimal("6.80"), moment(1)),
            (7, None, Decimal("9.99"), moment(2)),
        ]
        assert Counter.objects.get(name="sale").value == 7
        assert [
            list(sale.lines.order_by("pk").values_list("product_id", "name", "quantity", "total"))
            for sale in sales
        ] == [
            [(1, "Coffee", Decimal("2.000"), Decimal("5.00")),
             (2, "Tea", Decimal("1.000"), Decimal("1.80"))],
            [(3, "Mug", Decimal("1.000"), Decimal("9.99"))],
        ]  # fmt: skip
        assert [list(sale.payments.values_list("method", "amount")) for sale in sales] == [
            [("card", Decimal("6.80"))],
            [("other", Decimal("9.99"))],
        ]
        assert {(sale.tax_total, sale.subtotal, sale.paid_total) for sale in sales} == {
            (Decimal("0.00"), Decimal("6.80"), Decimal("6.80")),
            (Decimal("0.00"), Decimal("9.99"), Decimal("9.99")),
        }
        shift = Shift.objects.get()
        assert (shift.status, shift.register_id, shift.sales_count, shift.opened_by_id) == (
            Shift.Status.CLOSED, alpha.register.pk, 2, alpha.owner.pk
        )  # fmt: skip
        assert {sale.shift_id for sale in sales} == {shift.pk}
        assert {sale.cashier_id for sale in sales} == {alpha.owner.pk}
        # the sales took no stock: the legacy stock is already net of them
        assert Product.objects.get(pk=1).stock == Decimal("40.000")
        # the adopted days are in the store's analytics
        assert list(DailySales.objects.order_by("date").values_list("date", "sales_count")) == [
            (date(2025, 11, 1), 1),
            (date(2025, 11, 2), 1),
        ]

    # and beta's rows are in beta, from id 1 and number 1 (the same sku is fine in another store)
    with schema_context(BETA):
        assert list(Product.objects.values_list("pk", "name", "sku", "stock")) == [
            (1, "Bread", "C-1", Decimal("7.000"))
        ]
        assert ledger_holds()
        assert list(Sale.objects.values_list("number", "total")) == [(1, Decimal("3.20"))]
        assert list(Sale.objects.get().payments.values_list("method", "amount")) == [
            ("cash", Decimal("3.20"))
        ]

    # and the report says what moved, what did not, and that nothing was deleted
    assert (
        "alpha (tenant_test_alpha): moved 3 products, 2 stock movements, 1 customer, 2 sales, "
        "3 sale items, 2 payments" in output
    )
    assert (
        "  not moved: sales_saleitem 320: product 999 is unknown, so its sale 32 is not moved"
        in output
    )
    assert "beta (tenant_test_beta): moved 1 product, 1 stock movement, 1 sale" in output
    assert "  not moved: sales_saleitem 340: product 10 is unknown, so its sale 34" in output
    assert "no store: 4 row(s) not moved" in output
    assert f"  not moved: products_product 14: store_id {NO_STORE} matches no store" in output
    assert f"  not moved: sales_sale 35: store_id {NO_STORE} matches no store" in output
    assert "  not moved: sales_saleitem 350: sale 35 is no sale of any store" in output
    assert "  not moved: sales_saleitem 351: sale 777 is no sale of any store" in output
    assert "never deleted" in output
    assert "2 store(s), 0 failed." in output
    assert legacy_count("products_product") == 5
    assert legacy_count("sales_saleitem") == 8


def test_a_second_run_moves_nothing_and_a_later_one_only_new_rows(
    legacy: Legacy, alpha: StoreWithStaff, beta: StoreWithStaff
) -> None:
    # given everything adopted once
    legacy_rows(legacy, alpha_id=alpha.store.pk, beta_id=beta.store.pk)
    adopt()
    before = {schema: store_counts(schema) for schema in (ALPHA, BETA)}

    # when run again
    output = adopt()

    # then nothing moves, and the report says so
    assert {schema: store_counts(schema) for schema in (ALPHA, BETA)} == before
    assert "alpha (tenant_test_alpha): nothing new to adopt, nothing moved" in output
    assert "  already adopted, skipped: 3 products, 1 customer, 2 sales, 3 sale items" in output
    assert "beta (tenant_test_beta): nothing new to adopt, nothing moved" in output

    # when the legacy system recorded one more sale of an adopted product meanwhile
    legacy(
        "sales_sale",
        {"id": 36, "store_id": alpha.store.pk, "total": "2.50", "created_at": moment(4)},
    )
    legacy(
        "sales_saleitem",
        {"id": 360, "sale_id": 36, "product_id": 10, "quantity": 1, "price": "2.50"},
    )
    output = adopt("--store", "alpha")

    # then only it moves, onto the product adopted before, numbered next
    assert "alpha (tenant_test_alpha): moved 1 sale, 1 sale item, 1 payment" in output
    with schema_context(ALPHA):
        sale = Sale.objects.get(number=3)
        assert list(sale.lines.values_list("product_id", "total")) == [(1, Decimal("2.50"))]
        assert Shift.objects.count() == 2
        assert Product.objects.count() == 3
        assert ledger_holds()


def test_dry_run_reports_the_same_and_writes_nothing(
    legacy: Legacy, alpha: StoreWithStaff, beta: StoreWithStaff
) -> None:
    # given
    legacy_rows(legacy, alpha_id=alpha.store.pk, beta_id=beta.store.pk)
    empty = {schema: store_counts(schema) for schema in (ALPHA, BETA)}

    # when
    output = adopt("--dry-run")

    # then the report is the real run's, and no store has anything
    assert "Dry run" in output
    assert (
        "alpha (tenant_test_alpha): would move 3 products, 2 stock movements, 1 customer, "
        "2 sales, 3 sale items, 2 payments" in output
    )
    assert "no store: 4 row(s) not moved" in output
    assert {schema: store_counts(schema) for schema in (ALPHA, BETA)} == empty
    assert empty[ALPHA] == {
        "products": 0, "movements": 0, "customers": 0, "sales": 0, "shifts": 0, "counter": None
    }  # fmt: skip
    assert not mark_table_exists(ALPHA)
    assert not mark_table_exists(BETA)

    # and the real run then does what the dry run said
    assert "alpha (tenant_test_alpha): moved 3 products, 2 stock movements" in adopt()


def test_a_malformed_row_moves_nothing_for_its_store_and_the_others_go_on(
    legacy: Legacy, alpha: StoreWithStaff, beta: StoreWithStaff
) -> None:
    # given alpha's legacy rows with a price that is no number, a nameless customer, a negative
    # stock and a sale whose total is not its items'; beta's rows are fine
    legacy(
        "products_product",
        {"id": 10, "store_id": alpha.store.pk, "name": "Coffee", "price": "2.50", "stock": 3},
        {"id": 11, "store_id": alpha.store.pk, "name": "Tea", "price": "abc"},
        {"id": 12, "store_id": alpha.store.pk, "name": "Mug", "price": "9.99", "stock": -2},
        {"id": 13, "store_id": beta.store.pk, "name": "Bread", "price": "3.20", "stock": 7},
        price="text",
    )
    legacy(
        "customers_customer",
        {"id": 20, "store_id": alpha.store.pk, "name": None},
        {"id": 21, "store_id": beta.store.pk, "name": "Ben"},
    )
    legacy(
        "sales_sale",
        {"id": 30, "store_id": alpha.store.pk, "total": "99.00"},
        {"id": 33, "store_id": beta.store.pk, "customer_id": 21, "total": "3.20"},
    )
    legacy(
        "sales_saleitem",
        {"id": 300, "sale_id": 30, "product_id": 10, "quantity": 1, "price": "2.50"},
        {"id": 330, "sale_id": 33, "product_id": 13, "quantity": 1, "price": "3.20"},
    )

    # when
    output, failure = adopt_failing()

    # then the command fails, listing every malformed row of alpha
    assert failure.returncode == 1
    assert "alpha" in str(failure)
    assert "alpha (tenant_test_alpha): FAILED, nothing moved (4 problems)" in output
    assert "  malformed: products_product 11: price 'abc' is not a number" in output
    assert (
        "  malformed: products_product 12: stock -2.000 is below 0, which the store does not "
        "allow" in output
    )
    assert "  malformed: customers_customer 20: name is missing" in output
    assert (
        "  malformed: sales_sale 30: total 99.00 is not the sum of its items' totals 2.50" in output
    )
    assert "2 store(s), 1 failed." in output
    # and alpha has nothing at all, not even its bookkeeping table
    assert store_counts(ALPHA) == {
        "products": 0, "movements": 0, "customers": 0, "sales": 0, "shifts": 0, "counter": None
    }  # fmt: skip
    assert not mark_table_exists(ALPHA)
    # and beta has its rows
    assert "beta (tenant_test_beta): moved 1 product, 1 stock movement, 1 customer, 1 sale" in (
        output
    )
    assert store_counts(BETA) == {
        "products": 1, "movements": 1, "customers": 1, "sales": 1, "shifts": 1, "counter": 1
    }  # fmt: skip
    with schema_context(BETA):
        assert Customer.objects.get().visits == 1


def test_a_store_failing_in_the_database_is_reported_and_the_others_go_on(
    legacy: Legacy, committed_stores: None
) -> None:
    # given a store whose schema was never made (created first: adopted first), and beta
    broken = StoreFactory(slug="broken", schema_name="tenant_test_never_made")
    beta = make_store(BETA, slug="beta", name="Beta")
    legacy(
        "products_product",
        {"id": 1, "store_id": broken.pk, "name": "Lost", "price": "1.00"},
        {"id": 2, "store_id": beta.store.pk, "name": "Bread", "price": "3.20", "stock": 7},
    )

    # when
    output, failure = adopt_failing()

    # then the broken store fails with the database's error, and beta is adopted after it
    assert failure.returncode == 1
    assert "broken (tenant_test_never_made): FAILED, nothing moved (1 problem)" in output
    assert "  error: SchemaMissing: The schema 'tenant_test_never_made' does not exist." in output
    assert "beta (tenant_test_beta): moved 1 product, 1 stock movement" in output
    assert store_counts(BETA)["products"] == 1


def test_store_option_adopts_that_store_only(
    legacy: Legacy, alpha: StoreWithStaff, beta: StoreWithStaff
) -> None:
    # given
    legacy_rows(legacy, alpha_id=alpha.store.pk, beta_id=beta.store.pk)

    # when
    output = adopt("--store", "beta")

    # then only beta moved; other stores' rows and rows of no store are not its business
    assert "beta (tenant_test_beta): moved 1 product" in output
    assert "alpha" not in output
    assert "no store" not in output
    assert store_counts(ALPHA)["products"] == 0
    assert store_counts(BETA)["products"] == 1

    # and an unknown slug is refused before anything
    _, failure = adopt_failing("--store", "gamma")
    assert str(failure) == "No store has the slug 'gamma'."


def test_missing_tables_and_columns_are_skipped_or_defaulted(
    legacy: Legacy, alpha: StoreWithStaff
) -> None:
    # given no legacy table at all
    output = adopt()

    # then there is nothing to do, and that is no failure
    assert "No legacy tables in public" in output

    # given only a customers table, with only the required columns
    legacy(
        "customers_customer",
        {"id": 20, "store_id": alpha.store.pk, "name": "Anna"},
        columns="id integer PRIMARY KEY, store_id integer, name text",
    )

    # when
    output = adopt()

    # then the customers move with defaults, and the missing tables are named
    assert (
        "Legacy tables not found, skipped: products_product, sales_sale, sales_saleitem." in output
    )
    assert "alpha (tenant_test_alpha): moved 1 customer" in output
    with schema_context(ALPHA):
        assert list(Customer.objects.values_list("pk", "name", "phone", "email")) == [
            (1, "Anna", "", "")
        ]
        assert list(Register.objects.values_list("name", flat=True)) == ["Main register"]


def test_a_table_without_a_required_column_stops_the_run(
    legacy: Legacy, alpha: StoreWithStaff
) -> None:
    # given a products table without prices
    legacy(
        "products_product",
        {"id": 10, "store_id": alpha.store.pk, "name": "Coffee"},
        columns="id integer PRIMARY KEY, store_id integer, name text",
    )

    # when
    _, failure = adopt_failing()

    # then nothing is read nor written
    assert str(failure) == (
        "public.products_product has no column price. Nothing was read nor written."
    )
    assert store_counts(ALPHA)["products"] == 0
