"""Operational endpoints (health) and the JSON answers for errors outside DRF's views."""

import logging

from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.celery import app as celery_app

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 1.0


def broker_status() -> str:
    """`eager` without a broker, else `ok` or `down` after one short connection attempt."""
    if celery_app.conf.task_always_eager:
        return "eager"
    try:
        with celery_app.connection_for_write(connect_timeout=BROKER_TIMEOUT_SECONDS) as broker:
            broker.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception:
        logger.warning("broker unreachable", exc_info=True)
        return "down"
    return "ok"


HEALTH = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "error"]),
        "database": serializers.ChoiceField(choices=["ok", "down"]),
        "broker": serializers.ChoiceField(choices=["ok", "eager", "down"]),
    },
)


@method_decorator(transaction.non_atomic_requests, name="dispatch")
class HealthApi(APIView):
    """Liveness for load balancers and monitoring: the database, and the Celery broker.

    Outside the request transaction, which could not even open with the database down.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    @extend_schema(
        operation_id="health",
        summary="Health check",
        responses={200: HEALTH, 503: HEALTH},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            database = "ok"
        except DatabaseError:
            logger.exception("database unreachable")
            database = "down"
        body = {
            "status": "ok" if database == "ok" else "error",
            "database": database,
            "broker": broker_status(),
        }
        return Response(body, status=200 if database == "ok" else 503)


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
