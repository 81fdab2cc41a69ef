"""Reads of sales that are more than a filter: with everything their answer shows."""

from django.db.models import Prefetch, QuerySet

from sales.models import Sale, SaleLine, SalePayment


def sale_list(*, customer_id: int | None = None) -> QuerySet[Sale]:
    """Sales, newest first, with cashier, lines and payments (in their order) in three queries."""
    sales = (
        Sale.objects.select_related("cashier")
        .prefetch_related(
            Prefetch("lines", queryset=SaleLine.objects.order_by("id")),
            Prefetch("payments", queryset=SalePayment.objects.order_by("id")),
        )
        .order_by("-id")
    )
    if customer_id is not None:
        sales = sales.filter(customer_id=customer_id)
    return sales
