"""Log records carry the request id, the store and the user; task records carry the store."""

import json
import logging

import pytest
from django_tenants.utils import tenant_context

from analytics.tasks import analytics_rebuild_job
from core.logging import ContextFilter, JsonFormatter
from jobs.services import job_create


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.handler.addFilter(ContextFilter())
    caplog.set_level(logging.INFO)
    return caplog


def test_a_store_scoped_request_logs_its_id_store_and_user(store_a, client_for, logs):
    client = client_for(store_a.owner, store_a.store)

    response = client.get("/api/sales/registers/999/", HTTP_X_REQUEST_ID="till-7.req-42")

    assert response.status_code == 404
    assert response["X-Request-ID"] == "till-7.req-42"
    (record,) = [record for record in logs.records if record.name == "django.request"]
    assert (record.request_id, record.store, record.user) == (
        "till-7.req-42",
        store_a.store.tenant_key,
        str(store_a.owner.pk),
    )


@pytest.mark.parametrize("given", [None, "", "a b", "x" * 65, "id;DROP"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(db, api_client, given):
    headers = {} if given is None else {"HTTP_X_REQUEST_ID": given}

    first = api_client.get("/api/health/", **headers)["X-Request-ID"]
    second = api_client.get("/api/health/", **headers)["X-Request-ID"]

    assert len(first) == 32
    assert first != second
    assert int(first, 16) >= 0


def test_the_context_does_not_outlive_the_request(store_a, client_for, logs):
    client_for(store_a.owner, store_a.store).get("/api/sales/registers/999/")

    logging.getLogger("tests").warning("after the request")

    record = logs.records[-1]
    assert (record.request_id, record.store, record.user) == ("-", "-", "-")


def test_a_task_logs_the_store_it_runs_in(store_a, logs):
    with tenant_context(store_a.store):
        job = job_create(kind="analytics.rebuild", params={}, requested_by=None)
        analytics_rebuild_job.apply(kwargs={"job_id": job.pk, "date_from": "bad", "date_to": "x"})

    (failed,) = [record for record in logs.records if record.getMessage() == "job failed"]
    assert failed.store == store_a.store.schema_name
    assert failed.request_id.startswith("task-")


def test_json_lines_carry_the_context_and_the_extra_fields():
    record = logging.LogRecord("kassa", logging.INFO, __file__, 1, "sold", (), None)
    record.request_id, record.store, record.user, record.sale = "r1", "shop_1a2b3c4d", "7", 12

    line = json.loads(JsonFormatter().format(record))

    assert {key: line[key] for key in ("message", "request_id", "store", "user", "sale")} == {
        "message": "sold",
        "request_id": "r1",
        "store": "shop_1a2b3c4d",
        "user": "7",
        "sale": 12,
    }
