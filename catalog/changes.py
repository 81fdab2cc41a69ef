"""The catalog's changes, for tills that keep a copy of it: numbered, and never missed.

Every change of a product or category (and every deletion) takes the catalog's next change
number in its own transaction, from a counter row that stays locked until that transaction
commits. So numbers become visible in their own order: once a reader sees number n, every
smaller number is committed (or rolled back, never to appear). A reader that asks for the
changes after the last number it has therefore never misses one, however the writes interleave
with its pages. A row changed again shows up again, at its newer number: a till keeps the last
copy it got. Stock is not part of it: sales change it all day; tills read it live.
"""

import base64
import binascii
import json
from dataclasses import dataclass

from django.db import connection

from catalog.models import CatalogCounter, CatalogDeletion, Category, Product

COUNTER = "catalog"
CURSOR_VERSION = 1


class InvalidCursor(ValueError):
    """A cursor this API did not make."""


def versions_take(count: int = 1) -> list[int]:
    """The next `count` change numbers, for the caller's transaction; the counter stays locked
    until it commits. Take them last, just before the rows are written."""
    table = CatalogCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, value) VALUES (%s, %s) ON CONFLICT (name) "  # noqa: S608
            f"DO UPDATE SET value = {table}.value + EXCLUDED.value RETURNING value",
            [COUNTER, count],
        )
        last = cursor.fetchone()[0]
    return list(range(last - count + 1, last + 1))


def cursor_encode(version: int) -> str:
    raw = json.dumps({"v": CURSOR_VERSION, "n": version}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> int:
    """The change number a cursor stands for; InvalidCursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
        number = document["n"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as error:
        raise InvalidCursor from error
    if document.get("v") != CURSOR_VERSION or not isinstance(number, int) or number < 0:
        raise InvalidCursor
    if number > 2**63 - 1:
        raise InvalidCursor
    return number


@dataclass
class Changes:
    products: list[Product]
    categories: list[Category]
    deleted_products: list[int]
    deleted_categories: list[int]
    version: int
    has_more: bool


def _all_numbered(version: int) -> list[tuple[int, str, object]]:
    """Every change with the number `version`, as `changes_since` merges them."""
    return [
        *((version, "product", product) for product in Product.objects.filter(version=version)),
        *((version, "category", category) for category in Category.objects.filter(version=version)),
        *(
            (version, f"deleted_{kind}", object_id)
            for kind, object_id in CatalogDeletion.objects.filter(version=version).values_list(
                "kind", "object_id"
            )
        ),
    ]


def changes_since(*, version: int, limit: int) -> Changes:
    """Up to `limit` changes after `version`, oldest first, and the number to ask from next.

    The counter is read first: every number up to its committed value `upper` is committed
    (or rolled back for good), so each kind's query, though each sees a later snapshot of its
    own, finds the same changes in (`version`, `upper`]. A row changed again after `upper`
    is left for the next call, at its newer number; nothing in between can be skipped by a
    cursor that never passes `upper`. One query when nothing changed since a cursor; else
    four, whatever the catalog's size (each kind's changes, `limit`+1 at most, merged)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT value FROM {CatalogCounter._meta.db_table} WHERE name = %s",  # noqa: S608
            [COUNTER],
        )
        row = cursor.fetchone()
    upper = 0 if row is None else row[0]
    # Without a cursor (-1), everything: rows from before change numbers (0) included.
    if upper <= version:
        return Changes([], [], [], [], version, has_more=False)
    window = {"version__gt": version, "version__lte": upper}
    products = list(Product.objects.filter(**window).order_by("version")[: limit + 1])
    categories = list(Category.objects.filter(**window).order_by("version")[: limit + 1])
    deletions = list(
        CatalogDeletion.objects.filter(**window)
        .order_by("version")
        .values_list("version", "kind", "object_id")[: limit + 1]
    )
    merged = sorted(
        [(product.version, "product", product) for product in products]
        + [(category.version, "category", category) for category in categories]
        + [(number, f"deleted_{kind}", object_id) for number, kind, object_id in deletions],
        key=lambda entry: entry[0],
    )
    page, has_more = merged[:limit], len(merged) > limit
    if has_more and merged[limit][0] == page[-1][0]:
        # Numbers are unique but for rows written without one (0: tests' factories; the
        # migration numbers a deployment's): a page never ends inside a number, or the rest
        # of it would be skipped. It ends before it, or holds all of it.
        tied = page[-1][0]
        page = [entry for entry in page if entry[0] < tied] or _all_numbered(tied)
    return Changes(
        products=[item for _, kind, item in page if kind == "product"],
        categories=[item for _, kind, item in page if kind == "category"],
        deleted_products=[item for _, kind, item in page if kind == "deleted_product"],
        deleted_categories=[item for _, kind, item in page if kind == "deleted_category"],
        # A page cut short goes on after its last change; a whole one, after `upper`.
        version=page[-1][0] if has_more else upper,
        has_more=has_more,
    )
