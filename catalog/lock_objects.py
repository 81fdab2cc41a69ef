"""Querysets of the catalog that take row locks, always in primary-key order (no deadlocks)."""

from collections.abc import Iterable

from django.db.models import QuerySet

from catalog.models import Product


def products_for_update(*, product_ids: Iterable[int]) -> QuerySet[Product]:
    return Product.objects.filter(pk__in=list(product_ids)).order_by("pk").select_for_update()
