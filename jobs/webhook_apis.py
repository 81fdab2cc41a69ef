"""Thin DRF views of webhooks (`/api/webhooks/`, owner) and the event feed (`/api/events/`)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from core.exceptions import Conflict
from core.models import Event
from jobs.filters import EventFilter
from jobs.models import Webhook, WebhookDelivery
from jobs.serializers import (
    EventSerializer,
    WebhookCreatedSerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
)
from jobs.webhooks import services
from jobs.webhooks.tasks import delivery_retry_enqueue
from stores.permissions import OWNER_ONLY, OWNER_OR_MANAGER, store_roles
from stores.tenancy import StoreScopedViewMixin


class WebhookInactive(Conflict):
    default_detail = "This webhook is off; turn it on (is_active) before retrying its deliveries."
    default_code = "webhook_inactive"


@extend_schema_view(
    list=extend_schema(summary="List webhooks"),
    retrieve=extend_schema(summary="Get a webhook"),
    create=extend_schema(summary="Subscribe a URL", responses={201: WebhookCreatedSerializer}),
    update=extend_schema(summary="Replace a webhook"),
    partial_update=extend_schema(summary="Change a webhook"),
    destroy=extend_schema(summary="Delete a webhook"),
)
class WebhookViewSet(StoreScopedViewMixin, viewsets.ModelViewSet):
    """The store's webhooks: its events posted to a URL, signed by the Standard Webhooks
    specification (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with backoff
    on network errors and 5xx for up to a day, never on other 4xx. Owners only."""

    queryset = Webhook.objects.order_by("id")
    serializer_class = WebhookSerializer
    permission_classes = (store_roles(read=OWNER_ONLY, write=OWNER_ONLY),)
    filterset_fields = ("is_active",)
    ordering_fields = ("id", "created_at")
    lookup_value_regex = r"[0-9]+"

    def create(self, request: Request) -> Response:
        """Subscribe a URL to event types. The answer holds the signing `secret`, once."""
        serializer = WebhookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.webhook_create(user=request.user, **serializer.validated_data)
        body = WebhookCreatedSerializer(created.webhook).data
        body["secret"] = created.secret
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.webhook_update(
            webhook=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Webhook) -> None:
        services.webhook_delete(webhook=instance)

    @extend_schema(
        summary="List a webhook's deliveries", responses=WebhookDeliverySerializer(many=True)
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The events sent to this webhook, newest first: status, attempts, the last answer's
        code, latency and error, and the log of every attempt."""
        webhook = self.get_object()
        deliveries = (
            WebhookDelivery.objects.filter(webhook=webhook)
            .select_related("event")
            .prefetch_related("attempt_log")
            .order_by("-event_id")
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Retry a delivery",
        request=None,
        responses={
            202: WebhookDeliverySerializer,
            409: OpenApiResponse(description="`webhook_inactive`: turn the webhook on first."),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/retry",
    )
    def retry(
        self, request: Request, pk: str | None = None, delivery_id: str | None = None
    ) -> Response:
        """Send a delivery again now (a failed one gets a new day of retries)."""
        webhook = self.get_object()
        delivery = get_object_or_404(WebhookDelivery, pk=int(delivery_id), webhook=webhook)
        if not webhook.is_active:
            raise WebhookInactive
        delivery = services.delivery_retry(delivery=delivery)
        delivery_retry_enqueue(webhook_id=webhook.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(list=extend_schema(summary="List the store's events"))
class EventViewSet(StoreScopedViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The store's events in order, for clients that poll: ask with `after` = the last id seen.
    An event's id is never reused, and no event appears later with a smaller id than one
    already listed, so following `after` misses none."""

    queryset = Event.objects.order_by("id")
    serializer_class = EventSerializer
    permission_classes = (store_roles(read=OWNER_OR_MANAGER, write=OWNER_OR_MANAGER),)
    filterset_class = EventFilter
    ordering_fields = ("id",)  # the feed's own order; nothing else (DRF's None is "any field")
    ordering = ("id",)
