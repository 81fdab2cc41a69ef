"""Thin DRF views of the customers API."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from customers import services
from customers.filters import CustomerFilter
from customers.models import Customer
from customers.serializers import CustomerSerializer
from sales.selectors import sale_list
from sales.serializers import SaleSerializer
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

    @extend_schema(summary="A customer's sales", responses={200: SaleSerializer(many=True)})
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=("id",))
    def sales(self, request: Request, pk: str | None = None) -> Response:
        """The customer's sales, newest first."""
        customer = self.get_object()
        page = self.paginate_queryset(sale_list(customer_id=customer.pk))
        return self.get_paginated_response(SaleSerializer(page, many=True).data)
