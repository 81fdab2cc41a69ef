"""The signup endpoint: a new store with its schema, its owner and a register, in one call."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

from core.throttling import ScopedRateThrottle
from onboarding import services
from onboarding.serializers import SignupResponseSerializer, SignupSerializer


class SignupApi(APIView):
    """Onboarding: a new store with its schema, its owner and a register, in one call."""

    permission_classes = (AllowAny,)
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "signup"

    @extend_schema(
        operation_id="stores_signup",
        summary="Sign up a store",
        description=(
            "Anonymous: creates the owner's account and the store. With a Bearer token: the "
            "caller becomes the owner of one more store, and `owner` may be left out. The "
            'store\'s schema, with every table, its owner membership and its "Main register" '
            "exist before 201; any failure leaves nothing behind."
        ),
        request=SignupSerializer,
        responses={201: SignupResponseSerializer},
        auth=[{"jwtAuth": []}, {}],
    )
    def post(self, request: Request) -> Response:
        serializer = SignupSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        owner = data.get("owner", {})
        signup = services.store_signup(
            user=request.user if request.user.is_authenticated else None,
            name=data["store_name"],
            currency=data["currency"],
            timezone=data["timezone"],
            prices_include_tax=data["prices_include_tax"],
            owner_email=owner.get("email", ""),
            owner_password=owner.get("password", ""),
            owner_full_name=owner.get("full_name", ""),
        )
        refresh = RefreshToken.for_user(signup.user)
        body = SignupResponseSerializer(
            {
                "store": signup.store,
                "user": signup.user,
                "tokens": {"access": str(refresh.access_token), "refresh": str(refresh)},
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED)
