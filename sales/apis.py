"""Thin DRF views of the sales API (registers now; shifts, checkout and refunds to come)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.serializers import BaseSerializer

from sales import services
from sales.models import Register
from sales.serializers import RegisterSerializer
from stores.permissions import EVERY_ROLE, OWNER_OR_MANAGER, store_roles
from stores.tenancy import StoreScopedViewMixin


@extend_schema_view(
    list=extend_schema(summary="List the store's registers"),
    create=extend_schema(summary="Add a register"),
    retrieve=extend_schema(summary="Get a register"),
    update=extend_schema(summary="Replace a register"),
    partial_update=extend_schema(summary="Change a register"),
    destroy=extend_schema(summary="Delete a register"),
)
class RegisterViewSet(StoreScopedViewMixin, viewsets.ModelViewSet):
    """Registers (tills). Every member reads them, since cashiers open shifts on them."""

    queryset = Register.objects.order_by("id")
    serializer_class = RegisterSerializer
    permission_classes = (store_roles(read=EVERY_ROLE, write=OWNER_OR_MANAGER),)
    filterset_fields = ("is_active",)
    ordering_fields = ("id", "name")

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.register_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.register_update(
            register=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Register) -> None:
        services.register_delete(register=instance)
