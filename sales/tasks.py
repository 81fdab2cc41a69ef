"""Celery tasks of sales and their enqueues."""

import logging
from smtplib import SMTPException

from django.db import connection
from kombu.exceptions import OperationalError

from core.celery import app
from core.exceptions import ServiceUnavailable
from sales import services
from sales.idempotency import idempotency_keys_purge
from stores.fanout import for_each_store
from stores.models import Store

logger = logging.getLogger(__name__)


@app.task(name="sales.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    """In every store, delete the Idempotency-Keys past their 24 hours; how many."""
    purged = for_each_store(
        lambda store: idempotency_keys_purge(),
        stores=Store.objects.order_by("pk").iterator(),
        what="idempotency key purge",
    )
    return sum(purged.results)


@app.task(
    name="sales.email_receipt",
    # A mail server that is down or refuses for now: tried again, further apart, for ~2 hours.
    autoretry_for=(SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=8,
)
def receipt_email(sale_id: int, to: str, refund_id: int | None = None) -> None:
    """Mail the receipt of a sale (or of one of its refunds) of the task's store."""
    services.receipt_email_send(sale_id=sale_id, to=to, refund_id=refund_id)


def receipt_email_enqueue(*, sale_id: int, to: str, refund_id: int | None = None) -> None:
    """Queue the mail of a receipt now (it writes nothing, so there is no commit to wait for);
    a broker that is down is a 503, and the till may ask again."""
    try:
        receipt_email.apply_async(
            kwargs={"sale_id": sale_id, "to": to, "refund_id": refund_id},
            headers={"_schema_name": connection.schema_name},
        )
    except (OperationalError, SMTPException, OSError) as error:
        # The broker is down; or, with eager Celery (no broker), the mail server failed.
        logger.warning("receipt email not queued", extra={"sale": sale_id})
        raise ServiceUnavailable("The receipt could not be queued for mail; try again.") from error
