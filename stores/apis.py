"""Thin DRF views of the public stores API: auth tokens, the caller and their stores."""

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
from stores import selectors
from stores.serializers import (
    LogoutSerializer,
    MeSerializer,
    StoreMembershipSerializer,
    TokenPairSerializer,
    TokenRefreshSerializer,
)


class TokenApi(TokenObtainPairView):
    """`{"email", "password"}` -> `{"access", "refresh"}`; 401 on bad credentials."""

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
