"""GET /api/health/: the database and the broker, for load balancers and monitoring."""

import pytest
from django.db import OperationalError
from django.http import HttpResponse
from rest_framework.test import APIClient

from core.celery import app as celery_app
from ops.apis import BROKER_TIMEOUT_SECONDS

HEALTH_URL = "/api/health/"
UNUSED_PORT_BROKER = "redis://127.0.0.1:1/0"


class DatabaseDown:
    """Stands in for `django.db.connection` in the health view: every cursor fails."""

    def cursor(self) -> None:
        raise OperationalError("connection refused")


@pytest.fixture
def broker_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds kombu sleeps between broker connection attempts, recorded instead of slept."""
    waits: list[float] = []
    monkeypatch.setattr("kombu.utils.functional.sleep", waits.append)
    return waits


def assert_json(response: HttpResponse) -> None:
    assert response["Content-Type"] == "application/json"


# --- GET /api/health/ -----------------------------------------------------------------------


def test_health_without_a_broker_is_ok_and_eager(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.get(HEALTH_URL)

    # then
    assert response.status_code == 200
    assert_json(response)
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager"}


def test_health_needs_no_credentials_and_ignores_bad_ones(api_client: APIClient, db: None) -> None:
    # given
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage", HTTP_X_TENANT_KEY="nope")

    # when
    response = api_client.get(HEALTH_URL)

    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager"}
    assert "X-Tenant-Key" not in response


def test_health_with_an_unreachable_broker_is_still_200(
    api_client: APIClient,
    db: None,
    settings,
    monkeypatch: pytest.MonkeyPatch,
    broker_waits: list[float],
) -> None:
    # given
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", UNUSED_PORT_BROKER)

    # when
    response = api_client.get(HEALTH_URL)

    # then: a load balancer keeps the web nodes; the broker is monitoring's business
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "down"}


def test_health_spends_at_most_the_broker_timeout_on_an_unreachable_broker(
    api_client: APIClient,
    db: None,
    settings,
    monkeypatch: pytest.MonkeyPatch,
    broker_waits: list[float],
) -> None:
    # given
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", UNUSED_PORT_BROKER)

    # when
    response = api_client.get(HEALTH_URL)

    # then: one short attempt, as `broker_status` promises; a probe that waits on retries
    # outlasts the load balancer's own timeout, and the node is dropped for a broker outage
    assert response.json()["broker"] == "down"
    assert sum(broker_waits) <= BROKER_TIMEOUT_SECONDS


def test_health_with_a_running_broker_is_ok(
    api_client: APIClient,
    db: None,
    settings,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
) -> None:
    # given: a real Redis
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", redis_url)

    # when
    response = api_client.get(HEALTH_URL)

    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_health_with_the_database_down_is_a_503(
    api_client: APIClient, db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    monkeypatch.setattr("ops.apis.connection", DatabaseDown())

    # when
    response = api_client.get(HEALTH_URL)

    # then
    assert response.status_code == 503
    assert_json(response)
    assert response.json() == {"status": "error", "database": "down", "broker": "eager"}


def test_health_with_database_and_broker_down(
    api_client: APIClient,
    db: None,
    settings,
    monkeypatch: pytest.MonkeyPatch,
    broker_waits: list[float],
) -> None:
    # given
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "broker_url", UNUSED_PORT_BROKER)
    monkeypatch.setattr("ops.apis.connection", DatabaseDown())

    # when
    response = api_client.get(HEALTH_URL)

    # then
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "down", "broker": "down"}


def test_health_head_is_answered_like_get(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.head(HEALTH_URL)

    # then
    assert response.status_code == 200
    assert response.content == b""


def test_health_put_is_a_405_in_json(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.put(HEALTH_URL, {})

    # then
    assert response.status_code == 405
    assert_json(response)
    assert response.json() == {
        "detail": 'Method "PUT" not allowed.',
        "code": "method_not_allowed",
    }
