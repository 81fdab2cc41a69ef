"""Every write of webhooks: subscriptions, and the deliveries of the store's events to them.

Deliveries are made from the outbox (`core.models.Event`), never from memory:

1. `deliveries_fan_out` turns the events after each active subscription's `fanned_through` into
   delivery rows (one per subscription and event of a type it wants), up to an event id whose
   predecessors have all committed, so none is skipped.
2. `webhook_deliver` takes a subscription's lease (one worker per URL at a time) and posts its
   pending deliveries in event order, outside any transaction. A delivery that fails in a way
   worth retrying (network error, timeout, 5xx, 408, 429) waits with exponential backoff and
   jitter, and the ones after it wait behind it: a receiver gets the store's events in order.
   Another 4xx ends that delivery (and a 410 ends the subscription); a delivery still failing a
   day (`WEBHOOK_RETRY_FOR_SECONDS`) after its first attempt gives up and turns its
   subscription off, with the reason for its owner to read.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils.timezone import now

from core.database.bulk import rows_insert, rows_update
from core.events import EVENT_TYPES
from core.models import Event
from jobs.models import Webhook, WebhookAttempt, WebhookDelivery
from jobs.webhooks import sending
from jobs.webhooks.addresses import AddressRefused, target_resolve
from jobs.webhooks.secrets import secret_decrypt, secret_encrypt, secret_new
from stores.models import User
from stores.tenancy import current_store

# How long a worker may hold a subscription before another may take it over (a lost worker).
LEASE_SECONDS = 120
# A worker posts for at most this long before it queues the rest and lets other stores' go.
BATCH_SECONDS = 10.0
BATCH_SIZE = 100
BACKOFF_CAP_SECONDS = 3 * 3600
GONE = 410


def _check_url(url: str) -> None:
    try:
        target_resolve(url)
    except AddressRefused as refusal:
        raise ValidationError({"url": [str(refusal)]}) from refusal


def _check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise ValidationError(
            {"events": [f"Choose among {', '.join(EVENT_TYPES)}; unknown: {unknown}."]}
            if unknown
            else {"events": ["Subscribe to at least one event type."]}
        )
    return sorted(set(events), key=EVENT_TYPES.index)


def _last_event_id() -> int:
    return Event.objects.aggregate(last=Max("id"))["last"] or 0


@dataclass(frozen=True)
class CreatedWebhook:
    webhook: Webhook
    secret: str  # shown once, in the answer to its creation


def webhook_create(
    *, url: str, events: list[str], user: User | None, is_active: bool = True
) -> CreatedWebhook:
    """A subscription to the store's events from now on, and its signing secret."""
    _check_url(url)
    return _webhook_insert(url=url, events=events, user=user, is_active=is_active)


@transaction.atomic
def _webhook_insert(
    *, url: str, events: list[str], user: User | None, is_active: bool
) -> CreatedWebhook:
    secret = secret_new()
    webhook = Webhook.objects.create(
        url=url,
        events=_check_events(events),
        secret=secret_encrypt(secret),
        is_active=is_active,
        created_by=user,
        fanned_through=_last_event_id(),  # what happened before it is not sent
    )
    webhooks_cache_forget()
    return CreatedWebhook(webhook=webhook, secret=secret)


def webhook_update(
    *,
    webhook: Webhook,
    url: str | None = None,
    events: list[str] | None = None,
    is_active: bool | None = None,
) -> Webhook:
    """Change a subscription. Turning it back on clears why it was turned off, and it goes on
    from the events it had not yet been sent."""
    if url is not None:
        _check_url(url)  # DNS first, before any row is locked
    with transaction.atomic():
        webhook = Webhook.objects.select_for_update().get(pk=webhook.pk)
        if url is not None:
            webhook.url = url
        if events is not None:
            webhook.events = _check_events(events)
        if is_active is not None:
            if is_active and not webhook.is_active:
                webhook.disabled_reason = ""
            webhook.is_active = is_active
        webhook.save()
        webhooks_cache_forget()
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    """Delete a subscription and its deliveries. Its row is locked first: a dispatch making
    deliveries for it meanwhile (it locks the row too) finishes before, or finds it gone."""
    Webhook.objects.select_for_update().filter(pk=webhook.pk).first()
    webhook.delete()
    webhooks_cache_forget()


