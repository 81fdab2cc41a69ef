"""JobTask: a job's states through success, failure and retries; the sweep of stale jobs."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils.timezone import now
from django_tenants.utils import schema_context, tenant_context

import core.celery
import jobs.services
import jobs.tasks
from jobs.models import Job
from jobs.services import NEVER_STARTED_AFTER, STALE_AFTER, job_create
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, make_store

# --- Tasks made for these tests -------------------------------------------------------------


@core.celery.app.task(base=jobs.tasks.JobTask, bind=True, name="tests.jobs.count_rows")
def count_rows(self: jobs.tasks.JobTask, job_id: int, rows: int) -> dict:
    """Reports halfway, then returns how many rows and what its job looked like meanwhile."""
    self.progress(50)
    seen = Job.objects.values_list("status", "progress", "attempts").get(pk=job_id)
    return {"rows": rows, "seen": list(seen)}


@core.celery.app.task(base=jobs.tasks.JobTask, bind=True, name="tests.jobs.break_on_a_row")
def break_on_a_row(self: jobs.tasks.JobTask, job_id: int) -> None:
    self.progress(30)
    raise ValueError("row 7 has no price")


@core.celery.app.task(base=jobs.tasks.JobTask, bind=True, name="tests.jobs.lose_the_database_once")
def lose_the_database_once(self: jobs.tasks.JobTask, job_id: int) -> dict:
    if self.request.retries == 0:
        raise OperationalError("server closed the connection unexpectedly")
    return {"retries": self.request.retries}


@core.celery.app.task(base=jobs.tasks.JobTask, bind=True, name="tests.jobs.database_down")
def database_down(self: jobs.tasks.JobTask, job_id: int) -> None:
    raise OperationalError("could not connect to server")


JOB_FIELDS = (
    "kind",
    "status",
    "progress",
    "params",
    "result",
    "error",
    "attempts",
    "requested_by",
    "created_at",
    "started_at",
    "finished_at",
    "heartbeat_at",
)


def job_row(job_id: int) -> dict:
    return Job.objects.values(*JOB_FIELDS).get(pk=job_id)


def outcome_of(row: dict) -> dict:
    return {field: row[field] for field in ("status", "progress", "result", "error", "attempts")}


@pytest.fixture
def requeued(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Each job_requeue: the job's status, error and attempts right after it."""
    calls: list[tuple] = []
    requeue = jobs.services.job_requeue

    def recording(*, job_id: int, error: str) -> None:
        requeue(job_id=job_id, error=error)
        calls.append(Job.objects.values_list("status", "error", "attempts").get(pk=job_id))

    monkeypatch.setattr(jobs.services, "job_requeue", recording)
    return calls


# --- JobTask --------------------------------------------------------------------------------


def test_a_job_runs_reports_progress_and_succeeds_with_its_result(store_a: StoreWithStaff):
    with tenant_context(store_a.store):
        # given
        job = job_create(
            kind="tests.jobs.count_rows", params={"rows": 3}, requested_by=store_a.owner
        )
        queued = job_row(job.pk)

        # when
        outcome = count_rows.apply(kwargs={"job_id": job.pk, "rows": 3})

        # then
        done = job_row(job.pk)

    assert queued["status"] == "queued"
    assert (queued["progress"], queued["attempts"], queued["started_at"]) == (0, 0, None)
    assert outcome.get() == {"rows": 3, "seen": ["running", 50, 1]}
    assert outcome_of(done) == {
        "status": "succeeded",
        "progress": 100,
        "result": {"rows": 3, "seen": ["running", 50, 1]},
        "error": "",
        "attempts": 1,
    }
    assert done["created_at"] <= done["started_at"] <= done["heartbeat_at"] <= done["finished_at"]
    assert (done["kind"], done["params"], done["requested_by"]) == (
        "tests.jobs.count_rows",
        {"rows": 3},
        store_a.owner.pk,
    )


def durability_of_progress_writes() -> tuple[list[str], Callable]:
    """The synchronous_commit in force as each progress is written, and the execute wrapper
    that records it."""
    seen: list[str] = []

    def record(execute, sql, params, many, context):
        if sql.startswith('UPDATE "jobs_job" SET "progress"'):
            raw = context["cursor"].cursor
            raw.execute("SHOW synchronous_commit")
            seen.append(raw.fetchone()[0])
        return execute(sql, params, many, context)

    return seen, record


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_progress_in_its_own_transaction_does_not_wait_for_the_disk(committed_stores):
    staffed = make_store(STORE_SCHEMAS[0])
    seen, record = durability_of_progress_writes()
    with tenant_context(staffed.store):
        # given a job, and no transaction open
        job = job_create(kind="tests.jobs.count_rows", params={"rows": 3}, requested_by=None)
        default = synchronous_commit()

        # when its progress is reported
        with connection.execute_wrapper(record):
            jobs.services.job_progress(job_id=job.pk, percent=40)

        # then it was written without waiting for the disk, in its own transaction only
        assert (seen, synchronous_commit()) == (["off"], default)
        assert job_row(job.pk)["progress"] == 40


def test_progress_inside_a_callers_transaction_leaves_its_commit_durable(
    store_a: StoreWithStaff,
):
    seen, record = durability_of_progress_writes()
    with tenant_context(store_a.store):
        # given a job, in a transaction of the caller's (the test's own)
        job = job_create(kind="tests.jobs.count_rows", params={"rows": 3}, requested_by=None)
        callers = synchronous_commit()

        # when its progress is reported there
        with connection.execute_wrapper(record):
            jobs.services.job_progress(job_id=job.pk, percent=40)

        # then the progress is written, and the caller's commit still waits as it did
        assert (seen, synchronous_commit()) == ([callers], callers)
        assert job_row(job.pk)["progress"] == 40


