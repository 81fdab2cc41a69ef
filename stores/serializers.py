"""Input and output shapes of the public API: signup, auth, the caller and their stores."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from stores.models import Membership, Store, User
from stores.validators import validate_currency, validate_time_zone


def _django_validator(validator):
    """Wrap a Django validator so DRF reports its message under the field."""

    def run(value: str) -> None:
        try:
            validator(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error

    return run


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("id", "email", "full_name")
        read_only_fields = fields


class StoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = (
            "id",
            "name",
            "slug",
            "schema_name",
            "tenant_key",
            "currency",
            "timezone",
            "prices_include_tax",
            "created_at",
        )
        read_only_fields = fields


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class SignupOwnerSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    full_name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)

    def validate_email(self, value: str) -> str:
        email = User.objects.normalize_email(value)
        if User.objects.filter(email=email).exists():
            raise serializers.ValidationError(
                "A user with this email already exists: sign in, then sign up the store "
                "with your token."
            )
        return email

    def validate(self, attrs: dict) -> dict:
        candidate = User(email=attrs["email"], full_name=attrs.get("full_name", ""))
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": error.messages}) from error
        return attrs


class SignupSerializer(serializers.Serializer):
    store_name = serializers.CharField(max_length=200)
    currency = serializers.CharField(
        min_length=3, max_length=3, validators=[_django_validator(validate_currency)]
    )
    timezone = serializers.CharField(
        max_length=64, validators=[_django_validator(validate_time_zone)]
    )
    prices_include_tax = serializers.BooleanField(default=True)
    owner = SignupOwnerSerializer(
        required=False,
        help_text="The new owner's account. Required without a Bearer token; with one, the "
        "caller becomes the owner and this is ignored.",
    )

    def to_internal_value(self, data: object) -> dict:
        if isinstance(data, dict) and isinstance(data.get("currency"), str):
            data = {**data, "currency": data["currency"].strip().upper()}
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        if not self.context["request"].user.is_authenticated and "owner" not in attrs:
            raise serializers.ValidationError(
                {"owner": ["Required when signing up without a Bearer token."]}
            )
        return attrs

    def run_validation(self, data: object = serializers.empty) -> dict:
        # An authenticated caller's `owner` is ignored, so it must not fail validation either.
        request = self.context["request"]
        if request.user.is_authenticated and isinstance(data, dict):
            data = {key: value for key, value in data.items() if key != "owner"}
        return super().run_validation(data)


class SignupResponseSerializer(serializers.Serializer):
    store = StoreSerializer()
    user = UserSerializer()
    tokens = TokenPairSerializer()


class StoreMembershipSerializer(serializers.ModelSerializer):
    """One of the caller's stores, with their role in it."""

    id = serializers.IntegerField(source="store.id")
    name = serializers.CharField(source="store.name")
    slug = serializers.CharField(source="store.slug")
    tenant_key = serializers.CharField(source="store.tenant_key")
    role = serializers.ChoiceField(choices=Membership.Role.choices)

    class Meta:
        model = Membership
        fields = ("id", "name", "slug", "tenant_key", "role")
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    stores = StoreMembershipSerializer(many=True)

    class Meta:
        model = User
        fields = ("id", "email", "full_name", "stores")
        read_only_fields = fields


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """simplejwt's rotation, made safe for two refreshes of one token at the same time.

    The token's outstanding row is locked first, so the second request waits for the first to
    commit its blacklisting and is then refused; a deleted user's token is refused with 401.
    """

    def validate(self, attrs: dict) -> dict:
        try:
            jti = RefreshToken(attrs["refresh"], verify=False).get("jti")
        except TokenError:
            jti = None  # the full validation below refuses it properly
        if jti:
            list(OutstandingToken.objects.select_for_update().filter(jti=jti).values("id"))
        try:
            return super().validate(attrs)
        except User.DoesNotExist as error:
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from error


class StaffSerializer(serializers.ModelSerializer):
    """A member of the store's staff."""

    user = UserSerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ("id", "user", "role", "is_active", "created_at")
        read_only_fields = fields


class StaffCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    full_name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    password = serializers.CharField(
        max_length=128,
        write_only=True,
        required=False,
        default="",
        trim_whitespace=False,
        help_text="Needed only when no user has this email yet; an existing user keeps theirs.",
    )


class StaffUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)


# What the owner may change on the active store.
STORE_SETTINGS = ("name", "timezone", "prices_include_tax", "allow_negative_stock")


class CurrentStoreSerializer(serializers.ModelSerializer):
    """The active store. The owner may change its name, time zone and tax and stock settings."""

    timezone = serializers.CharField(
        max_length=64, required=False, validators=[_django_validator(validate_time_zone)]
    )

    class Meta:
        model = Store
        fields = (*StoreSerializer.Meta.fields, "allow_negative_stock", "is_active")
        read_only_fields = tuple(set(fields) - set(STORE_SETTINGS))