# --- Whether a store has subscriptions: asked after every transaction that wrote events -------


def _cache_key(schema_name: str) -> str:
    return f"webhooks:active:{schema_name}"


def webhooks_cache_forget() -> None:
    schema = connection.schema_name
    transaction.on_commit(lambda: caches["shared"].delete(_cache_key(schema)))


def store_has_webhooks(schema_name: str) -> bool:
    """Whether the store has an active subscription (cached for a minute, forgotten on change)."""
    cache = caches["shared"]
    known = cache.get(_cache_key(schema_name))
    if known is None:
        known = Webhook.objects.filter(is_active=True).exists()
        cache.set(_cache_key(schema_name), known, timeout=60)
    return known


# --- Deliveries -------------------------------------------------------------------------------


def deliveries_fan_out() -> list[int]:
    """Make the deliveries of the events the store's active subscriptions have not yet had;
    the ids of the subscriptions with pending deliveries."""
    with transaction.atomic():
        # Every event up to the highest committed id has committed: ids are taken under a lock
        # held until commit (core.events), so none below it can still appear.
        last = _last_event_id()
        webhooks = list(Webhook.objects.select_for_update().filter(is_active=True).order_by("pk"))
        behind = [webhook.pk for webhook in webhooks if webhook.fanned_through < last]
        if behind:
            deliveries = WebhookDelivery._meta.db_table
            events = Event._meta.db_table
            hooks = Webhook._meta.db_table
            with connection.cursor() as cursor:
                # The pairs as a CTE: Citus refuses an INSERT … SELECT whose own join is not on
                # the tables' distribution columns, and takes the same join in a CTE.
                cursor.execute(
                    "WITH pairs AS ("  # noqa: S608 - our own tables
                    f"SELECT w.id AS webhook_id, e.id AS event_id FROM {hooks} AS w "
                    f"JOIN {events} AS e "
                    "ON e.id > w.fanned_through AND e.id <= %s AND w.events ? e.type "
                    "WHERE w.id = ANY(%s)) "
                    f"INSERT INTO {deliveries} (webhook_id, event_id, status, attempts, "
                    "next_attempt_at, created_at, error) "
                    "SELECT webhook_id, event_id, 'pending', 0, now(), now(), '' FROM pairs "
                    "ORDER BY webhook_id, event_id "
                    "ON CONFLICT (webhook_id, event_id) DO NOTHING",
                    [last, behind],
                )
            Webhook.objects.filter(pk__in=behind).update(fanned_through=last)
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, webhook__is_active=True
        )
        .values_list("webhook_id", flat=True)
        .distinct()
        .order_by("webhook_id")
    )


_WEBHOOKS = Webhook._meta.db_table
_DELIVERIES = WebhookDelivery._meta.db_table


def _lease_take(webhook_id: int) -> tuple[Webhook, datetime] | None:
    """Take the active subscription for this worker unless another holds it: the subscription
    and the lease's expiry (also its token), in one statement; or None."""
    moment = now()
    expiry = moment + timedelta(seconds=LEASE_SECONDS)
    taken = Webhook.objects.raw(
        f"UPDATE {_WEBHOOKS} SET leased_until = %s WHERE id = %s AND is_active "  # noqa: S608
        "AND (leased_until IS NULL OR leased_until <= %s) RETURNING *",
        [expiry, webhook_id, moment],
    )
    return next(((webhook, expiry) for webhook in taken), None)


def _lease_renew(webhook_id: int, held: datetime) -> datetime | None:
    """Renew this worker's lease: its new expiry, or None if it was lost (expired and taken)."""
    expiry = now() + timedelta(seconds=LEASE_SECONDS)
    rows = Webhook.objects.filter(pk=webhook_id, is_active=True, leased_until=held)
    return expiry if rows.update(leased_until=expiry) else None


