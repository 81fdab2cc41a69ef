"""Celery tasks of analytics and their enqueues: rebuilds as tracked jobs, day refreshes after
sales and refunds, the nightly fan-out; and the subscriber told which days changed."""

import logging
import zlib
from collections.abc import Collection, Iterable
from datetime import date, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction

from analytics import exports, imports, services
from core.celery import app
from jobs.files import UPLOAD, job_file_path
from jobs.models import Job
from jobs.services import job_create
from jobs.tasks import JobRefused, JobTask, job_send_on_commit
from stores.clock import local_today
from stores.fanout import for_each_store
from stores.models import Store, User

logger = logging.getLogger(__name__)

REBUILD_KIND = "analytics.rebuild"
# A busy store's sales of one day are folded into one refresh queued at most this often.
REFRESH_COALESCE_SECONDS = 5


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
    *, date_from: date | None, date_to: date | None, user: User | None, countdown: int = 0
) -> Job:
    """A queued Job for a rebuild of the active store, sent to the workers once it commits."""
    params = {
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
    }
    job = job_create(kind=REBUILD_KIND, params=params, requested_by=user)
    job_send_on_commit(analytics_rebuild_job, job=job, kwargs=params, countdown=countdown)
    return job


@app.task(name="analytics.refresh_day")
def analytics_refresh_day(day: str) -> None:
    """Bring one local day's figures up to date after sales or refunds on it."""
    local_day = date.fromisoformat(day)
    # Later sales queue the next refresh.
    caches["shared"].delete(refresh_mark(connection.schema_name, local_day))
    services.analytics_days_rebuild(first=local_day, last=local_day)


@app.task(name="analytics.nightly_rebuild")
def analytics_nightly_rebuild() -> int:
    """Fan out: each active store's yesterday and today are rebuilt, spread over a window.

    Runs in public. Each store's job starts at an offset taken from its schema name, so thousands of
    stores do not hit the database in the same second. Stores still being created are not
    visible here until their onboarding commits; inactive stores are skipped.
    """
    window = settings.ANALYTICS_NIGHTLY_WINDOW_SECONDS

    def queue(store: Store) -> Job:
        today = local_today(store)
        with transaction.atomic():
            return analytics_rebuild_enqueue(
                date_from=today - timedelta(days=1),
                date_to=today,
                user=None,
                countdown=zlib.crc32(store.schema_name.encode()) % max(window, 1),
            )

    queued = for_each_store(
        queue,
        stores=Store.objects.filter(is_active=True).order_by("pk").iterator(),
        what="nightly analytics",
    )
    logger.info(
        "nightly analytics queued",
        extra={"stores": len(queued.results), "failed": len(queued.failed)},
    )
    return len(queued.results)


def refresh_mark(schema_name: str, day: date) -> str:
    # In the shared cache, so the sale's request and the worker's task name the same key.
    return f"analytics-refresh:{schema_name}:{day.isoformat()}"


def analytics_refresh_enqueue(*, schema_name: str, days: Iterable[date]) -> None:
    """After a committed sale or refund: queue a refresh of its days, once per few seconds.

    Called on commit with the store's schema named when the sale was made, so the task runs
    there whatever the connection is set to by then. A day already queued and not yet started
    is not queued again; the task clears its mark when it starts, so a sale committed while it
    runs queues the next refresh.
    """
    marks = caches["shared"]
    for day in set(days):
        mark = refresh_mark(schema_name, day)
        if marks.add(mark, 1, timeout=REFRESH_COALESCE_SECONDS * 12):
            try:
                analytics_refresh_day.apply_async(
                    args=[day.isoformat()],
                    countdown=REFRESH_COALESCE_SECONDS,
                    headers={"_schema_name": schema_name},
                )
            except Exception:  # a broker outage must not fail a sale that is already committed
                # The mark stays until it expires: the sales meanwhile do not each wait on the
                # dead broker; the first sale after it retries, and the nightly rebuild repairs.
                logger.exception("analytics refresh not queued", extra={"day": day.isoformat()})


def analytics_days_changed(*, schema_name: str, days: Collection[date] | None) -> None:
    """Subscriber of `core.derived.days_changed` (settings.DAYS_CHANGED_SUBSCRIBERS).

    Some days changed (a sale, a refund): their refresh is queued once the change commits.
    Every day may have moved (a new time zone): a full rebuild, as a job of the store.
    """
    if days is None:
        analytics_rebuild_enqueue(date_from=None, date_to=None, user=None)
    else:
        transaction.on_commit(
            partial(analytics_refresh_enqueue, schema_name=schema_name, days=list(days))
        )


EXPORT_KIND = "export"


@app.task(base=JobTask, bind=True, name="analytics.export")
def export_job(
    self: JobTask,
    *,
    job_id: int,
    kind: str,
    format: str,
    date_from: str | None = None,
    date_to: str | None = None,
) -> dict:
    """Write an export of the store's data to the job's file."""
    return exports.export_write(
        kind=kind,
        first=date.fromisoformat(date_from) if date_from else None,
        last=date.fromisoformat(date_to) if date_to else None,
        format=format,
        path=job_file_path(job_id=job_id, extension=format),
        progress=self.progress,
    )


def export_enqueue(
    *, kind: str, format: str, date_from: date | None, date_to: date | None, user: User | None
) -> Job:
    """A queued Job for an export of the active store, sent to the workers once it commits."""
    params = {
        "kind": kind,
        "format": format,
        "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None,
    }
    job = job_create(kind=f"{EXPORT_KIND}.{kind}", params=params, requested_by=user)
    job_send_on_commit(export_job, job=job, kwargs=params)
    return job


IMPORT_KIND = "catalog.import"


@app.task(base=JobTask, bind=True, name=IMPORT_KIND)
def catalog_import_job(
    self: JobTask, *, job_id: int, dry_run: bool = False, partial: bool = False
) -> dict:
    """Import the job's uploaded file into the store's catalog. A file with errors (and no
    `partial`) fails the job, with the report as its result."""
    upload = job_file_path(job_id=job_id, extension=UPLOAD)
    if not upload.is_file():
        raise JobRefused("The uploaded file is gone; upload it again.", result=None)
    job = Job.objects.only("requested_by").get(pk=job_id)
    report = imports.catalog_import(
        path=upload,
        dry_run=dry_run,
        partial=partial,
        user=job.requested_by,
        progress=self.progress,
    )
    upload.unlink(missing_ok=True)
    result = report.as_result()
    if report.error_count and not (dry_run or partial):
        raise JobRefused(
            f"The file has {report.error_count} error(s); nothing was written.", result=result
        )
    return result


def catalog_import_enqueue(*, upload: Any, dry_run: bool, partial: bool, user: User) -> Job:
    """A queued Job for an import of `upload` (a Django uploaded file) into the active store:
    the file is kept where the workers read it, and the task sent once the job commits."""
    params = {"dry_run": dry_run, "partial": partial, "filename": str(upload.name)[:200]}
    job = job_create(kind=IMPORT_KIND, params=params, requested_by=user)
    with job_file_path(job_id=job.pk, extension=UPLOAD).open("wb") as kept:
        for chunk in upload.chunks():
            kept.write(chunk)
    job_send_on_commit(catalog_import_job, job=job, kwargs={"dry_run": dry_run, "partial": partial})
    return job
