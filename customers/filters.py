"""django-filter filter sets of the customers endpoints."""

import django_filters
from django.db.models import Q, QuerySet

from core.filters import FilterSet
from customers.models import Customer


class CustomerFilter(FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", help_text="Part of the name, phone or email, any case."
    )

    class Meta:
        model = Customer
        fields = ("search",)

    def filter_search(
        self, queryset: QuerySet[Customer], name: str, value: str
    ) -> QuerySet[Customer]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(phone__icontains=value) | Q(email__icontains=value)
        )