def _release(webhook_id: int, held: datetime) -> datetime | None:
    """Let go of this worker's lease, and of no one else's; when the subscription's first
    pending delivery is due (None: none, or the lease or the subscription is gone). The head is
    read after the release has committed: a worker turned away by the lease until then made its
    deliveries before, so they are seen."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_WEBHOOKS} SET leased_until = NULL WHERE id = %s "  # noqa: S608
            "AND leased_until = %s RETURNING is_active",
            [webhook_id, held],
        )
        row = cursor.fetchone()
        if not (row and row[0]):
            return None
        cursor.execute(
            f"SELECT next_attempt_at FROM {_DELIVERIES} WHERE webhook_id = %s "  # noqa: S608
            "AND status = %s ORDER BY event_id LIMIT 1",
            [webhook_id, WebhookDelivery.Status.PENDING],
        )
        head = cursor.fetchone()
    return head[0] if head else None


def backoff(attempt: int) -> timedelta:
    """The wait before attempt `attempt + 1`: doubling from `WEBHOOK_RETRY_BASE_SECONDS`, up to
    three hours, with full jitter in its upper half so receivers are not hit in waves."""
    ceiling = min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1), BACKOFF_CAP_SECONDS)
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter


def _message_prefix() -> str:
    """The start of the store's `webhook-id`s: an event's is this and its id, the same on every
    attempt and to every subscription."""
    return f"msg_{current_store().pk}_"


# A subscription's next pending deliveries in event order, each with what is posted for its
# event (`{"type", "timestamp", "data"}`), written by PostgreSQL from the outbox's row as it is:
# no event object to make, no JSON to read and write again. The same bytes on every attempt.
_PENDING_BATCH = (
    f"SELECT d.*, json_build_object('type', e.type, 'timestamp', e.created_at, "  # noqa: S608
    f"'data', e.data)::text AS body FROM {_DELIVERIES} AS d "
    f"JOIN {Event._meta.db_table} AS e ON e.id = d.event_id "
    "WHERE d.webhook_id = %s AND d.status = %s ORDER BY d.event_id LIMIT %s"
)


def _pending_batch(webhook: Webhook) -> list[WebhookDelivery]:
    """Up to `BATCH_SIZE` of the subscription's pending deliveries, each with its `body`."""
    return list(
        WebhookDelivery.objects.raw(
            _PENDING_BATCH, [webhook.pk, WebhookDelivery.Status.PENDING, BATCH_SIZE]
        )
    )


@dataclass(frozen=True)
class Progress:
    """Where a worker left a subscription: nothing more, more now, or more at `retry_at`."""

    more_now: bool = False
    retry_at: datetime | None = None


def _settle(delivery: WebhookDelivery, outcome: sending.Outcome, moment: datetime) -> str:
    """Apply one attempt's outcome to its delivery; why to turn the webhook off ("": not)."""
    delivery.attempts += 1
    delivery.first_attempt_at = delivery.first_attempt_at or moment
    delivery.response_code = outcome.response_code
    delivery.latency_ms = outcome.latency_ms
    delivery.error = outcome.error[:500]
    if outcome.succeeded:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.finished_at = moment
        return ""
    if not outcome.retryable:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.finished_at = moment
        if outcome.response_code == GONE:
            return f"The endpoint answered 410 Gone to event {delivery.event_id}."
        return ""
    retry_at = moment + backoff(delivery.attempts)
    window = timedelta(seconds=settings.WEBHOOK_RETRY_FOR_SECONDS)
    if retry_at - delivery.first_attempt_at <= window:
        delivery.next_attempt_at = retry_at
        return ""
    delivery.status = WebhookDelivery.Status.FAILED
    delivery.finished_at = moment
    what = outcome.error or f"answered {outcome.response_code}"
    return (
        f"Event {delivery.event_id} could not be delivered for "
        f"{settings.WEBHOOK_RETRY_FOR_SECONDS // 3600 or 1} h ({delivery.attempts} "
        f"attempts; the last {what})."
    )[:500]


_SETTLED_FIELDS = (
    "status",
    "attempts",
    "next_attempt_at",
    "first_attempt_at",
    "response_code",
    "latency_ms",
    "error",
    "finished_at",
)


