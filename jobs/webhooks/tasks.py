"""Celery tasks of webhooks and their enqueues.

After a transaction that wrote events commits, `webhooks_nudge` queues one `webhooks.dispatch`
for the store (not one per event: a nudge while one is queued and not yet started is dropped;
the task clears its mark as it starts, so an event committed while it runs queues the next).
Dispatch makes the deliveries, queues one `webhooks.deliver` for each subscription with work but
the first, and then posts the first one's itself (a store with one subscription costs one task a
batch, not two; the others are queued first, so they are posted meanwhile by other workers). A
subscription's worker posts for a few seconds at most, then queues the rest behind other
stores' work; a retry waits in the broker (a countdown), holding no worker. So a store whose
endpoint is dead costs the others one short timeout per backoff step, never a queue.

`webhooks.sweep` (beat, every few minutes) dispatches every store with subscriptions: what a
lost nudge (a broker down at commit) left behind is delivered once the broker is back.
"""

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.utils.timezone import now
from django_tenants.utils import schema_context

from core.celery import app
from jobs.models import Webhook
from jobs.webhooks import services
from stores.fanout import for_each_store
from stores.models import Store

logger = logging.getLogger(__name__)
# A nudge's mark outlives a queued dispatch that never ran (a lost task) by this much. The mark
# is cleared by the dispatch as it starts: the cache must be shared (CACHE_URL) by the web
# processes and the workers, as for the analytics refreshes.
NUDGE_SECONDS = 10
# A busy store's events of this long are made into deliveries and posted together: fewer, larger
# batches (a few statements each, whatever their size), for a fraction of a second of latency.
DISPATCH_DELAY_SECONDS = 0.25


def _nudge_mark(schema_name: str) -> str:
    return f"webhooks:nudge:{schema_name}"


def webhooks_nudge(*, schema_name: str) -> None:
    """Subscriber of `core.events` (settings.EVENT_SUBSCRIBERS): the store has new events."""
    with schema_context(schema_name):
        if not services.store_has_webhooks(schema_name):
            return
    if not caches["shared"].add(_nudge_mark(schema_name), 1, timeout=NUDGE_SECONDS):
        return  # a dispatch is queued and has not started: it will see these events too
    try:
        webhooks_dispatch.apply_async(
            countdown=DISPATCH_DELAY_SECONDS, headers={"_schema_name": schema_name}
        )
    except Exception:  # a broker outage must not fail what has committed; the sweep catches up
        caches["shared"].delete(_nudge_mark(schema_name))
        logger.exception("webhook dispatch not queued")


def _deliver_mark(schema_name: str, webhook_id: int) -> str:
    return f"webhooks:deliver:{schema_name}:{webhook_id}"


def _queue_deliver(webhook_id: int, *, countdown: float = 0) -> None:
    """Queue a subscription's worker: now (once while one is queued and not started, as the
    nudge), or for a retry that is due later."""
    if countdown > 0 and app.conf.task_always_eager:
        # Eager Celery (no broker: `make run`) would run it at once, again and again: a retry
        # waits for the store's next event instead.
        return
    schema = connection.schema_name
    if countdown <= 0 and not caches["shared"].add(
        _deliver_mark(schema, webhook_id), 1, timeout=NUDGE_SECONDS
    ):
        return
    webhooks_deliver.apply_async(
        args=[webhook_id], countdown=countdown, headers={"_schema_name": schema}
    )


@app.task(name="webhooks.dispatch")
def webhooks_dispatch() -> int:
    """Make the store's new deliveries; queue the subscriptions that have some, but the first,
    which this task posts itself; how many have some."""
    caches["shared"].delete(_nudge_mark(connection.schema_name))
    webhook_ids = services.deliveries_fan_out()
    for webhook_id in webhook_ids[1:]:
        _queue_deliver(webhook_id)
    if webhook_ids:
        _deliver(webhook_ids[0])
    return len(webhook_ids)


def _retry_mark(schema_name: str, webhook_id: int) -> str:
    return f"webhooks:retry:{schema_name}:{webhook_id}"


def _queue_retry(webhook_id: int, at: datetime) -> None:
    """Queue the subscription's worker for when its waiting delivery is due, unless a run at
    that time or sooner is queued already (while a head waits out its backoff, every dispatch
    would otherwise add one more delayed task)."""
    marks = caches["shared"]
    key = _retry_mark(connection.schema_name, webhook_id)
    queued = marks.get(key)
    if queued is not None and queued <= at.timestamp():
        return
    wait = max((at - now()).total_seconds(), 0)
    marks.set(key, at.timestamp(), timeout=int(wait) + 60)
    _queue_deliver(webhook_id, countdown=wait)


@app.task(name="webhooks.deliver")
def webhooks_deliver(webhook_id: int) -> None:
    """Post a subscription's due deliveries; queue what is left, now or when it is due."""
    caches["shared"].delete(_deliver_mark(connection.schema_name, webhook_id))
    _deliver(webhook_id)


def _deliver(webhook_id: int) -> None:
    """Post the subscription's due deliveries (in `webhooks.deliver`, or in the dispatch for its
    first subscription); queue its worker again for what is left, now or when it is due."""
    marks = caches["shared"]
    schema = connection.schema_name
    queued = marks.get(_retry_mark(schema, webhook_id))
    if queued is not None and queued <= now().timestamp():
        marks.delete(_retry_mark(schema, webhook_id))  # this is that run, or one after it
    progress = services.webhook_deliver(webhook_id=webhook_id)
    if progress.more_now:
        _queue_deliver(webhook_id)
    elif progress.retry_at is not None:
        _queue_retry(webhook_id, progress.retry_at)


def delivery_retry_enqueue(*, webhook_id: int) -> None:
    """After a delivery is reset by hand: its subscription's worker, once that commits (in
    the request, whose store is still the active one then)."""
    transaction.on_commit(partial(_queue_deliver, webhook_id))


@app.task(name="webhooks.sweep")
def webhooks_sweep() -> int:
    """Dispatch every active store that has an active subscription; how many."""

    def sweep(store: Store) -> bool:
        if not Webhook.objects.filter(is_active=True).exists():
            return False
        for webhook_id in services.deliveries_fan_out():
            # Once the store's transaction (for_each_store's) commits its new deliveries.
            transaction.on_commit(partial(_queue_deliver, webhook_id))
        return True

    done = for_each_store(
        sweep,
        stores=Store.objects.filter(is_active=True).order_by("pk").iterator(),
        what="webhook sweep",
    )
    return sum(done.results)


@app.task(name="webhooks.purge_events")
def events_purge() -> int:
    """In every store, delete the events older than `EVENT_RETENTION_DAYS` (and their delivery
    logs), except those still waiting to be delivered; how many rows went."""
    before = now() - timedelta(days=settings.EVENT_RETENTION_DAYS)
    purged = for_each_store(
        lambda store: services.events_purge(before=before),
        stores=Store.objects.order_by("pk").iterator(),
        what="event purge",
    )
    return sum(purged.results)
