"""Row locks of the catalog, always taken in primary-key order (no deadlocks)."""

from collections.abc import Iterable
from functools import cache

from django.db import connection
from django.db.transaction import TransactionManagementError

from catalog.models import Product


@cache
def _lock_statement() -> tuple[str, tuple[str, ...]]:
    """The statement locking products and reading every column, and the columns' attributes,
    worked out once a process: the checkout locks its products on every sale, and compiling an
    ORM query for it cost more than the lock itself."""
    fields = Product._meta.concrete_fields
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(Product._meta.db_table)
    pk = connection.ops.quote_name(Product._meta.pk.column)
    return (
        f"SELECT {columns} FROM {table} WHERE {pk} = ANY(%s::bigint[]) "  # noqa: S608 - our names
        f"ORDER BY {pk} FOR UPDATE",
        tuple(field.attname for field in fields),
    )


def products_for_update(*, product_ids: Iterable[int]) -> list[Product]:
    """The products of `product_ids` that exist, locked FOR UPDATE in pk order, every field
    loaded (no column of theirs makes a query later). Inside a transaction only, which holds
    the locks, as Django's `select_for_update` insists."""
    if connection.get_autocommit():
        raise TransactionManagementError("Products are locked inside a transaction only.")
    statement, attributes = _lock_statement()
    with connection.cursor() as cursor:
        cursor.execute(statement, [sorted(product_ids)])
        rows = cursor.fetchall()
    return [Product.from_db(connection.alias, attributes, row) for row in rows]