def _record(
    webhook: Webhook, attempts: list[tuple[WebhookDelivery, sending.Outcome, datetime]]
) -> None:
    """Write a batch's attempts and their deliveries' new states, in one transaction."""
    if not attempts:
        return
    disable = ""
    for delivery, outcome, moment in attempts:
        disable = _settle(delivery, outcome, moment) or disable
    with transaction.atomic():
        # The subscription's row, locked against its deletion (which locks it too): deleted
        # meanwhile, its deliveries are gone and these attempts are not written.
        if not Webhook.objects.select_for_update(no_key=True).filter(pk=webhook.pk).exists():
            webhook.is_active = False
            return
        # One statement each, whatever the batch's size (`core.database.bulk`).
        rows_insert(
            [
                WebhookAttempt(
                    delivery=delivery,
                    attempted_at=moment,
                    response_code=outcome.response_code,
                    latency_ms=outcome.latency_ms,
                    error=delivery.error,
                )
                for delivery, outcome, moment in attempts
            ]
        )
        rows_update([delivery for delivery, _, _ in attempts], fields=_SETTLED_FIELDS)
        if disable:
            Webhook.objects.filter(pk=webhook.pk).update(is_active=False, disabled_reason=disable)
            webhook.is_active = False
            webhooks_cache_forget()


def _post_batch(
    webhook: Webhook, secret: str, batch: list[WebhookDelivery], deadline: datetime
) -> tuple[list, Progress | None]:
    """Post a batch in event order until one fails (the rest wait behind it) or time is up."""
    attempts = []
    signer, messages = sending.signer(secret), _message_prefix()
    with sending.Connections() as connections:
        for delivery in batch:
            moment = now()
            if delivery.next_attempt_at > moment:  # the head waits: the rest wait behind it
                return attempts, Progress(retry_at=delivery.next_attempt_at)
            if moment >= deadline:
                return attempts, Progress(more_now=True)
            body = delivery.body
            headers = sending.signed_headers(
                signer=signer,
                message_id=f"{messages}{delivery.event_id}",
                sent_at=moment,
                body=body,
            )
            outcome = sending.post(
                url=webhook.url, body=body, headers=headers, connections=connections
            )
            attempts.append((delivery, outcome, moment))
            if outcome.retryable or outcome.response_code == GONE:
                # Recorded first: its retry time (or the webhook turned off) decides what follows.
                return attempts, None
    return attempts, None


def webhook_deliver(*, webhook_id: int) -> Progress:
    """Post the subscription's due deliveries in event order, for up to `BATCH_SECONDS`."""
    taken = _lease_take(webhook_id)
    if taken is None:
        return Progress()  # another worker is at it, and looks again when it lets go
    webhook, held = taken
    deadline = now() + timedelta(seconds=BATCH_SECONDS)
    progress = Progress()
    head = None
    try:
        secret = secret_decrypt(webhook.secret)
        while webhook.is_active:
            batch = _pending_batch(webhook)
            if not batch:
                break
            attempts, stop = _post_batch(webhook, secret, batch, deadline)
            _record(webhook, attempts)
            if stop is not None:
                progress = stop
                break
            if len(batch) < BATCH_SIZE:
                break  # what was made since is seen as the lease is let go
            # Renewed between batches; lost (expired and taken over), this worker stops.
            held = _lease_renew(webhook_id, held)
            if held is None:
                return Progress()
    finally:
        if held is not None:
            head = _release(webhook_id, held)
    if progress == Progress() and head is not None:
        # Made meanwhile, while this worker held the lease and turned others away; or the head
        # that just failed, now waiting for its retry.
        moment = now()
        progress = Progress(more_now=head <= moment, retry_at=None if head <= moment else head)
    return progress


@transaction.atomic
def delivery_retry(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again by hand, now: a failed one starts a new day of retries."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.next_attempt_at = now()
    delivery.first_attempt_at = None
    delivery.finished_at = None
    delivery.save()
    return delivery


def events_purge(*, before: datetime) -> int:
    """Delete the store's events made before `before`, with their delivery logs, except those
    still waiting to be delivered; how many."""
    waiting = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING).values(
        "event_id"
    )
    deleted, _ = Event.objects.filter(created_at__lt=before).exclude(pk__in=waiting).delete()
    return deleted
