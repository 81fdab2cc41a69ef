"""Thin DRF views of the public stores API: auth tokens, the caller and their stores, and
accepting an invitation."""

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from core.throttling import ScopedRateThrottle
from stores import selectors, services
from stores.serializers import (
    InvitationAcceptedSerializer,
    InvitationAcceptSerializer,
    LogoutSerializer,
    MeSerializer,
    StoreMembershipSerializer,
    TokenObtainPairSerializer,
    TokenPairSerializer,
    TokenRefreshSerializer,
)


class TokenApi(TokenObtainPairView):
    """`{"email", "password"}` -> `{"access", "refresh"}`; 401 on bad credentials."""

    serializer_class = TokenObtainPairSerializer
    error_responses = {401: "Wrong email or password, or an inactive account."}
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "login"

    @extend_schema(
        operation_id="auth_token", summary="Sign in", responses={200: TokenPairSerializer}
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().post(request, *args, **kwargs)


class TokenRefreshApi(TokenRefreshView):
    """A new pair for a refresh token; the old refresh token is blacklisted (rotation)."""

    serializer_class = TokenRefreshSerializer
    error_responses = {401: "The refresh token is invalid, expired or blacklisted."}
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "login"

    @extend_schema(
        operation_id="auth_token_refresh",
        summary="Refresh tokens",
        responses={200: TokenPairSerializer},
    )
    def post(self, request: Request, *args: object, **kwargs: object) -> Response:
        # One transaction: the outstanding token stays locked until its blacklisting commits.
        with transaction.atomic():
            return super().post(request, *args, **kwargs)


class LogoutApi(APIView):
    """Blacklists a refresh token; it no longer works afterwards."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    error_responses = {401: "The refresh token is invalid, expired or blacklisted."}
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "login"

    def get_authenticate_header(self, request: Request) -> str:
        # Keeps a refused token a 401 (DRF makes it 403 without a WWW-Authenticate value).
        return 'Bearer realm="api"'

    @extend_schema(
        operation_id="auth_logout",
        summary="Sign out",
        request=LogoutSerializer,
        responses={204: OpenApiResponse(description="The refresh token is revoked.")},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            RefreshToken(serializer.validated_data["refresh"]).blacklist()
        except TokenError as error:
            raise InvalidToken(error.args[0]) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """The signed-in user and their stores, with their role in each."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(operation_id="me", summary="The signed-in user", responses={200: MeSerializer})
    def get(self, request: Request) -> Response:
        user = request.user
        user.stores = selectors.membership_list_for_user(user=user)
        return Response(MeSerializer(user).data)


class StoreListApi(generics.ListAPIView):
    """The caller's stores (the same items as `/api/me/`'s `stores`), paginated."""

    permission_classes = (IsAuthenticated,)
    serializer_class = StoreMembershipSerializer
    filter_backends = ()

    def get_queryset(self):
        return selectors.membership_list_for_user(user=self.request.user)

    @extend_schema(operation_id="stores_list", summary="The caller's stores")
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)


class InvitationAcceptApi(APIView):
    """Join a store with an invitation's token.

    Signed in: the user whose email was invited joins. Anonymous: a new account is made for the
    invited email with `password`, and its first token pair answered; when that email has an
    account already, its owner signs in first (401).
    """

    permission_classes = (AllowAny,)
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "login"
    error_responses = {
        401: "The invited email has an account: sign in, then accept.",
    }

    @extend_schema(
        operation_id="invitations_accept",
        summary="Accept an invitation",
        request=InvitationAcceptSerializer,
        responses={
            200: InvitationAcceptedSerializer,
            400: OpenApiResponse(
                description="`invitation_invalid`: unknown, used, expired or for another email; "
                "or a weak password."
            ),
            409: OpenApiResponse(description="`already_a_member`"),
        },
        auth=[{"jwtAuth": []}, {}],
    )
    def post(self, request: Request) -> Response:
        serializer = InvitationAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        joined = services.invitation_accept(
            token=data["token"],
            user=request.user if request.user.is_authenticated else None,
            password=data.get("password", ""),
            full_name=data.get("full_name", ""),
        )
        membership = joined.membership
        body = {"store": membership.store, "role": membership.role}
        if joined.is_new_user:
            refresh = RefreshToken.for_user(membership.user)
            body["tokens"] = {"access": str(refresh.access_token), "refresh": str(refresh)}
        return Response(InvitationAcceptedSerializer(body).data)
