"""The Job-tracking base for Celery tasks, and the sweep that fails jobs whose worker died."""

import logging
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from core.celery import app
from jobs import services
from jobs.files import job_files_purge
from jobs.models import Job
from stores.fanout import for_each_store
from stores.models import Store

logger = logging.getLogger(__name__)

# Failures worth another try: the database went away or restarted under the task.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


class JobRefused(Exception):
    """Raised by a task body that looked at its input and refused it: the job fails with the
    message, and keeps `result` (what it found) for the client to show."""

    def __init__(self, message: str, *, result: Any) -> None:
        super().__init__(message)
        self.result = result


class JobTask(app.Task):
    """A task that carries `job_id` (the body takes it too) and moves that Job through its states.

    queued -> running (attempts + 1) -> succeeded with the task's return value as `result`, or
    failed with the error (and a result too, for a body that raises JobRefused). A transient
    database error puts the job back to queued and retries with backoff; when the retries run
    out, it fails. The task body reports progress with `self.progress(percent)`. Failures are
    recorded, not raised: the job is the report.
    """

    abstract = True
    max_retries = 3
    retry_backoff_seconds = 5

    def __call__(self, *args: Any, job_id: int, **kwargs: Any) -> Any:
        self.job_id = job_id
        attempt = self.request.retries
        while True:
            services.job_start(job_id=job_id)
            try:
                result = self.run(*args, job_id=job_id, **kwargs)
            except TRANSIENT_ERRORS as error:
                if attempt >= self.max_retries:
                    return self._fail(job_id, error)
                services.job_requeue(job_id=job_id, error=f"retrying after: {error}")
                if self.request.is_eager:
                    # Run in-process (no broker): Celery would hand `Retry` to the caller.
                    attempt += 1
                    self.request.retries = attempt
                    continue
                raise self.retry(
                    exc=error,
                    countdown=self.retry_backoff_seconds * 2**attempt,
                    kwargs={**kwargs, "job_id": job_id},
                ) from error
            except JobRefused as refusal:
                services.job_fail(job_id=job_id, error=str(refusal), result=refusal.result)
                return refusal.result
            except Exception as error:
                return self._fail(job_id, error)
            services.job_succeed(job_id=job_id, result=result)
            return result

    def _fail(self, job_id: int, error: Exception) -> None:
        logger.error("job failed", exc_info=error, extra={"job": job_id, "task": self.name})
        services.job_fail(job_id=job_id, error=f"{type(error).__name__}: {error}")

    def progress(self, percent: int) -> None:
        services.job_progress(job_id=self.job_id, percent=percent)


def job_send_on_commit(task: Any, *, job: Job, kwargs: dict, countdown: int = 0) -> None:
    """Send `task` for `job` once the transaction that made the job commits. The store is named
    now: by the commit the connection may be elsewhere, and a task sent from public would run in
    public. A broker that is down fails the job at once, saying so."""
    headers = {"_schema_name": connection.schema_name}

    def send() -> None:
        try:
            task.apply_async(
                kwargs={**kwargs, "job_id": job.pk}, countdown=countdown, headers=headers
            )
        except KombuOperationalError as error:
            logger.exception("job not queued", extra={"job": job.pk})
            services.job_fail(job_id=job.pk, error=f"The job could not be queued: {error}")

    transaction.on_commit(send)


@app.task(name="jobs.purge_files")
def jobs_purge_files() -> int:
    """In every store: delete the job files (exports) past `JOB_FILES_KEEP_HOURS`; how many."""
    purged = for_each_store(
        lambda store: job_files_purge(),
        stores=Store.objects.order_by("pk").iterator(),
        what="job file purge",
    )
    return sum(purged.results)


@app.task(name="jobs.sweep_stale")
def jobs_sweep_stale() -> int:
    """In every store: fail the jobs whose worker died or that never started; how many."""
    swept = for_each_store(
        lambda store: services.jobs_sweep_stale(),
        stores=Store.objects.order_by("pk").iterator(),
        what="stale job sweep",
    )
    failed = sum(swept.results)
    if failed:
        logger.warning("stale jobs failed", extra={"count": failed})
    return failed


# The webhook tasks live beside their services; importing them here registers them with Celery.
from jobs.webhooks import tasks as webhook_tasks  # noqa: E402, F401
