"""Server-side prepared statements in session mode (the default): a statement a connection runs
often is prepared on it, and never reads another store's tables for it."""

from django.db import connection
from django_tenants.utils import tenant_context

from catalog.models import Product
from tests.catalog.factories import ProductFactory

THRESHOLD = connection.settings_dict["OPTIONS"]["prepare_threshold"]


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
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
    assert len(prepared) == 1
    assert seen_in_a == [["Alpha bread"]] * (THRESHOLD + 2)
    assert seen_in_b == [["Beta cheese"]] * (THRESHOLD + 2)
