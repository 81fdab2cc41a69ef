"""Celery for real: a `celery -A config worker` process, Redis as the broker, committed stores."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import redis
from django.db import connection
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from analytics.models import DailySales
from analytics.tasks import analytics_rebuild_job
from catalog.services import product_create, stock_adjust
from core.celery import app as celery_app
from jobs.models import Job
from jobs.services import job_create
from ops.serving import database_url
from sales.services import LineInput, PaymentInput, sale_checkout, shift_open
from tests.conftest import StoreWithStaff, access_token, make_store, redis_database

ROOT = Path(__file__).resolve().parent.parent


def url_of_the_test_database() -> str:
    """The test database, for the processes the tests start."""
    return database_url(connection.settings_dict)


WAIT_SECONDS = 60


@contextmanager
def worker_process(
    *,
    broker: str,
    database_url: str,
    pool: tuple[str, ...] = ("--pool=solo",),
    environment: dict[str, str] | None = None,
    hostname: str = "kassa-test@%h",
) -> Iterator[subprocess.Popen]:
    """A `celery -A config worker` process on the test database and `broker`, for the block."""
    worker = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            *pool,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
            f"--hostname={hostname}",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": os.environ.get(
                "SECRET_KEY", "test-only-secret-key-for-the-celery-worker"
            ),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker,
            **(environment or {}),
        },
    )
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, django_db_blocker, redis_url: str) -> Iterator[str]:
    """A worker process on the test database, consuming from Redis; its broker URL."""
    broker = redis_database(redis_url, 1)
    redis.Redis.from_url(broker).flushdb()
    with django_db_blocker.unblock():
        database_url = url_of_the_test_database()
    with worker_process(broker=broker, database_url=database_url):
        yield broker


@pytest.fixture
def broker(celery_worker: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This process sends tasks to the worker's broker instead of running them."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", celery_worker)
    _forget_broker_connections()
    yield celery_worker
    _forget_broker_connections()


def _forget_broker_connections() -> None:
    """Celery keeps its connection pools for the broker it first met; start them afresh."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def job_status(staffed: StoreWithStaff, job_id: int) -> Job:
    with tenant_context(staffed.store):
        return Job.objects.get(pk=job_id)


def sell(staffed: StoreWithStaff, price: str, quantity: str = "1") -> None:
    with tenant_context(staffed.store):
        product = product_create(name=f"Item {price}", price=Decimal(price), tax_rate=Decimal("0"))
        stock_adjust(product=product, delta=Decimal("100"), reason="restock", user=staffed.owner)
        shift_open(register_id=staffed.register.pk, opening_cash=Decimal("0"), user=staffed.owner)
        sale_checkout(
            user=staffed.owner,
            role="owner",
            register_id=staffed.register.pk,
            lines=[LineInput(product_id=product.pk, quantity=Decimal(quantity))],
            payments=[PaymentInput(method="card", amount=Decimal(price) * Decimal(quantity))],
        )


@pytest.mark.usefixtures("committed_stores")
def test_a_regenerate_request_queues_the_job_and_the_worker_runs_it(broker, monkeypatch):
    staffed = make_store("tenant_test_alpha", name="Worker Store")
    sell(staffed, "12.50", "2")

    def never_inline(**kwargs):
        raise AssertionError("the request ran the rebuild itself")

    monkeypatch.setattr("analytics.services.analytics_rebuild", never_inline)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {access_token(staffed.owner)}",
        HTTP_X_TENANT_KEY=staffed.store.tenant_key,
    )

    response = client.post("/api/analytics/regenerate/", {}, format="json")

    assert response.status_code == 202
    job_id = response.json()["job"]["id"]
    assert response.json()["job"]["status"] == "queued"
    wait_for(lambda: job_status(staffed, job_id).status == "succeeded", "the job to succeed")
    job = job_status(staffed, job_id)
    assert (job.progress, job.attempts, job.error) == (100, 1, "")
    assert job.started_at is not None
    assert job.finished_at >= job.started_at
    with tenant_context(staffed.store):
        assert list(DailySales.objects.values_list("sales_count", "revenue")) == [
            (1, Decimal("25.00"))
        ]


@pytest.mark.usefixtures("committed_stores")
def test_a_job_whose_task_raises_is_failed_with_the_error(broker):
    staffed = make_store("tenant_test_alpha", name="Failing Store")
    with tenant_context(staffed.store):
        job = job_create(kind="analytics.rebuild", params={}, requested_by=None)
        analytics_rebuild_job.apply_async(
            kwargs={"job_id": job.pk, "date_from": "not-a-day", "date_to": "2026-01-01"}
        )

    wait_for(lambda: job_status(staffed, job.pk).status == "failed", "the job to fail")
    failed = job_status(staffed, job.pk)
    assert failed.error.startswith("ValueError: Invalid isoformat string")
    assert failed.finished_at is not None


