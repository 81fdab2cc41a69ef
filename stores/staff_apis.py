"""Thin DRF views of the store-scoped store API: the current store, its staff and invitations."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from stores import services
from stores.models import Invitation, Membership
from stores.permissions import EVERY_ROLE, OWNER_ONLY, store_roles
from stores.serializers import (
    CurrentStoreSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    IssuedInvitationSerializer,
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
        summary="Invite a member",
        description=(
            "An invitation, not a member: the person joins by accepting it "
            "(`POST /api/invitations/accept/`). The answer is the same whether or not the email "
            "has an account, and its `token` is shown only here."
        ),
        request=InvitationCreateSerializer,
        responses={
            201: IssuedInvitationSerializer,
            409: OpenApiResponse(description="`already_a_member`: the email is staff here."),
        },
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
    lookup_value_regex = r"[0-9]+"  # so that `staff/invitations/` is not a member

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no store
            return Membership.objects.none()
        return (
            Membership.objects.filter(store_id=self.request.store.pk)
            .select_related("user")
            .order_by("id")
        )

    def create(self, request: Request) -> Response:
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.invitation_create(
            store=request.store, invited_by=request.user, **serializer.validated_data
        )
        issued.invitation.token = issued.token
        body = IssuedInvitationSerializer(issued.invitation).data
        return Response(body, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        membership = self.get_object()
        serializer = StaffUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.staff_update(membership=membership, **serializer.validated_data)
        return Response(StaffSerializer(membership).data)

    def perform_destroy(self, instance: Membership) -> None:
        services.staff_remove(membership=instance)


@extend_schema_view(
    list=extend_schema(summary="List the store's invitations"),
    destroy=extend_schema(summary="Withdraw an invitation", responses={204: None}),
)
class InvitationViewSet(
    StoreScopedViewMixin,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The store's invitations, newest first; withdrawing one makes its token useless."""

    serializer_class = InvitationSerializer
    permission_classes = (store_roles(read=OWNER_ONLY, write=OWNER_ONLY),)
    ordering_fields = ("id", "created_at", "expires_at")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no store
            return Invitation.objects.none()
        return Invitation.objects.filter(store_id=self.request.store.pk).order_by("-id")

    def perform_destroy(self, instance: Invitation) -> None:
        services.invitation_revoke(invitation=instance)
