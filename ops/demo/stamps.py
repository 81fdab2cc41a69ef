"""Backdating a demo store's history: the moments things happened, written over `now()`."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, DateTimeField, QuerySet, Value, When

from catalog.models import StockMovement
from sales.models import Refund, Sale


def stamp(queryset: QuerySet, key: str, moments: Mapping[int, datetime]) -> None:
    """Set `created_at` of the rows whose `key` is in `moments` to its moment, in one UPDATE."""
    if moments:
        queryset.filter(**{f"{key}__in": list(moments)}).update(
            created_at=Case(
                *(When(**{key: pk}, then=Value(moment)) for pk, moment in moments.items()),
                output_field=DateTimeField(),
            )
        )


@dataclass
class Stamps:
    """When things happened, written over the services' `now()` once their day is done."""

    sales: dict[int, datetime] = field(default_factory=dict)
    refunds: dict[int, datetime] = field(default_factory=dict)
    restocks: dict[int, datetime] = field(default_factory=dict)

    def write(self) -> None:
        stamp(Sale.objects.all(), "pk", self.sales)
        stamp(StockMovement.objects.all(), "sale_id", self.sales)
        stamp(Refund.objects.all(), "pk", self.refunds)
        stamp(StockMovement.objects.all(), "refund_id", self.refunds)
        stamp(StockMovement.objects.all(), "pk", self.restocks)
