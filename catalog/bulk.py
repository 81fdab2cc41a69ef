"""Writes of many products at once (imports): the rules of `catalog.services`, a few statements a
batch. Stock still changes only through `stock_apply`; events are the caller's to write, last."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils.timezone import now

from catalog.changes import versions_take
from catalog.models import PriceChange, Product
from core.database.bulk import rows_insert, rows_update

# The fields an import may set; stock is not one (a count movement sets it).
WRITABLE = (
    "name",
    "sku",
    "barcode",
    "category_id",
    "price",
    "cost",
    "tax_rate",
    "reorder_level",
    "is_active",
)


def products_write(
    *, created: Sequence[Product], updated: Sequence[tuple[Product, Mapping[str, Any]]]
) -> None:
    """Insert `created`, and apply to each product of `updated` (locked by the caller) its
    changes; each takes its change number, and each new price its place in the price history.

    Validation is the caller's (an import checks every cell with the API's fields, and the
    uniqueness of codes over the whole file): the table's constraints are the last word.
    """
    if not created and not updated:
        return
    unknown = {field for _, changes in updated for field in changes} - set(WRITABLE)
    if unknown:
        raise ValueError(f"Not writable in bulk: {sorted(unknown)}")
    moment = now()
    with transaction.atomic(savepoint=False):
        versions = iter(versions_take(len(created) + len(updated)))
        history: list[PriceChange] = []
        for product in created:
            product.version = next(versions)
            product.created_at = product.price_changed_at = moment
        rows_insert(created)
        history.extend(
            PriceChange(product=product, price=product.price, changed_at=moment)
            for product in created
        )
        fields: set[str] = set()
        for product, changes in updated:
            if "price" in changes and changes["price"] != product.price:
                if product.price_changed_at is None:  # from before price history: its price so far
                    history.append(
                        PriceChange(
                            product=product, price=product.price, changed_at=product.created_at
                        )
                    )
                history.append(
                    PriceChange(product=product, price=changes["price"], changed_at=moment)
                )
                product.price_changed_at = moment
                fields.add("price_changed_at")
            for field, value in changes.items():
                setattr(product, field, value)
            fields.update(changes)
            product.version = next(versions)
            product.updated_at = moment
        rows_update(
            [product for product, _ in updated], fields=sorted({*fields, "version", "updated_at"})
        )
        rows_insert(history)
