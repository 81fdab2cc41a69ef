"""django-filter filter sets of the sales endpoints."""

from datetime import date, timedelta

import django_filters
from django.db.models import QuerySet

from core.filters import DayFilter, FilterSet, IdFilter
from sales.models import Sale, Shift
from stores.clock import local_midnight


class ShiftFilter(FilterSet):
    status = django_filters.ChoiceFilter(choices=Shift.Status.choices)
    register = IdFilter(field_name="register_id")

    class Meta:
        model = Shift
        fields = ("status", "register")


class _SaleFilter(FilterSet):
    to = DayFilter(
        method="filter_to", help_text="Last day (YYYY-MM-DD, the store's time zone), included."
    )
    register = IdFilter(field_name="register_id")
    shift = IdFilter(field_name="shift_id")
    customer = IdFilter(field_name="customer_id")

    class Meta:
        model = Sale
        fields = ("register", "shift", "customer")

    def filter_from(self, queryset: QuerySet[Sale], name: str, value: date) -> QuerySet[Sale]:
        return queryset.filter(created_at__gte=local_midnight(value))

    def filter_to(self, queryset: QuerySet[Sale], name: str, value: date) -> QuerySet[Sale]:
        return queryset.filter(created_at__lt=local_midnight(value + timedelta(days=1)))


# `from` is a Python keyword, so that filter joins the class by name.
SaleFilter = type(
    "SaleFilter",
    (_SaleFilter,),
    {
        "from": DayFilter(
            method="filter_from",
            help_text="First day (YYYY-MM-DD, the store's time zone), included.",
        ),
        "__module__": __name__,
    },
)
