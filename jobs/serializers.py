"""Output shapes of the jobs API."""

from rest_framework import serializers

from jobs.models import Job


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
