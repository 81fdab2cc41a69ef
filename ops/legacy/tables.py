"""The legacy tables in `public`: which exist, with which columns, and their rows."""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import connection

from stores.models import Store


@dataclass(frozen=True)
class LegacyShape:
    required: tuple[str, ...]
    optional: tuple[str, ...]


SHAPES: Mapping[str, LegacyShape] = {
    "products_product": LegacyShape(
        ("id", "store_id", "name", "price"),
        ("sku", "barcode", "cost", "tax_rate", "stock", "is_active", "created_at"),
    ),
    "customers_customer": LegacyShape(
        ("id", "store_id", "name"), ("phone", "email", "note", "created_at")
    ),
    "sales_sale": LegacyShape(
        ("id", "store_id", "total"), ("customer_id", "payment_method", "created_at")
    ),
    "sales_saleitem": LegacyShape(
        ("id", "sale_id", "product_id", "quantity", "price"), ("total", "tax_rate", "tax_amount")
    ),
}
STORE_TABLES = ("products_product", "customers_customer", "sales_sale")


class LegacyShapeError(Exception):
    """A legacy table lacks a column this adoption needs."""


def legacy_tables() -> dict[str, frozenset[str]]:
    """The legacy tables present in `public`, with their columns; checks the required ones."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = ANY(%s)",
            [list(SHAPES)],
        )
        found: dict[str, set[str]] = defaultdict(set)
        for table, column in cursor.fetchall():
            found[table].add(column)
    for table, columns in found.items():
        missing = [column for column in SHAPES[table].required if column not in columns]
        if missing:
            raise LegacyShapeError(f"public.{table} has no column {', '.join(missing)}.")
    return {table: frozenset(found[table]) for table in SHAPES if table in found}


def rows_where(
    *, tables: Mapping[str, frozenset[str]], table: str, where: str, params: list[object]
) -> list[dict[str, object]]:
    """The table's rows matching `where` (about `t`), by id; absent columns read as None."""
    if table not in tables:
        return []
    shape = SHAPES[table]
    columns = [name for name in (*shape.required, *shape.optional) if name in tables[table]]
    select = ", ".join(f"t.{connection.ops.quote_name(name)}" for name in columns)
    with connection.cursor() as cursor:
        # Table and column names come from SHAPES only, never from the data.
        cursor.execute(
            f"SELECT {select} FROM public.{table} AS t WHERE {where} ORDER BY t.id",  # noqa: S608
            params,
        )
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def stores_with_rows(tables: Mapping[str, frozenset[str]]) -> list[Store]:
    store_ids: set[int] = set()
    with connection.cursor() as cursor:
        for table in STORE_TABLES:
            if table in tables:
                cursor.execute(f"SELECT DISTINCT store_id FROM public.{table}")  # noqa: S608
                store_ids.update(row[0] for row in cursor.fetchall() if row[0] is not None)
    return list(Store.objects.filter(pk__in=store_ids).order_by("pk"))


def no_store_rows(tables: Mapping[str, frozenset[str]]) -> list[str]:
    """Rows of no existing store, and items of no such store's sale, one line each."""
    orphan = "NOT EXISTS (SELECT 1 FROM public.stores_store AS st WHERE st.id = t.store_id)"
    lines = [
        f"{table} {row['id']}: store_id {row['store_id']} matches no store"
        for table in STORE_TABLES
        for row in rows_where(tables=tables, table=table, where=orphan, params=[])
    ]
    where = "TRUE"
    if "sales_sale" in tables:
        where = (
            "NOT EXISTS (SELECT 1 FROM public.sales_sale AS s JOIN public.stores_store AS st "
            "ON st.id = s.store_id WHERE s.id = t.sale_id)"
        )
    lines.extend(
        f"sales_saleitem {row['id']}: sale {row['sale_id']} is no sale of any store"
        for row in rows_where(tables=tables, table="sales_saleitem", where=where, params=[])
    )
    return lines
