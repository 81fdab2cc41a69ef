"""Transactions that write derived data (figures, progress), which need not wait for the disk."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper


@contextmanager
def derived_data_transaction(**settings: str) -> Iterator[CursorWrapper]:
    """A transaction writing data that can be derived again, and a cursor in it.

    In a transaction of its own, its commit does not wait for the WAL flush (it stays atomic;
    a crash may lose it whole) and the PostgreSQL `settings` given hold for it alone. Inside a
    caller's transaction, which may hold more, the caller's settings and commit decide.
    """
    own_transaction = connection.get_autocommit() and not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if own_transaction:
            values = {"synchronous_commit": "off", **settings}
            cursor.execute(
                f"SELECT {', '.join(['set_config(%s, %s, true)'] * len(values))}",
                [part for setting in values.items() for part in setting],
            )
        yield cursor
