"""django-filter filter sets of the sales endpoints."""

from datetime import date, timedelta

import django_filters
from django.db.models import QuerySet

from sales.models import Sale, Shift
from stores.clock import local_midnight


class ShiftFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Shift.Status.choices)
    register = django_filters.NumberFilter(field_name="register_id")

    class Meta:
        model = Shift
        fields = ("status", "register")


class _SaleFilter(django_filters.FilterSet):
    to = django_filters.DateFilter(
        method="filter_to", help_text="Last day (YYYY-MM-DD, the store's time zone), included."
    )
    register = django_filters.NumberFilter(field_name="register_id")
    shift = django_filters.NumberFilter(field_name="shift_id")
    customer = django_filters.NumberFilter(field_name="customer_id")

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
        "from": django_filters.DateFilter(
            method="filter_from",
            help_text="First day (YYYY-MM-DD, the store's time zone), included.",
        ),
        "__module__": __name__,
    },
)
