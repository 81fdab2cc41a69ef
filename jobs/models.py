"""A store's background work, in the store's own schema: jobs, and webhook deliveries."""

from typing import ClassVar

from django.db import models
from django.utils.timezone import now

from stores.models import user_reference


class Job(models.Model):
    """One background task, from queued to succeeded or failed, with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = user_reference(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched on every progress report: a running job that stops beating lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["status", "heartbeat_at"], name="jobs_job_status_heartbeat_idx"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="jobs_job_progress_lte_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class Webhook(models.Model):
    """A subscription: the store's events of some types, signed and posted to a URL.

    `secret` holds the signing secret encrypted (Fernet, `jobs.webhooks.secrets`): the
    signature needs the secret itself, so it cannot be hashed. The delivery state is kept here
    too: `fanned_through` is the last event turned into deliveries, and a worker delivering holds
    `leased_until`, so deliveries to one URL go one at a time, in event order.
    """

    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    secret = models.TextField()
    is_active = models.BooleanField(default=True)
    # Why Kassa turned it off (a URL gone, a day of failures); empty when on, or turned off by hand.
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    created_by = user_reference(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    fanned_through = models.BigIntegerField(default=0)
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["id"]

    def __str__(self) -> str:
        return f"Webhook {self.pk} to {self.url}"


class WebhookDelivery(models.Model):
    """One event for one subscription, from its first attempt until it arrived or gave up. Its
    `webhook-id` header is the same on every attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("core.Event", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=now)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.IntegerField(null=True, blank=True)
    latency_ms = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["webhook", "event"], name="jobs_webhook_delivery_once_per_event"
            ),
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["webhook", "event"],
                condition=models.Q(status="pending"),
                name="jobs_webhook_delivery_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"Event {self.event_id} to webhook {self.webhook_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One request of a delivery: when, what came back (or what went wrong), how long it took."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(default=now)
    response_code = models.IntegerField(null=True, blank=True)
    latency_ms = models.IntegerField()
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering: ClassVar = ["id"]

    def __str__(self) -> str:
        return f"Attempt {self.pk} of delivery {self.delivery_id}"
