"""Celery tasks of stores: the refill of the spare schema pool, and its enqueue."""

import logging

from django.db import transaction

from core.celery import app
from stores import provisioning

logger = logging.getLogger(__name__)


@app.task(name="stores.spares_refill")
def spares_refill() -> int:
    """Top the spare schema pool up to STORE_SPARE_SCHEMAS (runs in public)."""
    return provisioning.spares_refill()


def spares_refill_enqueue() -> None:
    """Queue a refill of the spare schema pool once the caller's transaction commits."""
    transaction.on_commit(_send_spares_refill)


def _send_spares_refill() -> None:
    try:
        spares_refill.delay()
    except Exception:  # the store is committed; the next signup or migrate_schemas refills
        logger.exception("spare schema refill not queued")
