"""Events of a store, written to its outbox (`core.models.Event`) in the caller's transaction.

Any app may emit: `event_emit("sale.completed", {...})` inside the transaction that makes the
sale. After that transaction commits, the subscribers named by `settings.EVENT_SUBSCRIBERS`
(dotted paths, as `core.derived` does for days) are told that the store has new events; the
webhook deliveries are one. Telling them is a nudge only: what to deliver is read back from the
outbox, so an event whose nudge is lost (a broker down) is delivered by the next nudge or sweep.
"""

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils.module_loading import import_string
from django.utils.timezone import now

from core.database.bulk import bound_cursor
from core.models import Event, EventCounter

SALE_COMPLETED = "sale.completed"
SALE_REFUNDED = "sale.refunded"
SHIFT_CLOSED = "shift.closed"
STOCK_LOW = "stock.low"
PRODUCT_CHANGED = "product.changed"
SYNC_CONFLICT = "sync.conflict"
EVENT_TYPES = (
    SALE_COMPLETED,
    SALE_REFUNDED,
    SHIFT_CLOSED,
    STOCK_LOW,
    PRODUCT_CHANGED,
    SYNC_CONFLICT,
)
COUNTER = "events"
logger = logging.getLogger(__name__)

_EVENT_TABLE = Event._meta.db_table
_COUNTER_TABLE = EventCounter._meta.db_table
# One statement for any number of events: the ids are taken (the counter row then stays locked
# until this transaction commits) and the rows written with them, the arrays bound in binary
# (`core.database.bulk`).
_EMIT = (
    f"WITH taken AS (INSERT INTO {_COUNTER_TABLE} (name, value) VALUES (%s, %s) "  # noqa: S608
    f"ON CONFLICT (name) DO UPDATE SET value = {_COUNTER_TABLE}.value + EXCLUDED.value "
    "RETURNING value) "
    f"INSERT INTO {_EVENT_TABLE} (id, type, data, created_at) "
    "SELECT taken.value - %s + e.n, e.type, e.data::jsonb, %s FROM taken, "
    "unnest(%b::int[], %b::text[], %b::text[]) AS e(n, type, data)"
)


# `events_after`: the counter taken from the one row of the caller's CTE `{after}` (so after
# what that CTE locks, whatever order PostgreSQL would pick), then the events, each completed
# with the columns of that row its fill names (`{"id": "id", "number": "number"}`: the data's
# `id` and `number` are the row's).
_EMIT_AFTER = (
    f"taken AS (INSERT INTO {_COUNTER_TABLE} (name, value) SELECT %s, %s FROM {{after}} "  # noqa: S608
    f"ON CONFLICT (name) DO UPDATE SET value = {_COUNTER_TABLE}.value + EXCLUDED.value "
    "RETURNING value), "
    f"written AS (INSERT INTO {_EVENT_TABLE} (id, type, data, created_at) "
    "SELECT taken.value - %s + e.n, e.type, e.data::jsonb || coalesce(("
    "SELECT jsonb_object_agg(f.key, to_jsonb({after}) -> f.value) "
    "FROM jsonb_each_text(e.fill::jsonb) AS f), '{{}}'), %s "
    "FROM taken, {after}, unnest(%b::int[], %b::text[], %b::text[], %b::text[]) "
    "AS e(n, type, data, fill))"
)


def event_encoded(data: Mapping[str, Any]) -> str:
    """An event's data as the outbox keeps it (JSON): for a writer that spools its events."""
    return json.dumps(data, cls=DjangoJSONEncoder)


def events_emit(events: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Write `(type, data)` events to the active store's outbox, in this transaction.

    Call it last in the transaction, as late as the work allows: from here to the commit, every
    other writer of events in the store waits for the counter.
    """
    events_emit_encoded([(kind, event_encoded(data)) for kind, data in events])


def events_emit_encoded(events: Sequence[tuple[str, str]]) -> None:
    """`events_emit`, for data encoded by `event_encoded` already (spooled by a long write)."""
    if not events:
        return
    _check(events)
    count = len(events)
    with bound_cursor() as cursor:
        cursor.execute(
            _EMIT,
            [
                COUNTER,
                count,
                count,
                now(),
                list(range(1, count + 1)),
                [kind for kind, _ in events],
                [data for _, data in events],
            ],
        )
    _on_commit()


@dataclass
class EventWrite:
    """Events written by a statement of the caller's (`events_after`): its `ctes` and their
    `params`; `written()` once it has run."""

    ctes: list[str]
    params: list

    def written(self) -> None:
        _on_commit()


def events_after(
    events: Sequence[tuple[str, Mapping[str, Any], Mapping[str, str]]], *, after: str
) -> EventWrite:
    """Events written in a statement of the caller's, after its CTE `after`, which returns one
    row: the last lock but one of the transaction (a sale's number, say), taken before the
    event counter, which is taken from that row. Each event is `(type, data, fill)`: `fill`
    names the keys of the data that are the row's columns, each key's column (the id and the
    number of a sale that the statement inserts, in its `sale.completed`). As `events_emit`,
    the statement is the transaction's last."""
    if not events:
        raise ValueError("No events to write.")
    _check(events)
    count = len(events)
    return EventWrite(
        ctes=[_EMIT_AFTER.format(after=after)],
        params=[
            COUNTER,
            count,
            count,
            now(),
            list(range(1, count + 1)),
            [kind for kind, _, _ in events],
            [event_encoded(data) for _, data, _ in events],
            [json.dumps(fill) for _, _, fill in events],
        ],
    )


def _check(events: Sequence[tuple]) -> None:
    unknown = {event[0] for event in events} - set(EVENT_TYPES)
    if unknown:
        raise ValueError(f"Unknown event types: {sorted(unknown)}")
    if not connection.in_atomic_block:
        raise RuntimeError("An event is written in the transaction of what causes it.")


def _on_commit() -> None:
    schema = connection.schema_name
    transaction.on_commit(lambda: _tell_subscribers(schema))


def event_emit(kind: str, data: Mapping[str, Any]) -> None:
    """Write one event to the active store's outbox, in this transaction."""
    events_emit([(kind, data)])


def _tell_subscribers(schema_name: str) -> None:
    # After the commit: what has committed must not fail now (a cache or broker down), or the
    # client would see an error for a sale that was made, and might make it again.
    for path in settings.EVENT_SUBSCRIBERS:
        try:
            import_string(path)(schema_name=schema_name)
        except Exception:
            logger.exception("event subscriber failed", extra={"subscriber": path})
