"""The analytics summary, read only from the precomputed tables."""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum

from analytics.models import DailyPayment, DailyProductSales, DailySales, HourlySales
from catalog.models import Product
from core.money import ZERO, quantize_money
from sales.models import PaymentMethod
from stores.models import Store

TOP_PRODUCTS = 10


def analytics_summary(*, store: Store, first: date, last: date) -> dict:
    """The figures of local days `first`..`last`, every day and hour listed (zeros included)."""
    in_range = {"date__gte": first, "date__lte": last}
    days = {row.date: row for row in DailySales.objects.filter(**in_range)}
    sales_count = sum(row.sales_count for row in days.values())
    revenue = sum((row.revenue for row in days.values()), ZERO)
    refunds = sum((row.refunds for row in days.values()), ZERO)
    items_sold = sum((row.items_sold for row in days.values()), Decimal("0.000"))
    taken = dict(
        DailyPayment.objects.filter(**in_range)
        .values_list("method")
        .annotate(amount=Sum("amount"))
        .values_list("method", "amount")
    )
    hours = {
        hour: (count, amount)
        for hour, count, amount in HourlySales.objects.filter(**in_range)
        .values_list("hour")
        .annotate(count=Sum("sales_count"), amount=Sum("revenue"))
        .values_list("hour", "count", "amount")
    }
    top = list(
        DailyProductSales.objects.filter(**in_range)
        .values("product_id")
        .annotate(quantity=Sum("quantity"), revenue=Sum("revenue"))
        .order_by("-revenue", "-quantity", "product_id")[:TOP_PRODUCTS]
    )
    # Products that were ever sold are never deleted, only deactivated: their names are here.
    names = dict(
        Product.objects.filter(pk__in=[item["product_id"] for item in top]).values_list(
            "pk", "name"
        )
    )
    generated = [row.generated_at for row in days.values()]
    return {
        "from": first,
        "to": last,
        "currency": store.currency,
        "sales_count": sales_count,
        "revenue": revenue,
        "refunds": refunds,
        "net_revenue": revenue - refunds,
        "average_ticket": (
            quantize_money(revenue / sales_count, store.currency) if sales_count else ZERO
        ),
        "items_sold": items_sold,
        "by_day": [
            {
                "date": day,
                "sales_count": days[day].sales_count if day in days else 0,
                "revenue": days[day].revenue if day in days else ZERO,
                "refunds": days[day].refunds if day in days else ZERO,
            }
            for day in (first + timedelta(days=offset) for offset in range((last - first).days + 1))
        ],
        "by_payment_method": [
            {"method": method, "amount": taken.get(method, ZERO)} for method in PaymentMethod.values
        ],
        "top_products": [
            {
                "product": item["product_id"],
                "name": names.get(item["product_id"], ""),
                "quantity": item["quantity"],
                "revenue": item["revenue"],
            }
            for item in top
        ],
        "by_hour": [
            {
                "hour": hour,
                "sales_count": hours.get(hour, (0, ZERO))[0],
                "revenue": hours.get(hour, (0, ZERO))[1],
            }
            for hour in range(24)
        ],
        "generated_at": max(generated) if generated else None,
    }
