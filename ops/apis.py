"""The health check load balancers and monitoring poll: the database, and the Celery broker."""

import logging

from django.db import DatabaseError, connection, transaction
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.celery import app as celery_app

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


class HealthSerializer(serializers.Serializer):
    """Whether Kassa can serve: its database, and its Celery broker (`eager`: none, tasks run in
    the web process)."""

    status = serializers.ChoiceField(choices=["ok", "error"])
    database = serializers.ChoiceField(choices=["ok", "down"])
    broker = serializers.ChoiceField(choices=["ok", "eager", "down"])


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
        responses={200: HealthSerializer, 503: HealthSerializer},
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
