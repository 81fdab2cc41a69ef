"""Tables of a store's sales, in the store's own schema."""

from typing import ClassVar

from django.db import models
from django.utils.timezone import now


class Register(models.Model):
    """A till: shifts are opened on it and sales rung up through it."""

    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering: ClassVar = ["id"]

    def __str__(self) -> str:
        return self.name
