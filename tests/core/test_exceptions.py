"""Every error is JSON: DRF's errors, domain errors, and Django's answers outside DRF's views.

This module is also the URL conf of the server-error tests: Kassa's URLs plus views that fail.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

import config.urls

HEALTH_URL = "/api/health/"
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
SERVER_ERROR = {"detail": "Internal server error.", "code": "server_error"}


# --- A URL conf with views that fail (used through settings.ROOT_URLCONF) --------------------


class FailingApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get(self, request: Request) -> Response:
        raise RuntimeError("a bug")


class DatabaseGoneApi(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    def get(self, request: Request) -> Response:
        raise OperationalError("server closed the connection unexpectedly")


class OverflowApi(APIView):
    """Writes a number past its column: what the database refuses after validation passed."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMPORARY TABLE figures (amount numeric(5, 2))")
            cursor.execute("INSERT INTO figures VALUES (1)")
            cursor.execute("UPDATE figures SET amount = amount + %s", [Decimal("999.99")])
        return Response(status=204)


def failing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def suspicious_view(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("tampered")


def forbidden_view(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


urlpatterns = [
    path("api/test-failing-api/", FailingApi.as_view()),
    path("api/test-database-gone/", DatabaseGoneApi.as_view()),
    path("api/test-overflow/", OverflowApi.as_view()),
    path("test-failing-view/", failing_view),
    path("test-suspicious/", suspicious_view),
    path("test-forbidden/", forbidden_view),
    *config.urls.urlpatterns,
]
handler400 = config.urls.handler400
handler403 = config.urls.handler403
handler404 = config.urls.handler404
handler500 = config.urls.handler500


@pytest.fixture
def failing_urls(settings) -> None:
    settings.ROOT_URLCONF = __name__


def assert_json(response: HttpResponse) -> None:
    assert response["Content-Type"] == "application/json"


# --- JSON errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/api/nope/", "/api/nope", "/api/sales/nope/", "/api/auth/", "/nope/", "/nope", "/"],
)
def test_unknown_url_is_a_json_404(api_client: APIClient, db: None, url: str) -> None:
    # when
    response = api_client.get(url)

    # then
    assert response.status_code == 404
    assert_json(response)
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_unknown_api_url_is_a_json_404_whatever_the_method(
    api_client: APIClient, db: None, method: str
) -> None:
    # when
    response = getattr(api_client, method)("/api/nope/")

    # then
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/health"),
        ("post", "/api/auth/token"),
        ("get", "/api/me"),
        ("get", "/api/sales/registers"),
    ],
)
def test_api_url_without_its_slash_is_a_404_that_names_the_right_url(
    api_client: APIClient, db: None, method: str, url: str
) -> None:
    # when
    response = getattr(api_client, method)(url, {})

    # then: not a redirect, which would turn a POST into a GET
    assert response.status_code == 404
    assert_json(response)
    assert response.json() == {
        "detail": f"Not found. Kassa's URLs end with a slash: {url}/",
        "code": "not_found",
    }


def test_unknown_api_url_is_json_with_debug_on(
    api_client: APIClient,
    db: None,
    settings,
) -> None:
    # given
    settings.DEBUG = True

    # when
    missing = api_client.get("/api/nope/")
    without_slash = api_client.get("/api/health")

    # then
    assert missing.status_code == 404
    assert_json(missing)
    assert missing.json() == NOT_FOUND
    assert without_slash.status_code == 404
    assert without_slash.json()["detail"] == (
        "Not found. Kassa's URLs end with a slash: /api/health/"
    )


