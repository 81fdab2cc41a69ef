"""A store's shoppers, in the store's own schema."""

from typing import ClassVar

from django.db import models
from django.utils.timezone import now

from core.money import ZERO, MoneyColumn


class Customer(models.Model):
    """A shopper. `total_spent`, `visits` and `last_purchase_at` are kept by sales and refunds."""

    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=32, blank=True, default="")
    email = models.EmailField(max_length=254, blank=True, default="")
    note = models.TextField(max_length=2000, blank=True, default="")
    total_spent = MoneyColumn(max_digits=16, default=ZERO)
    visits = models.PositiveIntegerField(default=0)
    last_purchase_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["name"], name="customers_customer_name_idx"),
            models.Index(fields=["phone"], name="customers_customer_phone_idx"),
        ]

    def __str__(self) -> str:
        return self.name
