"""Querysets of sales that take row locks.

Every transaction takes its locks in one order: sale, shift, products (by pk), customer, then
the sale counter, so a checkout, a refund and a shift closing never wait on each other in a
circle.
"""

from django.db.models import QuerySet

from sales.models import Sale, Shift


def open_shift_for_update(*, register_id: int) -> QuerySet[Shift]:
    """The register's open shift, locked: it cannot close while a sale is rung up on it."""
    return Shift.objects.filter(
        register_id=register_id, status=Shift.Status.OPEN
    ).select_for_update(no_key=True)


def sale_for_update(*, sale_id: int) -> QuerySet[Sale]:
    """A sale, locked: its refunds are made one at a time."""
    return Sale.objects.filter(pk=sale_id).select_for_update(no_key=True)
