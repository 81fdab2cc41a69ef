"""A store's background jobs, in the store's own schema."""

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
