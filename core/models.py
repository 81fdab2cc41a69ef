"""The kernel's tables, in every store's schema: the transactional outbox of the store's events.

An event is written in the transaction of what causes it (a sale, a refund, a shift closed, a
stock level crossed), so it exists exactly when its cause committed. Its id is taken from
`EventCounter`, whose row stays locked until that transaction commits: ids become visible in
their order, and a reader following `id > after` never skips one that commits late.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.timezone import now


class Event(models.Model):
    """Something that happened in the store, for webhooks and for clients that poll."""

    id = models.BigIntegerField(primary_key=True)
    type = models.CharField(max_length=40)
    data = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class EventCounter(models.Model):
    """The last event id handed out: one row, named, incremented in each writer's transaction."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
