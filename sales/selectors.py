"""Reads of sales that are more than a filter: with everything their answer shows."""

from django.db.models import QuerySet

from sales.models import Sale


def sale_list(*, customer_id: int | None = None) -> QuerySet[Sale]:
    """Sales, newest first, with cashier, lines and payments loaded in three queries in all."""
    sales = (
        Sale.objects.select_related("cashier").prefetch_related("lines", "payments").order_by("-id")
    )
    if customer_id is not None:
        sales = sales.filter(customer_id=customer_id)
    return sales
