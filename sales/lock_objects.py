"""Row locks of sales.

Every transaction takes its locks in one order: a sale's client id, sale, register gate, shift,
products (by pk), customer, then the sale counter, so a checkout, a sync, a refund and a shift
closing never wait on each other in a circle.
"""

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from django.db import connection, transaction
from django.db.models import QuerySet

from sales.models import Sale, Shift
from stores.tenancy import current_store


def _register_gate_key(register_id: int) -> str:
    """The key of a register's advisory lock (`_GATED`). Advisory locks are database-wide, hence
    the store's id in it; one bigint key hashed from both ids, so any register id a body can
    carry (up to a bigint) makes a key, where the two-integer form refused ids past 2^31."""
    return f"kassa.register:{current_store().pk}:{register_id}"


# A register's gate, then its shift's row, in one statement. The gate is a per-register advisory
# lock: sales share it, closing the shift takes it alone. PostgreSQL queues advisory lock
# requests in order, so a closing shift waits only for the sales already under way while later
# ones wait behind it; row locks alone would let a busy register's stream of shared locks
# starve the close. The gate is an uncorrelated subquery, so PostgreSQL runs it once, before the
# scan under the row lock (a one-time filter), and the order of the locks holds. The snapshot
# is taken before the gate is waited for: a shift that a transaction holding the gate changed
# meanwhile is read anew as its row is locked (READ COMMITTED re-checks an updated row's
# conditions), so a sale finds a shift closed meanwhile closed. Both statements read a store
# table, so under Citus both run on the store's node, where its gate is.
_GATED = (
    "WITH gate AS MATERIALIZED (SELECT {function}(hashtextextended(%s, 0))) "
    "SELECT {columns} FROM {table} WHERE {where} AND EXISTS (SELECT FROM gate) {lock}"
)
_OPEN_SHIFT = _GATED.format(
    function="pg_advisory_xact_lock_shared",
    columns="id, opened_at",
    table=Shift._meta.db_table,
    where="register_id = %s AND status = %s",
    lock="FOR SHARE",
)
_CLOSING_SHIFT = _GATED.format(
    function="pg_advisory_xact_lock",
    columns=", ".join(
        connection.ops.quote_name(field.column) for field in Shift._meta.concrete_fields
    ),
    table=Shift._meta.db_table,
    where="id = %s",
    lock="FOR UPDATE",
)


def open_shift_shared(*, register_id: int) -> int | None:
    """The id of the register's open shift, share-locked until the transaction ends.

    Sales and refunds share the lock, so they run side by side; closing the shift takes it
    exclusively (`shift_for_closing`), so it waits for the sales in flight, and the sales after
    it find the shift closed.
    """
    found = open_shift_shared_opening(register_id=register_id)
    return None if found is None else found[0]


def open_shift_shared_opening(*, register_id: int) -> tuple[int, datetime] | None:
    """The register's open shift, share-locked as `open_shift_shared` locks it, and when it
    opened (a sale made offline before that is late for it). None when no shift is open."""
    with connection.cursor() as cursor:
        cursor.execute(
            _OPEN_SHIFT, [_register_gate_key(register_id), register_id, Shift.Status.OPEN]
        )
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


# A client id is claimed by one of this many advisory locks per store (its bucket): a batch of
# 500 sales holds at most this many until it commits, where one lock an id would fill
# PostgreSQL's shared lock table (`max_locks_per_transaction` × connections) with a few dozen
# batches at once. Sales whose ids share a bucket wait for each other's commit, no longer.
CLIENT_ID_LOCKS = 64


def _client_id_lock(store_id: int, client_id: UUID | str) -> str:
    return f"kassa.sale_client:{store_id}:{UUID(str(client_id)).int % CLIENT_ID_LOCKS}"


def client_ids_claim(*, client_ids: Iterable[UUID], durable: bool = True) -> dict[UUID, tuple]:
    """Take the client ids for this transaction (`client_id_claim`): their locks, taken in one
    order (so two batches sharing ids never wait on each other in a circle), then the sales
    already applied with them, (id, number) by client id."""
    client_ids = list(client_ids)
    store_id = current_store().pk
    keys = sorted({_client_id_lock(store_id, client_id) for client_id in client_ids})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('synchronous_commit', %s, true), "
            "(SELECT count(pg_advisory_xact_lock(hashtextextended(key, 0))) "
            "FROM unnest(%s::text[]) AS key)",
            ["on" if durable else "off", keys],
        )
        cursor.execute(
            f"SELECT client_id, id, number FROM {Sale._meta.db_table} "  # noqa: S608
            "WHERE client_id = ANY(%s::uuid[])",
            [client_ids],
        )
        return {client_id: (pk, number) for client_id, pk, number in cursor.fetchall()}


def client_id_claim(*, client_id: UUID, durable: bool = True) -> tuple[int, int] | None:
    """Take the client id for this transaction: a concurrent sale with the same id waits until
    this one commits or rolls back. The sale already applied with it, (id, number), or None.

    Two statements (`client_ids_claim`): the lock (the id's bucket's, `CLIENT_ID_LOCKS`), then
    the read, whose snapshot is taken after the lock is held, so it sees a sale that a
    transaction holding the lock before committed. With `durable` False the transaction's
    commit does not wait for the disk: the caller makes it durable before it answers
    (`wal_flush`)."""
    return client_ids_claim(client_ids=[client_id], durable=durable).get(client_id)


def wal_flush() -> None:
    """Make every transaction committed so far without waiting for the disk durable, on any
    connection: a transaction with an id of its own that commits waiting for the disk flushes
    the log up to its commit, and so past every commit before it. Inside a transaction, it is
    that transaction which gets the id and flushes at its commit."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()")


def shift_for_closing(*, shift: Shift) -> Shift:
    """The shift, locked against every sale and refund on its register (its gate taken alone,
    then its row)."""
    found = list(
        Shift.objects.raw(_CLOSING_SHIFT, [_register_gate_key(shift.register_id), shift.pk])
    )
    if not found:
        raise Shift.DoesNotExist
    return found[0]


def sale_for_update(*, sale_id: int) -> QuerySet[Sale]:
    """A sale, locked: its refunds are made one at a time."""
    return Sale.objects.filter(pk=sale_id).select_for_update(no_key=True)
