"""Thin DRF views of the customers API."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.serializers import BaseSerializer

from customers import services
from customers.filters import CustomerFilter
from customers.models import Customer
from customers.serializers import CustomerSerializer
from stores.permissions import EVERY_ROLE, store_roles
from stores.tenancy import StoreScopedViewMixin


@extend_schema_view(
    list=extend_schema(summary="List customers"),
    create=extend_schema(summary="Add a customer"),
    retrieve=extend_schema(summary="Get a customer"),
    update=extend_schema(summary="Replace a customer"),
    partial_update=extend_schema(summary="Change a customer"),
    destroy=extend_schema(
        summary="Delete a customer",
        responses={204: None, 409: OpenApiResponse(description="`customer_has_sales`")},
    ),
)
class CustomerViewSet(StoreScopedViewMixin, viewsets.ModelViewSet):
    """The store's shoppers. `total_spent`, `visits` and `last_purchase_at` follow their sales."""

    queryset = Customer.objects.order_by("id")
    serializer_class = CustomerSerializer
    permission_classes = (store_roles(read=EVERY_ROLE, write=EVERY_ROLE),)
    filterset_class = CustomerFilter
    ordering_fields = ("id", "name", "total_spent", "visits", "last_purchase_at", "created_at")

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.customer_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.customer_update(
            customer=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Customer) -> None:
        services.customer_delete(customer=instance)
