"""Server-side binding and prepared statements in session mode (the default): a statement a
connection runs often is prepared on it, never reads another store's tables for it, a batch stays
within a statement's parameter limit, and a connection whose prepared statements a migration made
stale is replaced."""

import psycopg
import pytest
from django.db import connection
from django.db.utils import NotSupportedError
from django_tenants.utils import tenant_context

from catalog.models import Product
from core.database.base import SERVER_BOUND_PARAMS
from customers.models import Customer
from tests.catalog.factories import ProductFactory

# The suite runs as deployed by default, in session mode with prepared statements on; with them
# turned off (DATABASE_PREPARED_STATEMENTS=false) these tests fail on their first assertion.
OPTIONS = connection.settings_dict["OPTIONS"]
THRESHOLD = OPTIONS.get("prepare_threshold") or 0


def test_the_connection_binds_in_the_server_and_prepares():
    assert OPTIONS.get("server_side_binding") is True
    assert THRESHOLD >= 1


def product_names() -> list[str]:
    return list(Product.objects.order_by("pk").values_list("name", flat=True))


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_catalog.pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_prepared_in_one_store_reads_the_next_stores_own_rows(store_a, store_b):
    # given each store with its own product
    with tenant_context(store_a.store):
        ProductFactory(name="Alpha bread")
    with tenant_context(store_b.store):
        ProductFactory(name="Beta cheese")

    # when one query runs past the threshold in store A, then in store B, on one connection
    with tenant_context(store_a.store):
        seen_in_a = [product_names() for _ in range(THRESHOLD + 2)]
    prepared = [text for text in prepared_statements() if '"catalog_product"' in text]
    with tenant_context(store_b.store):
        seen_in_b = [product_names() for _ in range(THRESHOLD + 2)]

    # then the statement was prepared in A, and B's runs of it read B's table
    assert len(prepared) == 1
    assert seen_in_a == [["Alpha bread"]] * (THRESHOLD + 2)
    assert seen_in_b == [["Beta cheese"]] * (THRESHOLD + 2)


def test_a_lookup_past_the_parameter_limit_goes_in_batches(store_a):
    # given more ids than one statement can bind, two of them customers of the store
    with tenant_context(store_a.store):
        first, second = (Customer.objects.create(name=name) for name in ("Ann", "Bo"))
        ids = [first.pk, *range(10**9, 10**9 + SERVER_BOUND_PARAMS), second.pk]

        # when
        found = Customer.objects.in_bulk(ids)

    # then
    assert sorted(found) == [first.pk, second.pk]


def test_a_batch_of_rows_fits_a_statements_parameter_limit():
    fields = [Customer._meta.get_field(name) for name in ("name", "phone", "email", "note")]

    assert connection.ops.bulk_batch_size(fields, range(100_000)) == SERVER_BOUND_PARAMS // 4


@pytest.fixture
def probe_table(transactional_db: None):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE public.kassa_stale_plan_probe (a integer)")
        cursor.execute("INSERT INTO public.kassa_stale_plan_probe VALUES (1)")
    yield "public.kassa_stale_plan_probe"
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE public.kassa_stale_plan_probe")


def test_a_connection_whose_prepared_statements_a_migration_made_stale_is_replaced(probe_table):
    # given a statement prepared on the connection
    def read() -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {probe_table} WHERE a > %s", [0])
            return cursor.fetchall()

    for _ in range(THRESHOLD + 1):
        read()
    first = connection.connection

    # when another connection changes the columns it returns (as a migration would)
    params = connection.get_connection_params()
    place = {
        key: params[key] for key in ("dbname", "host", "port", "user", "password") if key in params
    }
    with psycopg.connect(**place, autocommit=True) as other:
        other.execute(f"ALTER TABLE {probe_table} ADD COLUMN b integer")
    with pytest.raises(NotSupportedError, match="cached plan must not change result type"):
        read()
    # and the request or task ends
    connection.close_if_unusable_or_obsolete()

    # then the next one runs on a fresh connection, where the statement reads both columns
    assert connection.connection is None
    assert read() == [(1, None)]
    assert connection.connection is not first
