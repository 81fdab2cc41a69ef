"""Celery tasks of stores."""

from config.celery import app
from stores import provisioning


@app.task(name="stores.spares_refill")
def spares_refill() -> int:
    """Top the spare schema pool up to STORE_SPARE_SCHEMAS (runs in public)."""
    return provisioning.spares_refill()
