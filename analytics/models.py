"""A store's precomputed sales figures, in the store's own schema, rebuilt from its sales.

Days are the store's local days. Every table's primary key starts with the day (no surrogate id:
one index to write per row), so a rebuild replaces whole days.
"""

from decimal import Decimal

from django.db import models

from core.money import ZERO, MoneyColumn


def _money() -> MoneyColumn:
    # Sums of a store's sales over days: two more whole digits than one sale's amounts.
    return MoneyColumn(max_digits=16, default=ZERO)


class DailySales(models.Model):
    """A day's sales (by the sale's day) and refunds (by the refund's day)."""

    date = models.DateField(primary_key=True)
    sales_count = models.PositiveIntegerField(default=0)
    revenue = _money()
    refunds = _money()
    items_sold = models.DecimalField(max_digits=14, decimal_places=3, default=Decimal("0"))
    generated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.date}: {self.sales_count} sales, {self.revenue}"


class DailyPayment(models.Model):
    """What a day's sales took by each payment method, cash net of change, before refunds."""

    pk = models.CompositePrimaryKey("date", "method")
    date = models.DateField()
    method = models.CharField(max_length=8)
    amount = _money()

    def __str__(self) -> str:
        return f"{self.date} {self.method}: {self.amount}"


class HourlySales(models.Model):
    """A day's sales by the local hour they were made in."""

    pk = models.CompositePrimaryKey("date", "hour")
    date = models.DateField()
    hour = models.PositiveSmallIntegerField()
    sales_count = models.PositiveIntegerField(default=0)
    revenue = _money()

    def __str__(self) -> str:
        return f"{self.date} {self.hour}h: {self.revenue}"


class DailyProductSales(models.Model):
    """A day's sales of one product: quantity, and what customers paid for it (tax included)."""

    pk = models.CompositePrimaryKey("date", "product_id")
    date = models.DateField()
    product_id = models.BigIntegerField()
    quantity = models.DecimalField(max_digits=14, decimal_places=3, default=Decimal("0"))
    revenue = _money()

    def __str__(self) -> str:
        return f"{self.date} product {self.product_id}: {self.quantity}"
