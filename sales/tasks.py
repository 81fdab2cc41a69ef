"""Celery tasks of sales."""

from django_tenants.utils import tenant_context

from core.celery import app
from sales.idempotency import idempotency_keys_purge
from stores.models import Store


@app.task(name="sales.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """In every store, delete the Idempotency-Keys past their 24 hours."""
    deleted = 0
    for store in Store.objects.order_by("pk").iterator():
        with tenant_context(store):
            deleted += idempotency_keys_purge()
    return deleted