def test_a_failing_job_is_failed_with_its_error_never_left_running(store_a: StoreWithStaff):
    with tenant_context(store_a.store):
        # given
        job = job_create(kind="tests.jobs.break_on_a_row", params={}, requested_by=None)

        # when
        outcome = break_on_a_row.apply(kwargs={"job_id": job.pk})

        # then the failure is recorded on the job, not raised
        done = job_row(job.pk)

    assert outcome.successful()
    assert outcome_of(done) == {
        "status": "failed",
        "progress": 30,
        "result": None,
        "error": "ValueError: row 7 has no price",
        "attempts": 1,
    }
    assert done["started_at"] is not None
    assert done["finished_at"] >= done["started_at"]


def test_a_transient_database_error_is_retried_and_the_job_succeeds(
    store_a: StoreWithStaff, requeued: list[tuple]
):
    with tenant_context(store_a.store):
        # given
        job = job_create(kind="tests.jobs.lose_the_database_once", params={}, requested_by=None)

        # when
        outcome = lose_the_database_once.apply(kwargs={"job_id": job.pk})

        # then: back to queued after the first attempt, succeeded on the second
        done = job_row(job.pk)

    assert outcome.get() == {"retries": 1}
    assert requeued == [
        ("queued", "retrying after: server closed the connection unexpectedly", 1),
    ]
    assert outcome_of(done) == {
        "status": "succeeded",
        "progress": 100,
        "result": {"retries": 1},
        "error": "",
        "attempts": 2,
    }
    assert done["finished_at"] is not None


def test_a_database_error_that_lasts_fails_the_job_after_the_retries(
    store_a: StoreWithStaff, requeued: list[tuple]
):
    with tenant_context(store_a.store):
        # given
        job = job_create(kind="tests.jobs.database_down", params={}, requested_by=None)

        # when
        database_down.apply(kwargs={"job_id": job.pk})

        # then: the first try and max_retries (3) more, each after a requeue, then failed
        done = job_row(job.pk)

    assert database_down.max_retries == 3
    assert requeued == [
        ("queued", "retrying after: could not connect to server", attempt) for attempt in (1, 2, 3)
    ]
    assert outcome_of(done) == {
        "status": "failed",
        "progress": 0,
        "result": None,
        "error": "OperationalError: could not connect to server",
        "attempts": 4,
    }
    assert done["finished_at"] is not None


# --- The sweep ------------------------------------------------------------------------------


def make_job(**fields: object) -> Job:
    """A job in the active store, then set to `fields` (times included)."""
    job = job_create(kind="tests.jobs.anything", params={}, requested_by=None)
    Job.objects.filter(pk=job.pk).update(**fields)
    return job


def test_the_sweep_fails_lost_and_never_started_jobs_only(store_a: StoreWithStaff):
    with tenant_context(store_a.store):
        # given jobs either side of STALE_AFTER and NEVER_STARTED_AFTER, and finished ones
        moment = now()
        long_ago = moment - timedelta(days=2)
        lost = make_job(
            status="running",
            attempts=1,
            created_at=long_ago,
            started_at=long_ago,
            heartbeat_at=moment - STALE_AFTER - timedelta(minutes=1),
        )
        beating = make_job(
            status="running",
            attempts=1,
            created_at=long_ago,
            started_at=long_ago,
            heartbeat_at=moment - STALE_AFTER + timedelta(minutes=1),
        )
        never_started = make_job(created_at=moment - NEVER_STARTED_AFTER - timedelta(minutes=1))
        waiting = make_job(created_at=moment - NEVER_STARTED_AFTER + timedelta(minutes=1))
        succeeded = make_job(
            status="succeeded",
            progress=100,
            attempts=1,
            created_at=long_ago,
            started_at=long_ago,
            heartbeat_at=long_ago,
            finished_at=long_ago,
        )
        failed = make_job(
            status="failed",
            error="ValueError: earlier",
            attempts=1,
            created_at=long_ago,
            started_at=long_ago,
            heartbeat_at=long_ago,
            finished_at=long_ago,
        )
        untouched = [beating, waiting, succeeded, failed]
        before = {job.pk: job_row(job.pk) for job in untouched}

        # when
        swept = jobs.services.jobs_sweep_stale()

        # then
        after_lost, after_never_started = job_row(lost.pk), job_row(never_started.pk)
        after = {job.pk: job_row(job.pk) for job in untouched}

    assert swept == 2
    assert (after_lost["status"], after_lost["error"]) == (
        "failed",
        "The worker running this job stopped answering; run it again.",
    )
    assert (after_never_started["status"], after_never_started["error"]) == (
        "failed",
        "No worker picked this job up; run it again.",
    )
    assert after_lost["finished_at"] >= moment
    assert after_never_started["finished_at"] >= moment
    assert after == before


def test_the_sweep_task_sweeps_every_store(store_a: StoreWithStaff, store_b: StoreWithStaff):
    # given a lost job and a fresh one in each store
    stale = now() - STALE_AFTER - timedelta(minutes=1)
    for staffed in (store_a, store_b):
        with tenant_context(staffed.store):
            make_job(status="running", attempts=1, started_at=stale, heartbeat_at=stale)
            make_job(status="running", attempts=1, started_at=now(), heartbeat_at=now())

    # when, from public
    swept = jobs.tasks.jobs_sweep_stale.apply().get()

    # then in each store, the lost job failed and the fresh one runs on
    assert swept == 2
    for staffed in (store_a, store_b):
        with schema_context(staffed.store.schema_name):
            assert list(Job.objects.order_by("id").values_list("id", "status")) == [
                (1, "failed"),
                (2, "running"),
            ]
