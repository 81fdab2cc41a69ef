"""Celery tasks of sales."""

from core.celery import app
from sales.idempotency import idempotency_keys_purge
from stores.fanout import for_each_store
from stores.models import Store


@app.task(name="sales.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """In every store, delete the Idempotency-Keys past their 24 hours; how many."""
    purged = for_each_store(
        lambda store: idempotency_keys_purge(),
        stores=Store.objects.order_by("pk").iterator(),
        what="idempotency key purge",
    )
    return sum(purged.results)
