"""Input and output shapes of the jobs, webhooks and events API."""

from rest_framework import serializers

from core.events import EVENT_TYPES
from core.models import Event
from jobs.models import Job, Webhook, WebhookAttempt, WebhookDelivery


class JobSerializer(serializers.ModelSerializer):
    """A background job of the store (an analytics rebuild, …): its state, progress and result."""

    class Meta:
        model = Job
        fields = (
            "id",
            "kind",
            "status",
            "progress",
            "params",
            "result",
            "error",
            "attempts",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields


# --- Webhooks and events ----------------------------------------------------------------------


class WebhookSerializer(serializers.ModelSerializer):
    """A subscription to the store's events. `disabled_reason` says why Kassa turned it off (a
    410 Gone, a day of failed deliveries); setting `is_active` again turns it back on."""

    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1, max_length=20
    )

    class Meta:
        model = Webhook
        fields = ("id", "url", "events", "is_active", "disabled_reason", "created_at")
        read_only_fields = ("disabled_reason", "created_at")


class WebhookCreatedSerializer(WebhookSerializer):
    """A new subscription, with its signing secret: shown in this answer only."""

    secret = serializers.CharField(
        read_only=True,
        help_text="The Standard Webhooks signing secret (`whsec_…`); Kassa never shows it again.",
    )

    class Meta(WebhookSerializer.Meta):
        fields = (*WebhookSerializer.Meta.fields, "secret")


class WebhookAttemptSerializer(serializers.ModelSerializer):
    """One request of a delivery: when, the answer's code (none: no answer), how long, why."""

    class Meta:
        model = WebhookAttempt
        fields = ("attempted_at", "response_code", "latency_ms", "error")
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One event sent to the subscription: its state, the last answer, and every attempt."""

    type = serializers.CharField(source="event.type", read_only=True)
    log = WebhookAttemptSerializer(source="attempt_log", many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = (
            "id",
            "event",
            "type",
            "status",
            "attempts",
            "response_code",
            "latency_ms",
            "error",
            "next_attempt_at",
            "created_at",
            "finished_at",
            "log",
        )
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    """An event of the store, as webhooks carry it: `type`, `timestamp` and `data`."""

    timestamp = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Event
        fields = ("id", "type", "timestamp", "data")
        read_only_fields = fields
