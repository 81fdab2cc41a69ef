"""Reads of sales that are more than a filter: with everything their answer shows."""

from django.db.models import Prefetch, QuerySet

from sales.models import Refund, RefundLine, Sale, SaleLine, SalePayment


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


def sale_receipt_get(*, sale_id: int) -> Sale:
    """A sale with all its receipt shows: register, customer, cashier, lines, payments and
    refunds, in six queries whatever its size."""
    return (
        Sale.objects.select_related("register", "customer")
        .prefetch_related(
            "cashier",
            Prefetch("lines", queryset=SaleLine.objects.order_by("id")),
            Prefetch("payments", queryset=SalePayment.objects.order_by("id")),
            Prefetch("refunds", queryset=Refund.objects.order_by("id")),
        )
        .get(pk=sale_id)
    )


def refund_receipt_get(*, sale_id: int, refund_id: int) -> Refund:
    """One refund of one sale, with the sale, who made it and its lines (with theirs)."""
    return (
        Refund.objects.select_related("sale")
        .prefetch_related(
            "created_by",
            Prefetch("lines", queryset=RefundLine.objects.select_related("line").order_by("id")),
        )
        .get(pk=refund_id, sale_id=sale_id)
    )
