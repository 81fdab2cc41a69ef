"""Row locks of sales.

Every transaction takes its locks in one order: sale, shift, products (by pk), customer, then
the sale counter, so a checkout, a refund and a shift closing never wait on each other in a
circle.
"""

from django.db import connection
from django.db.models import QuerySet

from sales.models import Sale, Shift


def open_shift_shared(*, register_id: int) -> int | None:
    """The id of the register's open shift, share-locked until the transaction ends.

    Sales and refunds share the lock, so they run side by side; closing the shift takes it
    exclusively (`FOR UPDATE`), so it waits for the sales in flight, and the sales after it find
    the shift closed.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {Shift._meta.db_table} "  # noqa: S608 - our own table name
            "WHERE register_id = %s AND status = %s FOR SHARE",
            [register_id, Shift.Status.OPEN],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def sale_for_update(*, sale_id: int) -> QuerySet[Sale]:
    """A sale, locked: its refunds are made one at a time."""
    return Sale.objects.filter(pk=sale_id).select_for_update(no_key=True)
