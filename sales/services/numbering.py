"""Gap-free sale numbers: 1, 2, 3… within each store, taken in the transaction that uses them."""

from collections.abc import Sequence

from django.db import connection

from core.database.bulk import rows_update
from sales.models import Counter, Sale

SALE_COUNTER = "sale"

_COUNTER = Counter._meta.db_table
# A checkout's number, taken in the statement that inserts its sale: the CTE (with its
# parameters), then the sale's `number` as that statement inserts it, and what it reads. The
# counter row stays locked from that statement, the transaction's last, until the commit, so
# checkouts queue only for their last step rather than for the whole checkout; a rollback gives
# the number back.
NEXT_NUMBER_CTE = (
    f"next_number AS (INSERT INTO {_COUNTER} (name, value) VALUES (%s, 1) "  # noqa: S608
    f"ON CONFLICT (name) DO UPDATE SET value = {_COUNTER}.value + 1 RETURNING value)"
)
NEXT_NUMBER_PARAMS = (SALE_COUNTER,)
NEXT_NUMBER, NEXT_NUMBER_FROM = "next_number.value", "next_number"


def sale_numbers_assign(*, sales: Sequence[Sale]) -> None:
    """Number saved sales after the store's last one, in the order given (a batch, adopted).

    As a checkout's number (`NEXT_NUMBER`), the counter stays locked until the commit: call it
    last.
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
