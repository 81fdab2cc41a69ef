"""The analytics API: GET /api/analytics/summary/ and POST /api/analytics/regenerate/."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context, tenant_context
from rest_framework.fields import DateTimeField
from rest_framework.test import APIClient

import analytics.services
import stores.clock
from analytics.services import analytics_rebuild
from jobs.models import Job
from sales.models import Sale
from sales.services import LineInput, PaymentInput, sale_checkout
from tests.analytics.test_services import (
    EXPECTED_ROWS,
    GENERATED_AT,
    MARCH_10,
    TAX_SETTINGS,
    analytics_tables,
    empty_analytics_tables,
    set_up_store,
    three_days_of_sales,
)
from tests.catalog.factories import ProductFactory
from tests.conftest import STORE_SCHEMAS, StoreWithStaff, make_store

SUMMARY = "/api/analytics/summary/"
REGENERATE = "/api/analytics/regenerate/"
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
WRONG_DATE = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."

ClientFor = Callable[..., APIClient]


def day(on: str, sales_count: int = 0, revenue: str = "0.00", refunds: str = "0.00") -> dict:
    return {"date": on, "sales_count": sales_count, "revenue": revenue, "refunds": refunds}


def methods(cash: str, card: str, other: str) -> list[dict]:
    return [
        {"method": "cash", "amount": cash},
        {"method": "card", "amount": card},
        {"method": "other", "amount": other},
    ]


def product(product_id: int, name: str, quantity: str, revenue: str) -> dict:
    return {"product": product_id, "name": name, "quantity": quantity, "revenue": revenue}


def hours(busy: dict[int, tuple[int, str]]) -> list[dict]:
    """All 24 hours: the busy ones with their (sales_count, revenue), the others with zeros."""
    return [
        {
            "hour": hour,
            "sales_count": busy.get(hour, (0, "0.00"))[0],
            "revenue": busy.get(hour, (0, "0.00"))[1],
        }
        for hour in range(24)
    ]


# The summary of 8–12 March of `three_days_of_sales` (see EXPECTED_ROWS for the arithmetic).
EXPECTED_SUMMARY = {
    True: {
        "from": "2026-03-08",
        "to": "2026-03-12",
        "currency": "USD",
        "sales_count": 5,
        "revenue": "32.60",
        "refunds": "4.00",
        "net_revenue": "28.60",
        "average_ticket": "6.52",
        "items_sold": "10.000",
        "by_day": [
            day("2026-03-08"),
            day("2026-03-09", 2, "14.50"),
            day("2026-03-10", 2, "14.60"),
            day("2026-03-11", 1, "3.50", "4.00"),
            day("2026-03-12"),
        ],
        "by_payment_method": methods(cash="16.60", card="12.50", other="3.50"),
        "top_products": [
            product(1, "Coffee, large", "4.000", "14.00"),
            product(2, "Cake", "3.000", "12.00"),
            product(3, "Bagel", "3.000", "6.60"),
        ],
        "by_hour": hours(
            {0: (1, "6.60"), 9: (1, "3.50"), 10: (1, "7.00"), 14: (1, "8.00"), 23: (1, "7.50")}
        ),
        "generated_at": "2026-03-12T06:00:00Z",
    },
    False: {
        "from": "2026-03-08",
        "to": "2026-03-12",
        "currency": "USD",
        "sales_count": 5,
        "revenue": "36.86",
        "refunds": "4.80",
        "net_revenue": "32.06",
        "average_ticket": "7.37",
        "items_sold": "10.000",
        "by_day": [
            day("2026-03-08"),
            day("2026-03-09", 2, "16.35"),
            day("2026-03-10", 2, "16.66"),
            day("2026-03-11", 1, "3.85", "4.80"),
            day("2026-03-12"),
        ],
        "by_payment_method": methods(cash="19.36", card="13.65", other="3.85"),
        "top_products": [
            product(1, "Coffee, large", "4.000", "15.40"),
            product(2, "Cake", "3.000", "14.40"),
            product(3, "Bagel", "3.000", "7.06"),
        ],
        "by_hour": hours(
            {0: (1, "7.06"), 9: (1, "3.85"), 10: (1, "7.70"), 14: (1, "9.60"), 23: (1, "8.65")}
        ),
        "generated_at": "2026-03-12T06:00:00Z",
    },
}


def rebuilt_three_days(staffed: StoreWithStaff, *, prices_include_tax: bool) -> None:
    three_days_of_sales(staffed, prices_include_tax=prices_include_tax)
    with tenant_context(staffed.store):
        analytics_rebuild()


def jobs_of(staffed: StoreWithStaff) -> list[tuple]:
    with schema_context(staffed.store.schema_name):
        return list(Job.objects.order_by("id").values_list("id", "kind", "status", "params"))


def as_json_time(moment: datetime | None) -> str | None:
    return None if moment is None else DateTimeField().to_representation(moment)


def job_json(staffed: StoreWithStaff, job_id: int) -> dict:
    """A job as the API gives it, read from its row."""
    with schema_context(staffed.store.schema_name):
        job = Job.objects.get(pk=job_id)
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "params": job.params,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "requested_by": job.requested_by_id,
        "created_at": as_json_time(job.created_at),
        "started_at": as_json_time(job.started_at),
        "finished_at": as_json_time(job.finished_at),
    }


def commit_in_store(staffed: StoreWithStaff, callbacks: list[Callable[[], object]]) -> None:
    """Run a request's on-commit callbacks as its commit would have run them.

    With ATOMIC_REQUESTS the view's transaction commits inside the request, while the store's
    schema is active; here the test's own transaction held that commit back, and the
    middleware has put the connection back in public since.
    """
    with tenant_context(staffed.store):
        for callback in callbacks:
            callback()


# --- GET /api/analytics/summary/ ------------------------------------------------------------


@pytest.mark.parametrize("prices_include_tax", TAX_SETTINGS)
def test_the_summary_of_a_range(store_a, client_for, monkeypatch, prices_include_tax):
    # given three days of sales and a refund, rebuilt at GENERATED_AT
    monkeypatch.setattr(analytics.services, "now", lambda: GENERATED_AT)
    rebuilt_three_days(store_a, prices_include_tax=prices_include_tax)

    # when
    response = client_for(store_a.manager, store_a.store).get(
        SUMMARY, {"from": "2026-03-08", "to": "2026-03-12"}
    )

    # then
    assert response.status_code == 200
    assert response.json() == EXPECTED_SUMMARY[prices_include_tax]


def test_the_summary_of_one_day(store_a, client_for, monkeypatch):
    # given
    monkeypatch.setattr(analytics.services, "now", lambda: GENERATED_AT)
    rebuilt_three_days(store_a, prices_include_tax=True)

    # when
    response = client_for(store_a.owner, store_a.store).get(
        SUMMARY, {"from": "2026-03-10", "to": "2026-03-10"}
    )

    # then: the bagels at 00:30 and the two cakes at 14:05 (one refunded the next day)
    assert response.status_code == 200
    assert response.json() == {
        "from": "2026-03-10",
        "to": "2026-03-10",
        "currency": "USD",
        "sales_count": 2,
        "revenue": "14.60",
        "refunds": "0.00",
        "net_revenue": "14.60",
        "average_ticket": "7.30",
        "items_sold": "5.000",
        "by_day": [day("2026-03-10", 2, "14.60")],
        "by_payment_method": methods(cash="9.60", card="5.00", other="0.00"),
        "top_products": [product(2, "Cake", "2.000", "8.00"), product(3, "Bagel", "3.000", "6.60")],
        "by_hour": hours({0: (1, "6.60"), 14: (1, "8.00")}),
        "generated_at": "2026-03-12T06:00:00Z",
    }


def test_the_summary_of_days_without_figures(store_a, client_for, monkeypatch):
    # given a store with no sales
    monkeypatch.setattr(analytics.services, "now", lambda: GENERATED_AT)
    set_up_store(store_a, prices_include_tax=True)

    # when
    response = client_for(store_a.owner, store_a.store).get(
        SUMMARY, {"from": "2026-03-10", "to": "2026-03-11"}
    )

    # then
    assert response.status_code == 200
    assert response.json() == {
        "from": "2026-03-10",
        "to": "2026-03-11",
        "currency": "USD",
        "sales_count": 0,
        "revenue": "0.00",
        "refunds": "0.00",
        "net_revenue": "0.00",
        "average_ticket": "0.00",
        "items_sold": "0.000",
        "by_day": [day("2026-03-10"), day("2026-03-11")],
        "by_payment_method": methods(cash="0.00", card="0.00", other="0.00"),
        "top_products": [],
        "by_hour": hours({}),
        "generated_at": None,
    }


def test_the_default_range_is_the_30_days_up_to_the_stores_today(store_a, client_for, monkeypatch):
    # given it is 02:00 UTC on 11 March: still 10 March (22:00) in New York
    at_two = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
    monkeypatch.setattr(analytics.services, "now", lambda: at_two)
    monkeypatch.setattr(stores.clock, "now", lambda: at_two)  # the store's today
    rebuilt_three_days(store_a, prices_include_tax=True)

    # when
    response = client_for(store_a.owner, store_a.store).get(SUMMARY)

    # then 9 February to 10 March: the sales of 9 and 10 March, not the refund of 11 March.
    # 29.10 / 4 = 7.275 → 7.28; products go by their names of today.
    quiet_days = [
        day((date(2026, 2, 9) + timedelta(days=offset)).isoformat()) for offset in range(28)
    ]
    assert response.status_code == 200
    assert response.json() == {
        "from": "2026-02-09",
        "to": "2026-03-10",
        "currency": "USD",
        "sales_count": 4,
        "revenue": "29.10",
        "refunds": "0.00",
        "net_revenue": "29.10",
        "average_ticket": "7.28",
        "items_sold": "9.000",
        "by_day": [*quiet_days, day("2026-03-09", 2, "14.50"), day("2026-03-10", 2, "14.60")],
        "by_payment_method": methods(cash="16.60", card="12.50", other="0.00"),
        "top_products": [
            product(2, "Cake", "3.000", "12.00"),
            product(1, "Coffee, large", "3.000", "10.50"),
            product(3, "Bagel", "3.000", "6.60"),
        ],
        "by_hour": hours({0: (1, "6.60"), 10: (1, "7.00"), 14: (1, "8.00"), 23: (1, "7.50")}),
        "generated_at": "2026-03-11T02:00:00Z",
    }


@pytest.mark.parametrize(
    ("query", "expected_range"),
    [
        pytest.param({"to": "2026-03-01"}, ("2026-01-31", "2026-03-01"), id="to-only"),
        pytest.param({"from": "2026-03-01"}, ("2026-03-01", "2026-03-10"), id="from-only"),
        pytest.param(
            {"from": "2025-03-10", "to": "2026-03-10"}, ("2025-03-10", "2026-03-10"), id="366-days"
        ),
    ],
)
def test_a_range_given_in_part_ends_or_starts_at_the_defaults(
    store_a, client_for, monkeypatch, query, expected_range
):
    # given it is 10 March in New York
    at_two = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
    monkeypatch.setattr(analytics.services, "now", lambda: at_two)
    monkeypatch.setattr(stores.clock, "now", lambda: at_two)  # the store's today
    set_up_store(store_a, prices_include_tax=True)

    # when
    response = client_for(store_a.owner, store_a.store).get(SUMMARY, query)

    # then
    body = response.json()
    first, last = (date.fromisoformat(value) for value in expected_range)
    assert response.status_code == 200
    assert (body["from"], body["to"]) == expected_range
    assert [row["date"] for row in body["by_day"]] == [
        (first + timedelta(days=offset)).isoformat() for offset in range((last - first).days + 1)
    ]


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        pytest.param({"from": "yesterday"}, {"from": [WRONG_DATE]}, id="unparseable-from"),
        pytest.param(
            {"from": "2026-02-30", "to": "2026-03-01"}, {"from": [WRONG_DATE]}, id="no-such-day"
        ),
        pytest.param({"to": "10/03/2026"}, {"to": [WRONG_DATE]}, id="unparseable-to"),
        pytest.param(
            {"from": "2026-03-11", "to": "2026-03-10"},
            {"from": ["`from` comes after `to`."]},
            id="from-after-to",
        ),
        pytest.param(
            {"from": "2026-03-11"}, {"from": ["`from` comes after `to`."]}, id="from-after-today"
        ),
        pytest.param(
            {"from": "2025-03-09", "to": "2026-03-10"},
            {"to": ["A range spans at most 366 days."]},
            id="367-days",
        ),
        pytest.param(
            {"from": "2025-03-09"}, {"from": ["A range spans at most 366 days."]}, id="367-to-today"
        ),
    ],
)
def test_a_bad_range_is_400(store_a, client_for, monkeypatch, query, errors):
    # given it is 10 March in New York
    at_two = datetime(2026, 3, 11, 2, 0, tzinfo=UTC)
    monkeypatch.setattr(analytics.services, "now", lambda: at_two)
    monkeypatch.setattr(stores.clock, "now", lambda: at_two)  # the store's today
    set_up_store(store_a, prices_include_tax=True)

    # when
    response = client_for(store_a.owner, store_a.store).get(SUMMARY, query)

    # then
    assert response.status_code == 400
    assert response.json() == errors


@pytest.mark.parametrize("role", ["owner", "manager"])
def test_owners_and_managers_read_the_summary(store_a, client_for, role):
    response = client_for(store_a.member(role), store_a.store).get(SUMMARY)

    assert response.status_code == 200
    assert len(response.json()["by_day"]) == 30


def test_cashiers_may_not_read_the_summary(store_a, client_for):
    response = client_for(store_a.cashier, store_a.store).get(SUMMARY)

    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED


def test_a_member_of_another_store_may_not_read_the_summary(store_a, store_b, client_for):
    response = client_for(store_b.owner, store_a.store).get(SUMMARY)

    assert response.status_code == 403
    assert response.json() == NOT_A_MEMBER


def test_anonymous_callers_get_401_from_the_summary(store_a, client_for):
    response = client_for(None, store_a.store).get(SUMMARY)

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED


# --- POST /api/analytics/regenerate/ --------------------------------------------------------


def test_regenerate_queues_a_job_that_rebuilds_everything(
    store_a, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    # given sales whose figures were never built
    monkeypatch.setattr(analytics.services, "now", lambda: GENERATED_AT)
    three_days_of_sales(store_a, prices_include_tax=True)
    client = client_for(store_a.owner, store_a.store)

    # when
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(REGENERATE, {})
    queued = job_json(store_a, 1)
    commit_in_store(store_a, callbacks)

    # then the answer is the job, queued
    assert response.status_code == 202
    assert response.json() == {
        "job": {
            "id": 1,
            "kind": "analytics.rebuild",
            "status": "queued",
            "progress": 0,
            "params": {"date_from": None, "date_to": None},
            "result": None,
            "error": "",
            "attempts": 0,
            "requested_by": store_a.owner.pk,
            "created_at": queued["created_at"],
            "started_at": None,
            "finished_at": None,
        }
    }
    assert response.json()["job"] == queued
    # and once committed it has run: succeeded, with what it rebuilt
    job = client.get(f"{JOBS}1/").json()
    assert job == {
        **queued,
        "status": "succeeded",
        "progress": 100,
        "result": {"from": "2026-03-09", "to": "2026-03-11", "days": 3},
        "attempts": 1,
        "started_at": job_json(store_a, 1)["started_at"],
        "finished_at": job_json(store_a, 1)["finished_at"],
    }
    assert job["started_at"] is not None
    assert job["finished_at"] is not None
    # and the summary matches the sales exactly
    summary = client.get(SUMMARY, {"from": "2026-03-08", "to": "2026-03-12"})
    assert summary.json() == EXPECTED_SUMMARY[True]


def test_regenerate_a_range(store_a, client_for, django_capture_on_commit_callbacks):
    # given
    three_days_of_sales(store_a, prices_include_tax=True)
    client = client_for(store_a.manager, store_a.store)

    # when
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(REGENERATE, {"from": "2026-03-10", "to": "2026-03-10"})
    commit_in_store(store_a, callbacks)

    # then
    assert response.status_code == 202
    assert (response.json()["job"]["status"], response.json()["job"]["params"]) == (
        "queued",
        {"date_from": "2026-03-10", "date_to": "2026-03-10"},
    )
    assert response.json()["job"]["requested_by"] == store_a.manager.pk
    job = client.get(f"{JOBS}1/").json()
    assert (job["status"], job["result"], job["error"]) == (
        "succeeded",
        {"from": "2026-03-10", "to": "2026-03-10", "days": 1},
        "",
    )
    with schema_context(store_a.store.schema_name):
        tables = analytics_tables()
    assert tables == {
        name: [row for row in rows if row[0] == MARCH_10]
        for name, rows in EXPECTED_ROWS[True].items()
    }


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(
            {"from": "2026-03-10"},
            {"non_field_errors": ["Give both `from` and `to`, or neither."]},
            id="from-without-to",
        ),
        pytest.param(
            {"to": "2026-03-10"},
            {"non_field_errors": ["Give both `from` and `to`, or neither."]},
            id="to-without-from",
        ),
        pytest.param(
            {"from": "2026-03-11", "to": "2026-03-10"},
            {"from": ["`from` comes after `to`."]},
            id="from-after-to",
        ),
        pytest.param(
            {"from": "2025-03-09", "to": "2026-03-10"},
            {"to": ["A range spans at most 366 days."]},
            id="367-days",
        ),
        pytest.param(
            {"from": "soon", "to": "2026-03-10"}, {"from": [WRONG_DATE]}, id="unparseable"
        ),
    ],
)
def test_a_bad_regenerate_range_is_400_and_queues_nothing(
    store_a, client_for, django_capture_on_commit_callbacks, body, errors
):
    # given
    client = client_for(store_a.owner, store_a.store)

    # when
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(REGENERATE, body)

    # then
    assert response.status_code == 400
    assert response.json() == errors
    assert callbacks == []
    assert jobs_of(store_a) == []


def test_cashiers_may_not_regenerate(store_a, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(store_a.cashier, store_a.store).post(REGENERATE, {})

    assert response.status_code == 403
    assert response.json() == PERMISSION_DENIED
    assert callbacks == []
    assert jobs_of(store_a) == []


def test_a_member_of_another_store_may_not_regenerate(store_a, store_b, client_for):
    response = client_for(store_b.owner, store_a.store).post(REGENERATE, {})

    assert response.status_code == 403
    assert response.json() == NOT_A_MEMBER
    assert jobs_of(store_a) == []
    assert jobs_of(store_b) == []


def test_anonymous_callers_get_401_from_regenerate(store_a, client_for):
    response = client_for(None, store_a.store).post(REGENERATE, {})

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert jobs_of(store_a) == []


@pytest.mark.usefixtures("committed_stores")
def test_a_committed_regenerate_request_runs_its_job_in_the_store(client_for):
    # given a committed store with a sale made now, its figures lost
    staffed = make_store(STORE_SCHEMAS[0], name="Committed Shop")
    set_up_store(staffed, prices_include_tax=True)
    with tenant_context(staffed.store):
        coffee = ProductFactory(
            name="Coffee", price=Decimal("3.50"), tax_rate=Decimal("10"), stock="10"
        )
        sale_checkout(
            user=staffed.owner,
            role="owner",
            register_id=staffed.register.pk,
            lines=[LineInput(product_id=coffee.pk, quantity=Decimal("2"))],
            payments=[PaymentInput(method="card", amount=Decimal("7.00"))],
        )
        sold_on = stores.clock.local_day(Sale.objects.get().created_at)
        empty_analytics_tables()
    client = client_for(staffed.owner, staffed.store)

    # when: the request's transaction commits, and with it the job is sent
    response = client.post(REGENERATE, {})

    # then
    assert response.status_code == 202
    assert response.json()["job"]["status"] == "queued"
    job = client.get(f"{JOBS}{response.json()['job']['id']}/").json()
    assert (job["status"], job["attempts"], job["result"]) == (
        "succeeded",
        1,
        {"from": sold_on.isoformat(), "to": sold_on.isoformat(), "days": 1},
    )
    summary = client.get(SUMMARY, {"from": sold_on.isoformat(), "to": sold_on.isoformat()}).json()
    assert (summary["sales_count"], summary["revenue"], summary["items_sold"]) == (
        1,
        "7.00",
        "2.000",
    )
