"""Thin DRF views of the store-scoped store API: the current store and its staff."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from stores import services
from stores.models import Membership
from stores.permissions import EVERY_ROLE, OWNER_ONLY, store_roles
from stores.serializers import (
    CurrentStoreSerializer,
    StaffCreateSerializer,
    StaffSerializer,
    StaffUpdateSerializer,
)
from stores.tenancy import StoreScopedViewMixin


class CurrentStoreApi(StoreScopedViewMixin, GenericAPIView):
    """The store named by `X-Tenant-Key`."""

    serializer_class = CurrentStoreSerializer
    permission_classes = (store_roles(read=EVERY_ROLE, write=OWNER_ONLY),)

    @extend_schema(operation_id="store_retrieve", summary="The current store")
    def get(self, request: Request) -> Response:
        return Response(self.get_serializer(request.store).data)

    @extend_schema(operation_id="store_partial_update", summary="Change the current store")
    def patch(self, request: Request) -> Response:
        serializer = self.get_serializer(request.store, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        store = services.store_update(store=request.store, **serializer.validated_data)
        request._request.store = store
        return Response(self.get_serializer(store).data)


LAST_OWNER = OpenApiResponse(description="`last_owner`: the store keeps one active owner.")


@extend_schema_view(
    list=extend_schema(summary="List the store's staff"),
    create=extend_schema(
        summary="Add a member",
        request=StaffCreateSerializer,
        responses={201: StaffSerializer, 409: OpenApiResponse(description="`already_a_member`")},
    ),
    retrieve=extend_schema(summary="Get a member"),
    partial_update=extend_schema(
        summary="Change a member's role or suspend them",
        request=StaffUpdateSerializer,
        responses={200: StaffSerializer, 409: LAST_OWNER},
    ),
    destroy=extend_schema(summary="Remove a member", responses={204: None, 409: LAST_OWNER}),
)
class StaffViewSet(
    StoreScopedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The store's staff: users and their role here. A user may be staff of several stores, with
    a different role in each; removing a member ends their access to this store at once."""

    serializer_class = StaffSerializer
    permission_classes = (store_roles(read=OWNER_ONLY, write=OWNER_ONLY),)
    filterset_fields = ("role", "is_active")
    ordering_fields = ("id", "created_at")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no store
            return Membership.objects.none()
        return (
            Membership.objects.filter(store_id=self.request.store.pk)
            .select_related("user")
            .order_by("id")
        )

    def create(self, request: Request) -> Response:
        serializer = StaffCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.staff_add(store=request.store, **serializer.validated_data)
        return Response(StaffSerializer(membership).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        membership = self.get_object()
        serializer = StaffUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.staff_update(membership=membership, **serializer.validated_data)
        return Response(StaffSerializer(membership).data)

    def perform_destroy(self, instance: Membership) -> None:
        services.staff_remove(membership=instance)
