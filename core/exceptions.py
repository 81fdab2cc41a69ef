"""Every error as JSON: domain errors with a stable code, the DRF exception handler, and the
answers Django gives outside DRF's views (unknown URLs, CSRF failures, server errors)."""

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError, connections
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.database.errors import SchemaMissing

logger = logging.getLogger(__name__)


class DomainError(exceptions.APIException):
    """A request-level error with a stable `code`, rendered as `{"detail", "code", **extra}`."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request cannot be processed."
    default_code = "invalid"

    def __init__(self, detail: str | None = None, *, extra: Mapping[str, Any] | None = None):
        super().__init__(detail=detail, code=self.default_code)
        self.extra = dict(extra or {})


class ServiceUnavailable(DomainError):
    """The database went away (restart, failover) or gave up on a lock: try again shortly."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is briefly unavailable; try again."
    default_code = "service_unavailable"


class StoreUnavailable(DomainError):
    """The store's schema is missing: an operator must restore it (`manage.py doctor`)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "This store is unavailable; try again later."
    default_code = "store_unavailable"


class PayloadTooLarge(DomainError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is larger than this endpoint takes."
    default_code = "payload_too_large"


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class ValueOutOfRange(Conflict):
    """A valid request whose result would pass what a column holds (a total grown too large)."""

    default_detail = "The result would pass the largest value Kassa keeps."
    default_code = "value_out_of_range"


class InvalidValue(DomainError):
    default_detail = "A value in the request cannot be stored."
    default_code = "invalid_value"


# PostgreSQL's SQLSTATE for a number past its column (`numeric field overflow`, …).
NUMERIC_VALUE_OUT_OF_RANGE = "22003"


def api_error_for(error: DataError) -> DomainError:
    """What the database refused to store, as a client error naming its limit.

    Services check the limits they know of (a stock, a customer's total); this catches the
    rest, so no value a client sends becomes a 500. The request's transaction is rolled back.
    """
    cause = error.__cause__
    detail = getattr(getattr(cause, "diag", None), "message_detail", None) or str(error)
    if getattr(cause, "sqlstate", None) == NUMERIC_VALUE_OUT_OF_RANGE:
        return ValueOutOfRange(f"{ValueOutOfRange.default_detail} {detail}".strip())
    return InvalidValue(f"{InvalidValue.default_detail} {detail}".strip())


def _without_dooming_a_callers_transaction(
    exc: Exception, context: Mapping[str, Any]
) -> Response | None:
    """DRF's handler, which marks the request's transaction for rollback. A view that runs
    outside the request transaction (`non_atomic_requests`: it commits its own work piece by
    piece) has none to mark, and a transaction it runs inside of is its caller's (a test's):
    that one is left as it was."""
    view = context.get("view")
    non_atomic = getattr(getattr(type(view), "dispatch", None), "_non_atomic_requests", set())
    doomed_before = {alias: connections[alias].needs_rollback for alias in non_atomic}
    response = drf_exception_handler(exc, context)
    for alias, doomed in doomed_before.items():
        connections[alias].needs_rollback = doomed
    return response


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """DRF's handler, with Django's errors mapped and request-level errors given a `code`."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, SchemaMissing):
        logger.error("store schema missing", extra={"schema": exc.schema_name})
        exc = StoreUnavailable()
    elif isinstance(exc, DataError):
        exc = api_error_for(exc)
    elif isinstance(exc, OperationalError | InterfaceError):
        # Nothing was written (the request's transaction is rolled back); a retry is safe,
        # and with an Idempotency-Key a checkout retried after this is still made once.
        exc = ServiceUnavailable()

    response = _without_dooming_a_callers_transaction(exc, context)
    if response is None:
        return None
    if isinstance(exc, ServiceUnavailable):
        response["Retry-After"] = "1"

    if isinstance(exc, exceptions.APIException) and not isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, exceptions.ErrorDetail | str):
            response.data = {
                "detail": str(detail),
                "code": getattr(detail, "code", exc.default_code),
            }
        if isinstance(exc, DomainError):
            response.data.update(exc.extra)
    return response


# --- Django's error views (handler400, handler403, handler404, handler500, CSRF_FAILURE_VIEW) --


def _error(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


@csrf_exempt  # an unknown URL is a 404 whatever the method; there is nothing to protect
def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    detail = "Not found."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            detail = f"Not found. Kassa's URLs end with a slash: {request.path}/"
    return _error(detail, "not_found", 404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _error("Bad request.", "bad_request", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _error("You do not have permission to perform this action.", "permission_denied", 403)


def server_error(request: HttpRequest) -> JsonResponse:
    return _error("Internal server error.", "server_error", 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    return _error("CSRF verification failed.", "csrf_failed", 403)


def locked_out(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """django-axes' answer to a sign-in locked out after too many failures."""
    return _error(
        "Too many failed sign-ins: this account is locked for a while from here.", "locked_out", 429
    )
