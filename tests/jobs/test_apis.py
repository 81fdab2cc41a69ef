"""The jobs API (GET /api/jobs/, /api/jobs/{id}/): fields, order, roles, one store's jobs only."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django_tenants.utils import schema_context, tenant_context
from rest_framework.test import APIClient

from jobs.models import Job
from jobs.services import job_create
from tests.conftest import StoreWithStaff

JOBS = "/api/jobs/"

NOT_A_MEMBER = {"detail": "You are not a member of this store.", "code": "not_a_member"}
PERMISSION_DENIED = {
    "detail": "Your role in this store does not allow this action.",
    "code": "permission_denied",
}
NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}

ClientFor = Callable[..., APIClient]


def three_jobs(staffed: StoreWithStaff) -> list[dict]:
    """A succeeded rebuild, a failed export and a queued rebuild; as the API should show them."""
    with tenant_context(staffed.store):
        rebuild = job_create(
            kind="analytics.rebuild",
            params={"date_from": None, "date_to": None},
            requested_by=staffed.owner,
        )
        Job.objects.filter(pk=rebuild.pk).update(
            status="succeeded",
            progress=100,
            result={"from": "2026-03-09", "to": "2026-03-11", "days": 3},
            attempts=1,
            created_at=datetime(2026, 3, 12, 9, 0, tzinfo=UTC),
            started_at=datetime(2026, 3, 12, 9, 0, 1, tzinfo=UTC),
            heartbeat_at=datetime(2026, 3, 12, 9, 0, 2, tzinfo=UTC),
            finished_at=datetime(2026, 3, 12, 9, 0, 2, 500000, tzinfo=UTC),
        )
        export = job_create(
            kind="sales.export", params={"format": "csv"}, requested_by=staffed.manager
        )
        Job.objects.filter(pk=export.pk).update(
            status="failed",
            progress=40,
            error="ValueError: row 7 has no price",
            attempts=1,
            created_at=datetime(2026, 3, 12, 10, 0, tzinfo=UTC),
            started_at=datetime(2026, 3, 12, 10, 0, 5, tzinfo=UTC),
            finished_at=datetime(2026, 3, 12, 10, 1, tzinfo=UTC),
        )
        nightly = job_create(
            kind="analytics.rebuild",
            params={"date_from": "2026-03-11", "date_to": "2026-03-12"},
            requested_by=None,
        )
        Job.objects.filter(pk=nightly.pk).update(
            created_at=datetime(2026, 3, 12, 11, 0, tzinfo=UTC)
        )
    return [
        {
            "id": 1,
            "kind": "analytics.rebuild",
            "status": "succeeded",
            "progress": 100,
            "params": {"date_from": None, "date_to": None},
            "result": {"from": "2026-03-09", "to": "2026-03-11", "days": 3},
            "error": "",
            "attempts": 1,
            "requested_by": staffed.owner.pk,
            "created_at": "2026-03-12T09:00:00Z",
            "started_at": "2026-03-12T09:00:01Z",
            "finished_at": "2026-03-12T09:00:02.500000Z",
        },
        {
            "id": 2,
            "kind": "sales.export",
            "status": "failed",
            "progress": 40,
            "params": {"format": "csv"},
            "result": None,
            "error": "ValueError: row 7 has no price",
            "attempts": 1,
            "requested_by": staffed.manager.pk,
            "created_at": "2026-03-12T10:00:00Z",
            "started_at": "2026-03-12T10:00:05Z",
            "finished_at": "2026-03-12T10:01:00Z",
        },
        {
            "id": 3,
            "kind": "analytics.rebuild",
            "status": "queued",
            "progress": 0,
            "params": {"date_from": "2026-03-11", "date_to": "2026-03-12"},
            "result": None,
            "error": "",
            "attempts": 0,
            "requested_by": None,
            "created_at": "2026-03-12T11:00:00Z",
            "started_at": None,
            "finished_at": None,
        },
    ]


def page(results: list[dict]) -> dict:
    return {"count": len(results), "next": None, "previous": None, "results": results}


def job_rows(staffed: StoreWithStaff) -> list[tuple]:
    with schema_context(staffed.store.schema_name):
        return list(Job.objects.order_by("id").values_list("id", "status", "progress", "error"))


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_list_jobs_newest_first(store_a, client_for, role):
    # given
    first, second, third = three_jobs(store_a)

    # when
    response = client_for(store_a.member(role), store_a.store).get(JOBS)

    # then
    assert response.status_code == 200
    assert response.json() == page([third, second, first])


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_read_a_job(store_a, client_for, role):
    # given
    expected = three_jobs(store_a)
    client = client_for(store_a.member(role), store_a.store)

    # when
    responses = [client.get(f"{JOBS}{job_id}/") for job_id in (1, 2, 3)]

    # then
    assert [response.status_code for response in responses] == [200, 200, 200]
    assert [response.json() for response in responses] == expected


def test_jobs_filtered_by_status_and_kind(store_a, client_for):
    # given
    first, second, third = three_jobs(store_a)
    client = client_for(store_a.owner, store_a.store)

    # when
    failed = client.get(JOBS, {"status": "failed"})
    rebuilds = client.get(JOBS, {"kind": "analytics.rebuild"})

    # then
    assert failed.json() == page([second])
    assert rebuilds.json() == page([third, first])


def test_jobs_are_read_only(store_a, client_for):
    # given
    three_jobs(store_a)
    before = job_rows(store_a)
    client = client_for(store_a.owner, store_a.store)

    # when
    responses = [
        client.post(JOBS, {"kind": "analytics.rebuild"}),
        client.patch(f"{JOBS}3/", {"status": "succeeded"}),
        client.delete(f"{JOBS}3/"),
    ]

    # then
    assert [response.status_code for response in responses] == [405, 405, 405]
    assert job_rows(store_a) == before


def test_cashiers_may_not_see_jobs(store_a, client_for):
    # given
    three_jobs(store_a)
    client = client_for(store_a.cashier, store_a.store)

    # when
    responses = [client.get(JOBS), client.get(f"{JOBS}1/")]

    # then
    for response in responses:
        assert response.status_code == 403
        assert response.json() == PERMISSION_DENIED


def test_a_member_of_another_store_may_not_see_its_jobs(store_a, store_b, client_for):
    # given
    three_jobs(store_a)
    client = client_for(store_b.owner, store_a.store)

    # when
    responses = [client.get(JOBS), client.get(f"{JOBS}1/")]

    # then
    for response in responses:
        assert response.status_code == 403
        assert response.json() == NOT_A_MEMBER


def test_anonymous_callers_get_401_from_jobs(store_a, client_for):
    # given
    three_jobs(store_a)
    client = client_for(None, store_a.store)

    # when
    responses = [client.get(JOBS), client.get(f"{JOBS}1/")]

    # then
    for response in responses:
        assert response.status_code == 401
        assert response.json() == NOT_AUTHENTICATED


def test_a_job_of_one_store_is_not_found_with_another_stores_key(store_a, store_b, client_for):
    # given three jobs in store_a and one in store_b, each store numbering its own from 1
    three_jobs(store_a)
    with tenant_context(store_b.store):
        job_create(kind="sales.export", params={"format": "xlsx"}, requested_by=store_b.owner)
    client = client_for(store_b.owner, store_b.store)

    # when
    listed = client.get(JOBS)
    own = client.get(f"{JOBS}1/")
    others = [client.get(f"{JOBS}{job_id}/") for job_id in (2, 3)]

    # then store_b sees its own job 1 only; store_a's 2 and 3 do not exist for it
    assert [(job["id"], job["kind"], job["params"]) for job in listed.json()["results"]] == [
        (1, "sales.export", {"format": "xlsx"})
    ]
    assert (own.status_code, own.json()["kind"], own.json()["requested_by"]) == (
        200,
        "sales.export",
        store_b.owner.pk,
    )
    for response in others:
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
