"""Work over every store goes on past a broken one: the nightly rebuild, the sweep, the purge."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils.timezone import now
from django_tenants.utils import schema_context

import analytics.tasks
from jobs.models import Job
from jobs.services import STALE_AFTER, job_create
from jobs.tasks import jobs_sweep_stale
from sales.idempotency import KEY_LIFETIME
from sales.models import IdempotencyKey
from sales.tasks import purge_idempotency_keys
from stores.fanout import for_each_store
from stores.models import Store
from tests.conftest import STORE_SCHEMAS, make_store

BROKEN = "gone_for_a_while"


@pytest.fixture
def three_stores_one_broken(db: None) -> list[Store]:
    """Alpha, beta and gamma; beta's schema has gone missing."""
    stores = [
        make_store(name, name=f"Store {number}").store for number, name in enumerate(STORE_SCHEMAS)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER SCHEMA "{STORE_SCHEMAS[1]}" RENAME TO {BROKEN}')
    return stores


def test_for_each_store_logs_a_failing_store_and_does_the_others(three_stores_one_broken, caplog):
    alpha, beta, gamma = three_stores_one_broken

    outcome = for_each_store(
        lambda store: (store.pk, Job.objects.count()),
        stores=three_stores_one_broken,
        what="counting jobs",
    )

    assert outcome.results == [(alpha.pk, 0), (gamma.pk, 0)]
    assert outcome.failed == [beta]
    assert "counting jobs failed in a store" in caplog.text
    assert connection.schema_name == "public"


def test_the_nightly_rebuild_queues_every_store_but_the_broken_one(
    three_stores_one_broken, monkeypatch, django_capture_on_commit_callbacks
):
    alpha, _beta, gamma = three_stores_one_broken
    sent: list[str] = []
    monkeypatch.setattr(
        analytics.tasks.analytics_rebuild_job,
        "apply_async",
        lambda *args, **options: sent.append(options["headers"]["_schema_name"]),
    )

    with django_capture_on_commit_callbacks(execute=True):
        queued = analytics.tasks.analytics_nightly_rebuild()

    assert queued == 2
    assert sent == [alpha.schema_name, gamma.schema_name]


def test_the_sweep_and_the_purge_go_on_past_the_broken_store(three_stores_one_broken):
    alpha, _beta, gamma = three_stores_one_broken
    long_ago = now() - max(STALE_AFTER, KEY_LIFETIME) - timedelta(minutes=1)
    for store in (alpha, gamma):
        with schema_context(store.schema_name):
            job = job_create(kind="test", params={}, requested_by=None)
            Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, heartbeat_at=long_ago)
            IdempotencyKey.objects.create(
                key="k", scope="sale_checkout", request_hash="h", created_at=long_ago
            )

    swept = jobs_sweep_stale()
    purged = purge_idempotency_keys()

    assert (swept, purged) == (2, 2)
    for store in (alpha, gamma):
        with schema_context(store.schema_name):
            assert Job.objects.get().status == Job.Status.FAILED
            assert IdempotencyKey.objects.count() == 0
