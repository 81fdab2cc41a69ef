"""Every write to a store's jobs: their life from queued to succeeded or failed."""

from datetime import timedelta
from typing import Any

from django.db.models import Case, F, Q, Value, When
from django.utils.timezone import now

from core.transactions import derived_data_transaction
from jobs.models import Job
from stores.models import User

# A running job reports progress at least this often; past it, its worker is taken for lost.
STALE_AFTER = timedelta(minutes=15)
# A job still queued after this never reached a worker (a lost message, a broker wiped).
NEVER_STARTED_AFTER = timedelta(hours=6)
LOST_WORKER = "The worker running this job stopped answering; run it again."
NEVER_PICKED_UP = "No worker picked this job up; run it again."


def job_create(*, kind: str, params: dict[str, Any], requested_by: User | None) -> Job:
    return Job.objects.create(kind=kind, params=params, requested_by=requested_by)


def job_start(*, job_id: int) -> None:
    moment = now()
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=moment,
        heartbeat_at=moment,
        finished_at=None,
        error="",
    )


def job_progress(*, job_id: int, percent: int) -> None:
    """A running job's progress and heartbeat, between its steps.

    Committed without waiting for the disk: losing the last one in a crash loses nothing that
    matters, and a job with many small steps is not slowed by a flush after each. Inside a
    caller's transaction, that transaction's commit decides.
    """
    with derived_data_transaction():
        Job.objects.filter(pk=job_id).update(progress=max(0, min(100, percent)), heartbeat_at=now())


def job_requeue(*, job_id: int, error: str) -> None:
    """Back to queued, for a retry after a transient failure."""
    Job.objects.filter(pk=job_id).update(status=Job.Status.QUEUED, error=error)


def job_succeed(*, job_id: int, result: Any) -> None:
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.SUCCEEDED, progress=100, result=result, finished_at=now()
    )


def job_fail(*, job_id: int, error: str, result: Any = None) -> None:
    """Failed, with why; `result` keeps what a job that refused its input found (an import's
    errors row by row)."""
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.FAILED, error=error[:10_000], result=result, finished_at=now()
    )


def jobs_sweep_stale() -> int:
    """Fail the jobs whose worker died (no heartbeat) or that never started; returns how many.

    One statement per store: the sweep visits every store every few minutes.
    """
    moment = now()
    lost = Q(status=Job.Status.RUNNING, heartbeat_at__lt=moment - STALE_AFTER)
    never_started = Q(status=Job.Status.QUEUED, created_at__lt=moment - NEVER_STARTED_AFTER)
    return Job.objects.filter(lost | never_started).update(
        status=Job.Status.FAILED,
        error=Case(
            When(status=Job.Status.RUNNING, then=Value(LOST_WORKER)),
            default=Value(NEVER_PICKED_UP),
        ),
        finished_at=moment,
    )
