"""A store's precomputed sales figures, in the store's own schema, rebuilt from its sales.

Days are the store's local days. Every table is keyed by day, so a rebuild replaces whole days.
"""

from decimal import Decimal
from typing import ClassVar

from django.db import models

ZERO = Decimal("0.00")


def _money() -> models.DecimalField:
    return models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)


class DailySales(models.Model):
    """A day's sales (by the sale's day) and refunds (by the refund's day)."""

    date = models.DateField(unique=True)
    sales_count = models.PositiveIntegerField(default=0)
    revenue = _money()
    refunds = _money()
    items_sold = models.DecimalField(max_digits=14, decimal_places=3, default=Decimal("0"))
    generated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.date}: {self.sales_count} sales, {self.revenue}"


class DailyPayment(models.Model):
    """What a day's sales took by each payment method, cash net of change, before refunds."""

    date = models.DateField()
    method = models.CharField(max_length=8)
    amount = _money()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["date", "method"], name="analytics_payment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.method}: {self.amount}"


class HourlySales(models.Model):
    """A day's sales by the local hour they were made in."""

    date = models.DateField()
    hour = models.PositiveSmallIntegerField()
    sales_count = models.PositiveIntegerField(default=0)
    revenue = _money()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["date", "hour"], name="analytics_hourly_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.hour}h: {self.revenue}"


class DailyProductSales(models.Model):
    """A day's sales of one product: quantity, and what customers paid for it (tax included)."""

    date = models.DateField()
    product_id = models.BigIntegerField()
    name = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=14, decimal_places=3, default=Decimal("0"))
    revenue = _money()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["date", "product_id"], name="analytics_product_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.date} product {self.product_id}: {self.quantity}"
