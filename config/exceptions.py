"""Error shapes: domain errors with a stable code, and one handler that makes every error JSON."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


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
    elif isinstance(exc, OperationalError | InterfaceError):
        # Nothing was written (the request's transaction is rolled back); a retry is safe,
        # and with an Idempotency-Key a checkout retried after this is still made once.
        exc = ServiceUnavailable()

    response = drf_exception_handler(exc, context)
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