def test_malformed_json_is_a_400_parse_error(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.post(
        "/api/auth/token/", data='{"email": "a@example.com", ', content_type="application/json"
    )

    # then
    assert response.status_code == 400
    assert_json(response)
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "parse_error"
    assert body["detail"].startswith("JSON parse error")


def test_non_json_body_is_a_415(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.post(
        "/api/auth/token/", data="email=a@example.com", content_type="text/plain"
    )

    # then
    assert response.status_code == 415
    assert response.json() == {
        "detail": 'Unsupported media type "text/plain" in request.',
        "code": "unsupported_media_type",
    }


def test_asking_for_html_still_gets_json(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.get("/api/me/", HTTP_ACCEPT="text/html")

    # then
    assert response.status_code == 406
    assert_json(response)
    assert response.json() == {
        "detail": "Could not satisfy the request Accept header.",
        "code": "not_acceptable",
    }


@pytest.mark.parametrize("url", ["/api/test-failing-api/", "/test-failing-view/"])
def test_unexpected_exception_is_a_json_500(failing_urls: None, db: None, url: str) -> None:
    # given
    client = APIClient(raise_request_exception=False)

    # when
    response = client.get(url)

    # then
    assert response.status_code == 500
    assert_json(response)
    assert response.json() == SERVER_ERROR


def test_suspicious_request_is_a_json_400(failing_urls: None, db: None) -> None:
    # when
    response = APIClient().get("/test-suspicious/")

    # then
    assert response.status_code == 400
    assert_json(response)
    assert response.json() == {"detail": "Bad request.", "code": "bad_request"}


def test_disallowed_host_is_a_json_400(api_client: APIClient, db: None) -> None:
    # when
    response = api_client.get(HEALTH_URL, HTTP_HOST="evil.example.com")

    # then
    assert response.status_code == 400
    assert_json(response)
    assert response.json() == {"detail": "Bad request.", "code": "bad_request"}


def test_django_permission_denied_is_a_json_403(failing_urls: None, db: None) -> None:
    # when
    response = APIClient().get("/test-forbidden/")

    # then
    assert response.status_code == 403
    assert_json(response)
    assert response.json() == {
        "detail": "You do not have permission to perform this action.",
        "code": "permission_denied",
    }


def test_oversized_body_is_a_json_400(api_client: APIClient, db: None, settings) -> None:
    # given
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = '{"email": "a@example.com", "password": "' + "x" * 2048 + '"}'

    # when
    response = APIClient(raise_request_exception=False).post(
        "/api/auth/token/", data=body, content_type="application/json"
    )

    # then
    assert response.status_code == 400
    assert_json(response)
    assert response.json() == {"detail": "Bad request.", "code": "bad_request"}


@pytest.mark.parametrize("method", ["put", "delete", "post", "patch"])
def test_an_unknown_url_is_a_json_404_for_every_method(
    api_client: APIClient, db: None, method: str
) -> None:
    # when: no CSRF token either, as API clients never send one
    response = getattr(api_client, method)("/api/sales/registers/1.5e-3/")

    # then
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_csrf_failure_is_json(db: None) -> None:
    # given a session-authenticated form post without its token (only Django views see CSRF)
    client = Client(enforce_csrf_checks=True)

    # when
    response = client.post("/admin/login/", {"username": "x", "password": "y"})

    # then
    assert response.status_code == 403
    assert response.json() == {"detail": "CSRF verification failed.", "code": "csrf_failed"}


def test_a_database_error_in_a_view_is_a_json_503_with_retry_after(
    failing_urls: None, db: None
) -> None:
    # given a view whose database goes away (a restart, a failover)
    client = APIClient(raise_request_exception=False)

    # when
    response = client.get("/api/test-database-gone/")

    # then: a retry is safe, and the client is told when
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json() == {
        "detail": "The service is briefly unavailable; try again.",
        "code": "service_unavailable",
    }


def test_a_number_past_its_column_is_a_409_naming_the_limit_and_nothing_is_written(
    failing_urls: None, db: None
) -> None:
    # given a view whose arithmetic passes what a column holds, after its input was valid
    client = APIClient(raise_request_exception=False)

    # when
    response = client.post("/api/test-overflow/")

    # then: a client error that names the column's limit, and the request rolled back
    assert response.status_code == 409
    assert response.json() == {
        "detail": "The result would pass the largest value Kassa keeps. A field with precision "
        "5, scale 2 must round to an absolute value less than 10^3.",
        "code": "value_out_of_range",
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pg_temp.figures')")
        assert cursor.fetchone() == (None,)
