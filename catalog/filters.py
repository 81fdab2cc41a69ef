"""django-filter filter sets of the catalog endpoints."""

import django_filters
from django.db.models import Q, QuerySet

from catalog.models import Product, StockMovement
from core.filters import FilterSet, IdFilter


class ProductFilter(FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", help_text="Part of the name, sku or barcode, any case."
    )
    barcode = django_filters.CharFilter(field_name="barcode")
    sku = django_filters.CharFilter(field_name="sku")
    category = IdFilter(field_name="category_id")
    is_active = django_filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = Product
        fields = ("search", "barcode", "sku", "category", "is_active")

    def filter_search(
        self, queryset: QuerySet[Product], name: str, value: str
    ) -> QuerySet[Product]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(sku__icontains=value) | Q(barcode__icontains=value)
        )


class StockMovementFilter(FilterSet):
    product = IdFilter(field_name="product_id")
    reason = django_filters.ChoiceFilter(choices=StockMovement.Reason.choices)

    class Meta:
        model = StockMovement
        fields = ("product", "reason")