def assert_each_stores_own_figures(alpha: StoreWithStaff, beta: StoreWithStaff) -> None:
    """Alpha's one sale of 10.00 and beta's of 297.00, each in its own store's figures only."""
    for staffed, revenue in ((alpha, Decimal("10.00")), (beta, Decimal("297.00"))):
        with tenant_context(staffed.store):
            assert list(DailySales.objects.values_list("sales_count", "revenue")) == [(1, revenue)]


@pytest.mark.usefixtures("committed_stores")
def test_two_stores_jobs_in_one_worker_never_mix(broker):
    alpha = make_store("tenant_test_alpha", name="Alpha")
    beta = make_store("tenant_test_beta", name="Beta")
    sell(alpha, "10.00")
    sell(beta, "99.00", "3")

    jobs = {}
    for staffed in (alpha, beta):
        with tenant_context(staffed.store):
            job = job_create(kind="analytics.rebuild", params={}, requested_by=None)
            analytics_rebuild_job.apply_async(kwargs={"job_id": job.pk})
            jobs[staffed.store.schema_name] = job.pk

    for staffed in (alpha, beta):
        job_id = jobs[staffed.store.schema_name]
        wait_for(lambda s=staffed, j=job_id: job_status(s, j).status == "succeeded", "both jobs")
    assert_each_stores_own_figures(alpha, beta)


def _sessions_opened() -> int:
    """How many sessions this database has had (the server's statistics, flushed first)."""
    time.sleep(1.5)  # a backend reports its statistics at most once a second
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.usefixtures("committed_stores")
def test_a_worker_keeps_its_connection_from_task_to_task_and_store_to_store(broker):
    alpha = make_store("tenant_test_alpha", name="Alpha")
    beta = make_store("tenant_test_beta", name="Beta")
    sell(alpha, "10.00")
    sell(beta, "99.00", "3")

    def rebuild(staffed: StoreWithStaff) -> None:
        with tenant_context(staffed.store):
            job = job_create(kind="analytics.rebuild", params={}, requested_by=None)
            analytics_rebuild_job.apply_async(kwargs={"job_id": job.pk})
        wait_for(lambda: job_status(staffed, job.pk).status == "succeeded", "the rebuild")

    rebuild(alpha)  # the worker is connected by now
    connected = _sessions_opened()
    for staffed in (beta, alpha, beta, alpha):
        rebuild(staffed)

    # Celery's Django fixup would have connected again for each task; Django's rule (as for
    # requests: CONN_MAX_AGE) keeps the connection, each task in its own store all the same.
    assert _sessions_opened() == connected
    assert_each_stores_own_figures(alpha, beta)


@pytest.mark.usefixtures("committed_stores")
def test_a_worker_killed_mid_job_has_the_job_run_again(redis_url, monkeypatch):
    """acks_late + reject_on_worker_lost: the job's message goes back to the queue and the
    next worker process runs it; it is never left "running"."""
    broker = redis_database(redis_url, 2)
    redis.Redis.from_url(broker).flushdb()
    staffed = make_store("tenant_test_alpha", name="Killed Worker Store")
    sell(staffed, "3.00")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=WARNING",
            "--hostname=kassa-kill-test@%h",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": os.environ.get(
                "SECRET_KEY", "test-only-secret-key-for-the-celery-worker"
            ),
            "DATABASE_URL": url_of_the_test_database(),
            "CELERY_BROKER_URL": broker,
        },
    )
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", broker)
    _forget_broker_connections()
    blocker = psycopg.connect(url_of_the_test_database(), autocommit=False)
    try:
        # The job will wait on this lock, so the worker can be killed while it runs.
        blocker.execute(
            f'LOCK TABLE "{staffed.store.schema_name}".analytics_dailyproductsales '
            "IN ACCESS EXCLUSIVE MODE"
        )
        with tenant_context(staffed.store):
            job = job_create(kind="analytics.rebuild", params={}, requested_by=None)
            analytics_rebuild_job.apply_async(kwargs={"job_id": job.pk})
        wait_for(lambda: job_status(staffed, job.pk).status == "running", "the job to start")

        # The pool's process running the job (Linux lists a process's children here).
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        for child in children:
            os.kill(int(child), signal.SIGKILL)
        # The new worker process takes the job again and waits on the same lock.
        wait_for(lambda: job_status(staffed, job.pk).attempts == 2, "the job to be run again")
        blocker.rollback()

        wait_for(lambda: job_status(staffed, job.pk).finished_at is not None, "the job to finish")
        finished = job_status(staffed, job.pk)
        assert finished.status == "succeeded", finished.error
    finally:
        blocker.close()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        _forget_broker_connections()
    assert job_status(staffed, job.pk).attempts == 2
