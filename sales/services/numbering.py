"""Gap-free sale numbers: 1, 2, 3… within each store, taken in the transaction that uses them."""

from collections.abc import Sequence

from django.db import connection

from core.database.bulk import rows_update
from core.events import events_emit_after
from sales.models import Counter, Sale

SALE_COUNTER = "sale"


_COUNTER, _SALES = Counter._meta.db_table, Sale._meta.db_table
# The store's next number taken (the counter row then stays locked until the commit) and given
# to the sale: as common table expressions, the last named `prior` (`events_emit_after`).
_NUMBER = (
    f"next AS (INSERT INTO {_COUNTER} (name, value) VALUES (%s, 1) "  # noqa: S608
    f"ON CONFLICT (name) DO UPDATE SET value = {_COUNTER}.value + 1 RETURNING value), "
    f"prior AS (UPDATE {_SALES} SET number = next.value FROM next WHERE {_SALES}.id = %s "
    "RETURNING number)"
)


def sale_number_assign(*, sale: Sale, events: Sequence[tuple[str, dict, bool]]) -> None:
    """Give the sale the store's next gap-free number and write its `events`, in one statement,
    the transaction's last write (`core.events.events_emit_after`: `(type, data, filled)`, a
    filled event's data given the sale's `number`).

    The counter row stays locked from here until the commit, so checkouts queue only for this
    last step rather than for the whole checkout; a rollback gives the number back. The event
    counter is taken after it, in the same statement.
    """
    (sale.number,) = events_emit_after((_NUMBER, [SALE_COUNTER, sale.pk]), events)


def sale_numbers_assign(*, sales: Sequence[Sale]) -> None:
    """Number saved sales after the store's last one, in the order given (a batch, adopted).

    As `sale_number_assign`, the counter stays locked until the commit: call it last.
    """
    counter = Counter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {counter} (name, value) VALUES (%s, %s) ON CONFLICT (name) "  # noqa: S608
            f"DO UPDATE SET value = {counter}.value + EXCLUDED.value RETURNING value",
            [SALE_COUNTER, len(sales)],
        )
        last_number = cursor.fetchone()[0]
    for number, sale in enumerate(sales, start=last_number - len(sales) + 1):
        sale.number = number
    rows_update(sales, fields=["number"])
