"""Reads of sales that are more than a filter: with everything their answer shows."""

from django.db.models import Prefetch, QuerySet

from sales.models import Sale, SaleLine, SalePayment


def sale_list(*, customer_id: int | None = None) -> QuerySet[Sale]:
    """Sales, newest first, with cashier, lines and payments (in their order) in four queries.

    The cashier is prefetched, not joined: a sale whose cashier's user row is gone (users live
    in public, with no constraint from a store's tables) still lists, with no cashier.
    """
    sales = Sale.objects.prefetch_related(
        "cashier",
        Prefetch("lines", queryset=SaleLine.objects.order_by("id")),
        Prefetch("payments", queryset=SalePayment.objects.order_by("id")),
    ).order_by("-id")
    if customer_id is not None:
        sales = sales.filter(customer_id=customer_id)
    return sales
