"""Celery tasks of analytics: rebuilds as tracked jobs, day refreshes, the nightly fan-out."""

import logging
import zlib
from datetime import date, timedelta

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django_tenants.utils import tenant_context
from kombu.exceptions import OperationalError

from analytics import services
from config.celery import app
from jobs.services import job_create, job_fail
from jobs.tasks import JobTask
from stores.models import Store

logger = logging.getLogger(__name__)

REBUILD_KIND = "analytics.rebuild"


@app.task(base=JobTask, bind=True, name=REBUILD_KIND)
def analytics_rebuild_job(
    self: JobTask, job_id: int, date_from: str | None = None, date_to: str | None = None
) -> dict:
    """Rebuild the store's analytics for a range of local days (everything without one)."""
    return services.analytics_rebuild(
        first=date.fromisoformat(date_from) if date_from else None,
        last=date.fromisoformat(date_to) if date_to else None,
        progress=self.progress,
    )


def analytics_rebuild_enqueue(
    *, date_from: date | None, date_to: date | None, user, countdown: int = 0
):
    """A queued Job for a rebuild of the active store, sent to the workers once it commits."""
    params = {
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
    }
    job = job_create(kind=REBUILD_KIND, params=params, requested_by=user)
    # The store is named now: by the time the transaction commits, the connection may be
    # elsewhere, and a task sent from public would run in public.
    headers = {"_schema_name": connection.schema_name}

    def send() -> None:
        try:
            analytics_rebuild_job.apply_async(
                kwargs={**params, "job_id": job.pk}, countdown=countdown, headers=headers
            )
        except OperationalError as error:  # the broker is down: say so on the job, at once
            logger.exception("job not queued", extra={"job": job.pk})
            job_fail(job_id=job.pk, error=f"The job could not be queued: {error}")

    transaction.on_commit(send)
    return job


@app.task(name="analytics.refresh_day")
def analytics_refresh_day(day: str) -> None:
    """Bring one local day's figures up to date after sales or refunds on it."""
    local_day = date.fromisoformat(day)
    # Later sales queue the next refresh.
    caches["shared"].delete(services.refresh_mark(connection.schema_name, local_day))
    services.analytics_days_rebuild(first=local_day, last=local_day)


@app.task(name="analytics.nightly_rebuild")
def analytics_nightly_rebuild() -> int:
    """Fan out: each active store's yesterday and today are rebuilt, spread over a window.

    Runs in public. Each store's job starts at an offset taken from its schema name, so thousands of
    stores do not hit the database in the same second. Stores still being created are not
    visible here until their onboarding commits; inactive stores are skipped.
    """
    window = settings.ANALYTICS_NIGHTLY_WINDOW_SECONDS
    queued = 0
    for store in Store.objects.filter(is_active=True).order_by("pk").iterator():
        today = services.local_today(store)
        with tenant_context(store), transaction.atomic():
            analytics_rebuild_enqueue(
                date_from=today - timedelta(days=1),
                date_to=today,
                user=None,
                countdown=zlib.crc32(store.schema_name.encode()) % max(window, 1),
            )
        queued += 1
    logger.info("nightly analytics queued", extra={"stores": queued})
    return queued
